// Internal to the domain-wall rules (device_rules.h): DeviceRule, the
// devices of every layer and the bookkeeping dw-shadow (dw_shadow_rule.cc)
// and dw-stochastic (device_rules.cc) share. Not for use outside those
// files.
//
// Thread-safety: as rules.h (one learner thread calls everything).
#ifndef DWAE_CORE_DEVICE_RULE_H_
#define DWAE_CORE_DEVICE_RULE_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "core/device.h"
#include "core/device_rules.h"
#include "core/learn_kernels.h"
#include "core/network.h"
#include "core/rng.h"
#include "core/rule_state.h"
#include "core/rules.h"
#include "dwae/v1/checkpoint.pb.h"

namespace dwae::rule_internal {

// The devices of all layers, and the bookkeeping both dw rules share.
class DeviceRule : public LearningRule {
 public:
  DeviceRule(const RuleConfig& config, uint64_t seed, Network* net)
      : LearningRule(config.EffectiveLearningRate()),
        config_(config),
        write_rng_(HashPair(seed, kWriteStream)) {
    const uint64_t fab = HashPair(seed, kFabricationStream);
    for (int l = 0; l < net->num_layers(); ++l) {
      const DenseLayer& layer = net->layer(l);
      const float alpha =
          config.weight_alpha_gain / std::sqrt(float(layer.in()));
      weights_.emplace_back(layer.out() * layer.in(), alpha, config.device,
                            HashPair(fab, 2 * l));
      biases_.emplace_back(layer.out(), config.bias_alpha, config.device,
                           HashPair(fab, 2 * l + 1));
    }
    InitializeDevices(seed, net);
  }

  void SaveState(const Network& net, uint64_t steps,
                 v1::RuleState* state) const override {
    SaveCommon(kind(), learning_rate_, steps, net, state);
    for (uint64_t word : write_rng_.state()) state->add_write_rng(word);
    for (int l = 0; l < net.num_layers(); ++l) {
      v1::LayerState* out = state->mutable_layers(l);
      SaveDevices(weights_[l], out->mutable_weight_notches(),
                  out->mutable_weight_devices());
      SaveDevices(biases_[l], out->mutable_bias_notches(),
                  out->mutable_bias_devices());
      SaveExtra(l, out);
    }
  }

  absl::Status LoadState(const v1::RuleState& state, Network* net) override {
    if (absl::Status s = CheckCommon(state, kind(), *net); !s.ok()) return s;
    if (state.write_rng_size() != 4) {
      return absl::InvalidArgumentError("rule: write_rng must hold 4 words");
    }
    for (int l = 0; l < net->num_layers(); ++l) {
      const v1::LayerState& in = state.layers(l);
      absl::Status s =
          CheckDevices(in.weight_notches(), weights_[l], l, "weight_notches");
      if (s.ok()) {
        s = CheckDevices(in.bias_notches(), biases_[l], l, "bias_notches");
      }
      if (s.ok()) s = CheckExtra(l, in);
      if (!s.ok()) return s;
    }
    for (int l = 0; l < net->num_layers(); ++l) {
      const v1::LayerState& in = state.layers(l);
      LoadDevices(in.weight_notches(), in.weight_devices(), &weights_[l]);
      LoadDevices(in.bias_notches(), in.bias_devices(), &biases_[l]);
      LoadExtra(l, in);
      SyncLayer(l, net);
    }
    write_rng_.set_state({state.write_rng(0), state.write_rng(1),
                          state.write_rng(2), state.write_rng(3)});
    learning_rate_ = state.learning_rate();
    return absl::OkStatus();
  }

  std::vector<LayerDeviceCounters> device_counters() const override {
    std::vector<LayerDeviceCounters> out(weights_.size());
    for (size_t l = 0; l < weights_.size(); ++l) {
      out[l] = {weights_[l].counters(), biases_[l].counters()};
    }
    return out;
  }
  uint64_t weight_updates() const override {
    uint64_t pulses = 0;
    for (const auto& c : device_counters()) pulses += c.total().pulses;
    return pulses;
  }
  int64_t model_bytes() const override {
    int64_t bytes = 0;  // one notch byte per device plus alphas
    for (size_t l = 0; l < weights_.size(); ++l) {
      bytes += weights_[l].size() + biases_[l].size() + 2 * sizeof(float);
    }
    return bytes;
  }
  float weight_alpha(int layer) const override {
    return weights_[layer].alpha();
  }

 private:
  // Places every device at a stochastic rounding of uniform(+-1/sqrt(fan_in))
  // for weights, at the center for biases; copies the read-out into `net`.
  void InitializeDevices(uint64_t seed, Network* net) {
    Rng rng(HashPair(seed, kInitStream));
    const int last = config_.device.num_levels - 1;
    for (int l = 0; l < net->num_layers(); ++l) {
      SynapseArray& w = weights_[l];
      const float bound = InitBound(net->layer(l).in());
      for (int i = 0; i < w.size(); ++i) {
        const double level = bound * (2 * rng.Uniform() - 1) / w.alpha() +
                             config_.device.center();
        const double floor = std::floor(level);
        const int notch = int(floor) + (rng.Uniform() < level - floor ? 1 : 0);
        w.SetNotch(i, std::clamp(notch, 0, last));
      }
      SyncLayer(l, net);
    }
  }

  void SyncLayer(int l, Network* net) const {
    DenseLayer& layer = net->layer(l);
    layer.weight.Assign(weights_[l].values());  // packed -> padded
    std::copy_n(biases_[l].values(), biases_[l].size(), layer.bias.data());
  }

 protected:
  // Rule-specific per-layer state (dw-shadow's shadow weights).
  virtual void SaveExtra(int /*layer*/, v1::LayerState* /*out*/) const {}
  virtual absl::Status CheckExtra(int /*layer*/,
                                  const v1::LayerState& /*in*/) const {
    return absl::OkStatus();
  }
  virtual void LoadExtra(int /*layer*/, const v1::LayerState& /*in*/) {}

  // Writes the indices of layer l's non-zero inputs, in increasing order,
  // to *out (grown to hold them all and one more; never shrunk, so that
  // steady state neither allocates nor clears) and returns their count.
  // Layer 0's come from the forward pass.
  static int ActiveInputs(const Workspace& ws, int l, std::vector<int>* out) {
    const Eigen::VectorXf& a = ws.activations[l];
    if (out->size() < size_t(a.size()) + 1) out->resize(a.size() + 1);
    if (l == 0) {
      const int n = ws.num_active_inputs;
      std::copy_n(ws.active_inputs.data(), n, out->data());
      return n;
    }
    return learn_kernels::NonZeroIndices(a.data(), int(a.size()), out->data());
  }

  // Pulses device i of `array` toward `direction` unless the wall already
  // sits at that end; mirrors the new level into *mirror (the device's
  // element of the layer's weights or biases: weight.column(j)[r] for device
  // j * rows + r, since the weights are padded and the devices packed).
  void PulseToward(SynapseArray& array, int i, int direction, float* mirror) {
    const int notch = array.notch(i);
    if (direction > 0 ? notch == config_.device.num_levels - 1 : notch == 0) {
      return;
    }
    if (array.Pulse(i, direction, write_rng_) != 0) *mirror = array.value(i);
  }

  RuleConfig config_;
  Rng write_rng_;
  std::vector<SynapseArray> weights_;
  std::vector<SynapseArray> biases_;
};

}  // namespace dwae::rule_internal

#endif  // DWAE_CORE_DEVICE_RULE_H_
