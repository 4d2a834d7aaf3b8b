// Helpers that move learning state between core types and the checkpoint
// messages of proto/dwae/v1/checkpoint.proto. Check* functions validate a
// message against the expected shape and name what is wrong, so that a
// restore either succeeds completely or changes nothing.
//
// Thread-safety: pure functions over their arguments.
#ifndef DWAE_CORE_RULE_STATE_H_
#define DWAE_CORE_RULE_STATE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/device.h"
#include "dwae/v1/checkpoint.pb.h"
#include "google/protobuf/repeated_field.h"

namespace dwae {

void SaveFloats(const float* data, int n,
                google::protobuf::RepeatedField<float>* out);
// Copies `field` to `out`, which must have room for field.size() floats.
void LoadFloats(const google::protobuf::RepeatedField<float>& field,
                float* out);
// OK when `field` holds exactly `n` finite values.
absl::Status CheckFloats(const google::protobuf::RepeatedField<float>& field,
                         int n, int layer, absl::string_view name);

void SaveDevices(const SynapseArray& array, std::string* notches,
                 v1::DeviceCounterState* counters);
// OK when `notches` holds `array.size()` bytes, each a valid notch.
absl::Status CheckDevices(const std::string& notches, const SynapseArray& array,
                          int layer, absl::string_view name);
void LoadDevices(const std::string& notches,
                 const v1::DeviceCounterState& counters, SynapseArray* array);

void SaveCounters(const DeviceCounters& counters, v1::DeviceCounterState* out);
DeviceCounters LoadCounters(const v1::DeviceCounterState& state);

}  // namespace dwae

#endif  // DWAE_CORE_RULE_STATE_H_
