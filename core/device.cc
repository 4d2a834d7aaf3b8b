#include "core/device.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace dwae {
namespace {

absl::Status ProbabilityError(const char* field, double value) {
  return absl::InvalidArgumentError(absl::StrFormat(
      "device.%s: %g is not a probability in [0, 1]", field, value));
}

// A standard normal that is a fixed function of (seed, index, level).
double FabricationNormal(uint64_t seed, int index, int level) {
  const uint64_t h = HashPair(
      seed, (static_cast<uint64_t>(index) << 8) | static_cast<uint64_t>(level));
  const double u1 = ((h >> 11) + 1) * 0x1.0p-53;
  const double u2 = (HashPair(h, 0x5eed) >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace

absl::Status DeviceParams::Validate() const {
  if (num_levels < 2 || num_levels > 127) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "device.num_levels: %d is outside [2, 127]", num_levels));
  }
  if (!(p_fail >= 0 && p_fail <= 1)) return ProbabilityError("p_fail", p_fail);
  if (!(p_over >= 0 && p_over <= 1)) return ProbabilityError("p_over", p_over);
  if (p_fail + p_over > 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "device.p_over: p_fail + p_over = %g exceeds 1", p_fail + p_over));
  }
  if (!(level_sigma >= 0 && std::isfinite(level_sigma))) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "device.level_sigma: %g must be finite and >= 0", level_sigma));
  }
  if (!(energy_per_pulse_joules >= 0 &&
        std::isfinite(energy_per_pulse_joules))) {
    return absl::InvalidArgumentError(
        absl::StrFormat("device.energy_per_pulse_joules: %g must be finite "
                        "and >= 0",
                        energy_per_pulse_joules));
  }
  return absl::OkStatus();
}

PulseResult ReferencePulse(int notch, int direction, double u,
                           const DeviceParams& params) {
  const int last = params.num_levels - 1;
  const int target_end = direction > 0 ? last : 0;
  if (notch == target_end) return {notch, PulseOutcome::kBlocked};
  if (u < params.p_fail) return {notch, PulseOutcome::kFailed};
  const bool over = u < params.p_fail + params.p_over;
  const int moved = std::clamp(notch + direction * (over ? 2 : 1), 0, last);
  const bool two_notches = std::abs(moved - notch) == 2;
  return {moved, two_notches ? PulseOutcome::kOvershot : PulseOutcome::kMoved};
}

DeviceCounters& DeviceCounters::operator+=(const DeviceCounters& other) {
  pulses += other.pulses;
  level_changes += other.level_changes;
  failures += other.failures;
  overshoots += other.overshoots;
  blocked += other.blocked;
  return *this;
}

SynapseArray::SynapseArray(int size, float alpha, const DeviceParams& params,
                           uint64_t device_seed)
    : params_(params),
      alpha_(alpha),
      device_seed_(device_seed),
      notch_(size, static_cast<int8_t>((params.num_levels - 1) / 2)),
      value_(size) {
  for (int i = 0; i < size; ++i) value_[i] = LevelValue(i, notch_[i]);
}

float SynapseArray::LevelValue(int i, int notch) const {
  double level = (notch - params_.center()) * alpha_;
  if (params_.level_sigma > 0) {
    level += params_.level_sigma * alpha_ *
             FabricationNormal(device_seed_, i, notch);
  }
  return static_cast<float>(level);
}

void SynapseArray::SetNotch(int i, int notch) {
  notch_[i] = static_cast<int8_t>(notch);
  value_[i] = LevelValue(i, notch);
}

int SynapseArray::ApplyPulse(int i, int direction, double u) {
  const int before = notch_[i];
  const PulseResult result = ReferencePulse(before, direction, u, params_);
  ++counters_.pulses;
  switch (result.outcome) {
    case PulseOutcome::kFailed:
      ++counters_.failures;
      break;
    case PulseOutcome::kOvershot:
      ++counters_.overshoots;
      break;
    case PulseOutcome::kBlocked:
      ++counters_.blocked;
      break;
    case PulseOutcome::kMoved:
      break;
  }
  if (result.notch != before) {
    ++counters_.level_changes;
    SetNotch(i, result.notch);
  }
  return result.notch - before;
}

}  // namespace dwae
