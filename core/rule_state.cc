#include "core/rule_state.h"

#include <cmath>

#include "absl/strings/str_format.h"

namespace dwae {

void SaveFloats(const float* data, int n,
                google::protobuf::RepeatedField<float>* out) {
  out->Clear();
  out->Add(data, data + n);
}

void LoadFloats(const google::protobuf::RepeatedField<float>& field,
                float* out) {
  for (int i = 0; i < field.size(); ++i) out[i] = field.Get(i);
}

absl::Status CheckFloats(const google::protobuf::RepeatedField<float>& field,
                         int n, int layer, absl::string_view name) {
  if (field.size() != n) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "layer %d %s: %d values, expected %d", layer, name, field.size(), n));
  }
  for (int i = 0; i < n; ++i) {
    if (!std::isfinite(field.Get(i))) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "layer %d %s: value %d is not finite", layer, name, i));
    }
  }
  return absl::OkStatus();
}

void SaveCounters(const DeviceCounters& c, v1::DeviceCounterState* out) {
  out->set_pulses(c.pulses);
  out->set_level_changes(c.level_changes);
  out->set_failures(c.failures);
  out->set_overshoots(c.overshoots);
  out->set_blocked(c.blocked);
}

DeviceCounters LoadCounters(const v1::DeviceCounterState& s) {
  DeviceCounters c;
  c.pulses = s.pulses();
  c.level_changes = s.level_changes();
  c.failures = s.failures();
  c.overshoots = s.overshoots();
  c.blocked = s.blocked();
  return c;
}

void SaveDevices(const SynapseArray& array, std::string* notches,
                 v1::DeviceCounterState* counters) {
  notches->assign(reinterpret_cast<const char*>(array.notches().data()),
                  array.notches().size());
  SaveCounters(array.counters(), counters);
}

absl::Status CheckDevices(const std::string& notches, const SynapseArray& array,
                          int layer, absl::string_view name) {
  if (static_cast<int>(notches.size()) != array.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("layer %d %s: %d devices, expected %d", layer, name,
                        notches.size(), array.size()));
  }
  const int levels = array.params().num_levels;
  for (size_t i = 0; i < notches.size(); ++i) {
    const int notch = static_cast<signed char>(notches[i]);
    if (notch < 0 || notch >= levels) {
      return absl::InvalidArgumentError(
          absl::StrFormat("layer %d %s: device %d at notch %d, outside [0, %d)",
                          layer, name, i, notch, levels));
    }
  }
  return absl::OkStatus();
}

void LoadDevices(const std::string& notches,
                 const v1::DeviceCounterState& counters, SynapseArray* array) {
  for (size_t i = 0; i < notches.size(); ++i) {
    array->SetNotch(static_cast<int>(i), static_cast<signed char>(notches[i]));
  }
  array->set_counters(LoadCounters(counters));
}

}  // namespace dwae
