// The domain-wall (DW) synapse device and arrays of them.
//
// A device is a ferromagnetic racetrack with `num_levels` notches; a domain
// wall sits at one notch (the "notch index", 0 .. num_levels-1), and the
// magnetic tunnel junction read-out turns the index into a weight level
// (index - center) * alpha, e.g. {-2,-1,0,1,2} * alpha for 5 notches.
// It is written only by spin-orbit-torque (SOT) current pulses of either
// polarity. At room temperature a pulse sized for one notch
//   - fails to depin the wall with probability p_fail (no move),
//   - carries it one notch too far with probability p_over (two notches),
//   - otherwise moves it one notch (p_move = 1 - p_fail - p_over),
// always clamped at the ends of the track. A pulse toward an end the wall
// already sits at cannot move it ("blocked"); it still costs energy.
//
// Device-to-device spread: with level_sigma > 0 each device's level values
// are jittered once, at fabrication, by level_sigma * alpha * N(0, 1). The
// jitter is a fixed function of (device seed, device index, level), so it
// needs no storage and survives checkpoints.
//
// Energy: energy_per_pulse_joules defaults to 2 fJ. The seed paper's abstract
// (arXiv 2309.06449) publishes no micromagnetic per-pulse numbers; 2 fJ is a
// Joule-heating estimate E = I^2 R t for a 1 ns pulse at 2e11 A/m^2 through a
// 500 x 100 x 5 nm Pt heavy-metal strip (I = 100 uA, R = 200 ohm), in line
// with the "few fJ per write" the same group reports for DW devices
// (arXiv 2010.10076). See docs/device.md.
//
// Thread-safety: DeviceParams and ReferencePulse are values/pure. A
// SynapseArray is not synchronized: one writer, or many readers of a const
// array.
#ifndef DWAE_CORE_DEVICE_H_
#define DWAE_CORE_DEVICE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "core/rng.h"

namespace dwae {

struct DeviceParams {
  int num_levels = 5;        // notches on the track, >= 2
  double p_fail = 0.10;      // pulse fails to depin the wall
  double p_over = 0.05;      // pulse overshoots one extra notch
  double level_sigma = 0.0;  // device-to-device spread, in units of alpha
  double energy_per_pulse_joules = 2e-15;

  double p_move() const { return 1.0 - p_fail - p_over; }
  // Index of the zero level (fractional for an even number of levels).
  double center() const { return 0.5 * (num_levels - 1); }
  // Errors name the field: num_levels in [2, 127], probabilities in [0, 1]
  // with p_fail + p_over <= 1, level_sigma >= 0, energy >= 0, all finite.
  absl::Status Validate() const;
};

enum class PulseOutcome : uint8_t {
  kMoved,     // moved one notch
  kFailed,    // did not depin
  kOvershot,  // moved two notches
  kBlocked,   // already at the end the pulse pushes toward
};

struct PulseResult {
  int notch;
  PulseOutcome outcome;
};

// The scalar reference model, the oracle for every fast path: applies one
// pulse in `direction` (+1 or -1) to a wall at `notch`, with `u` uniform in
// [0, 1) deciding the outcome: u < p_fail fails, u < p_fail + p_over
// overshoots (clamped to one notch at the end of the track), else moves.
PulseResult ReferencePulse(int notch, int direction, double u,
                           const DeviceParams& params);

// Write activity, summed over a set of devices.
struct DeviceCounters {
  uint64_t pulses = 0;         // SOT pulses sent (each costs energy)
  uint64_t level_changes = 0;  // pulses after which the notch differed
  uint64_t failures = 0;       // pulses that did not depin the wall
  uint64_t overshoots = 0;     // pulses that moved the wall two notches
  uint64_t blocked = 0;        // pulses against the end of the track

  double energy_joules(const DeviceParams& params) const {
    return static_cast<double>(pulses) * params.energy_per_pulse_joules;
  }
  DeviceCounters& operator+=(const DeviceCounters& other);
};

// A dense array of devices, e.g. one layer's weight matrix (column-major) or
// bias vector. Keeps a float read-out of every device's current level value,
// updated on each write, so that the forward pass reads exactly what the
// devices hold.
class SynapseArray {
 public:
  // `size` devices at the center notch (rounded down), level spacing
  // `alpha` > 0. `device_seed` identifies the devices' fabrication spread.
  SynapseArray(int size, float alpha, const DeviceParams& params,
               uint64_t device_seed);

  int size() const { return static_cast<int>(notch_.size()); }
  float alpha() const { return alpha_; }
  const DeviceParams& params() const { return params_; }
  uint64_t device_seed() const { return device_seed_; }

  int notch(int i) const { return notch_[i]; }
  const std::vector<int8_t>& notches() const { return notch_; }
  // Level value of device i at its current notch.
  float value(int i) const { return value_[i]; }
  // The read-out of all devices, size() floats.
  const float* values() const { return value_.data(); }

  // Value device i reads at `notch` (nominal level plus its fixed spread).
  float LevelValue(int i, int notch) const;

  // Places device i at `notch` without pulses or counters: fabrication-time
  // initialization and checkpoint restore. `notch` must be in range.
  void SetNotch(int i, int notch);

  // Sends one pulse toward `direction` (+1/-1) to device i, drawing the
  // outcome from `rng`. Returns the change of notch (-2 .. 2).
  int Pulse(int i, int direction, Rng& rng) {
    return ApplyPulse(i, direction, rng.Uniform());
  }
  // Same with an explicit uniform draw `u` in [0, 1).
  int ApplyPulse(int i, int direction, double u);

  const DeviceCounters& counters() const { return counters_; }
  void set_counters(const DeviceCounters& counters) { counters_ = counters; }

 private:
  DeviceParams params_;
  float alpha_;
  uint64_t device_seed_;
  std::vector<int8_t> notch_;
  std::vector<float> value_;
  DeviceCounters counters_;
};

}  // namespace dwae

#endif  // DWAE_CORE_DEVICE_H_
