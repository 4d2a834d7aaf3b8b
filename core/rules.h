// Learning rules: how one online step turns back-propagated error signals
// into weight changes. Three rules share one engine (network.h):
//
//   float          float32 weights, Adam. The paper's baseline. Every trained
//                  parameter is updated at every step, so its weight updates
//                  are parameters x steps.
//   dw-shadow      Quantized training with float shadow weights (Hubara et al.
//                  2018) on domain-wall devices: shadow weights take SGD steps
//                  on the gradient computed with the device weights
//                  (straight-through); when a shadow weight's nearest level
//                  differs from the device's level by more than half a level
//                  plus `shadow_margin`, one pulse is sent toward it. The
//                  forward pass always reads what the devices hold after
//                  their stochastic writes.
//   dw-stochastic  No float copy at all: each step each synapse receives one
//                  pulse toward the negative gradient with probability
//                  min(1, lr * |g| / alpha) (stochastic rounding, Gupta et al.
//                  2015, with the device's own stochasticity on top). The
//                  learning state is the notch index: one byte per synapse.
//
// Both domain-wall rules keep every parameter, biases included, in devices:
// layer l's weights have level spacing alpha_l = weight_alpha_gain /
// sqrt(fan_in), its biases `bias_alpha`. A controller never pulses a wall
// toward the end of the track it already sits at (it reads the state first).
//
// Thread-safety: a rule is driven by one thread (the learner) together with
// the Network it was created for.
#ifndef DWAE_CORE_RULES_H_
#define DWAE_CORE_RULES_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/device.h"
#include "core/network.h"

namespace dwae {
namespace v1 {
class RuleState;
}  // namespace v1

enum class RuleKind { kFloat, kDwShadow, kDwStochastic };

// "float", "dw-shadow", "dw-stochastic".
absl::StatusOr<RuleKind> ParseRuleKind(absl::string_view name);
const char* RuleName(RuleKind kind);

struct RuleConfig {
  RuleKind kind = RuleKind::kDwStochastic;
  // Step size; < 0 means the rule's default (DefaultLearningRate).
  float learning_rate = -1.0f;
  // Adam moments (float rule only).
  float adam_beta1 = 0.9f;
  float adam_beta2 = 0.999f;
  float adam_epsilon = 1e-8f;
  // Device level spacing: weights alpha_l = weight_alpha_gain / sqrt(fan_in)
  // of layer l; biases bias_alpha.
  float weight_alpha_gain = 4.0f;
  float bias_alpha = 1.0f;
  // dw-shadow hysteresis, in units of alpha (0: pulse as soon as the nearest
  // level differs). 0.2 cut pulses ~100x at equal validation AUC.
  float shadow_margin = 0.2f;
  DeviceParams device;

  float EffectiveLearningRate() const;
  absl::Status Validate() const;
};

float DefaultLearningRate(RuleKind kind);

// Device activity of one layer.
struct LayerDeviceCounters {
  DeviceCounters weights;
  DeviceCounters biases;
  DeviceCounters total() const {
    DeviceCounters t = weights;
    t += biases;
    return t;
  }
};

class LearningRule {
 public:
  virtual ~LearningRule() = default;

  virtual RuleKind kind() const = 0;
  // One online step from the error signals in `ws` (after Forward and
  // Backward on `net`). Updates `net`'s weights (or their device read-out).
  virtual void Step(const Workspace& ws, Network* net) = 0;
  // Per layer; all zero for the float rule.
  virtual std::vector<LayerDeviceCounters> device_counters() const = 0;
  // Weight updates so far: parameters x steps for float, pulses for dw.
  virtual uint64_t weight_updates() const = 0;
  // Bytes of learning state a checkpoint must keep to continue training
  // (weights or notches, shadow weights, optimizer moments).
  virtual int64_t state_bytes() const = 0;
  // Bytes an inference-only copy of the weights needs.
  virtual int64_t model_bytes() const = 0;
  // Level spacing of layer l's weights (0 for float).
  virtual float weight_alpha(int layer) const = 0;

  // Writes everything needed to continue training bit for bit: `net`'s
  // parameters or the devices' notches and counters, shadow weights,
  // optimizer moments, the write random stream, `steps`.
  virtual void SaveState(const Network& net, uint64_t steps,
                         v1::RuleState* state) const = 0;
  // Restores what SaveState wrote for the same rule and network shape into
  // this rule and `net`. Checks everything first: on error nothing changed.
  virtual absl::Status LoadState(const v1::RuleState& state, Network* net) = 0;

  // The step size in force; a schedule may change it between steps.
  float learning_rate() const { return learning_rate_; }
  void set_learning_rate(float learning_rate) {
    learning_rate_ = learning_rate;
  }

 protected:
  explicit LearningRule(float learning_rate) : learning_rate_(learning_rate) {}
  float learning_rate_;
};

// Creates the rule for `net` and initializes `net`'s weights from `seed`
// (PyTorch's default uniform(+-1/sqrt(fan_in)) for float; the same draw
// stochastically rounded to device levels for dw rules).
absl::StatusOr<std::unique_ptr<LearningRule>> CreateRule(
    const RuleConfig& config, uint64_t seed, Network* net);

}  // namespace dwae

#endif  // DWAE_CORE_RULES_H_
