// The two domain-wall learning rules (rules.h): the devices of every layer,
// dw-shadow's shadow weights, dw-stochastic's sampled pulses.
#include "core/device_rules.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "core/device.h"
#include "core/learn_kernels.h"
#include "core/pulse_sampler.h"
#include "core/rng.h"
#include "core/rule_state.h"
#include "core/shadow_kernels.h"
#include "dwae/v1/checkpoint.pb.h"

namespace dwae::rule_internal {
namespace {

// ------------------------------------------------- domain-wall devices ---

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
    std::copy_n(weights_[l].values(), weights_[l].size(), layer.weight.data());
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
  // sits at that end; mirrors the new level into `mirror[i]`.
  void PulseToward(SynapseArray& array, int i, int direction, float* mirror) {
    const int notch = array.notch(i);
    if (direction > 0 ? notch == config_.device.num_levels - 1 : notch == 0) {
      return;
    }
    if (array.Pulse(i, direction, write_rng_) != 0) mirror[i] = array.value(i);
  }

  RuleConfig config_;
  Rng write_rng_;
  std::vector<SynapseArray> weights_;
  std::vector<SynapseArray> biases_;
};

// ----------------------------------------------------------- dw-shadow ---

class DwShadowRule final : public DeviceRule {
 public:
  DwShadowRule(const RuleConfig& config, uint64_t seed, Network* net)
      : DeviceRule(config, seed, net) {
    for (int l = 0; l < net->num_layers(); ++l) {
      const DenseLayer& layer = net->layer(l);
      shadow_w_.emplace_back(layer.out(), layer.in());
      shadow_w_.back().Assign(layer.weight.data());
      shadow_b_.emplace_back(layer.out(), 1);
      shadow_b_.back().Assign(layer.bias.data());
      // Every column is checked once, at the first step.
      pending_.push_back(AllColumns(net->layer(l).in()));
      slack_w_.emplace_back(layer.in(), learn_kernels::kShadowUnchecked);
      slack_b_.push_back(learn_kernels::kShadowUnchecked);
    }
  }

  RuleKind kind() const override { return RuleKind::kDwShadow; }

  // Column j of layer l's shadow weights moves only when its input a_j is
  // non-zero; a column that did not move and held no device waiting for a
  // pulse (pending_) cannot trigger one, so it is skipped. The visited
  // columns take their shadow steps in one kernel call per layer, then the
  // columns with a pulse due write their devices in index order (a column's
  // writes touch no other column), so the write stream is consumed exactly
  // as by a pass over every device. Each column's slack (shadow_kernels.h)
  // skips its trigger test while no device can have reached its trigger.
  void Step(const Workspace& ws, Network* net) override {
    for (int l = 0; l < net->num_layers(); ++l) {
      DenseLayer& layer = net->layer(l);
      const float* delta = ws.deltas[l].data();
      const Eigen::VectorXf& a = ws.activations[l];
      const int rows = layer.out();
      const int inputs = layer.in();
      std::vector<uint64_t>& pending = pending_[l];
      const int n = ActiveInputs(ws, l, &active_);
      if (columns_.size() < size_t(inputs)) {
        columns_.resize(inputs);
        steps_.resize(inputs);
        due_.resize(inputs);
      }
      const int count =
          VisitedColumns(active_.data(), n, pending, inputs, columns_.data());
      for (int c = 0; c < count; ++c) {
        steps_[c] = learning_rate_ * a[columns_[c]];
      }
      SynapseArray& devices = weights_[l];
      const learn_kernels::ShadowParams p = Params(devices);
      const float delta_bound = learn_kernels::ShadowDeltaBound(delta, rows);
      const int dues = learn_kernels::ShadowStepColumns(
          p, columns_.data(), steps_.data(), count, delta, delta_bound,
          devices.notches().data(), &shadow_w_[l], slack_w_[l].data(),
          due_.data());
      // Every visited column leaves pending_ unless a write failed in it.
      std::fill(pending.begin(), pending.end(), 0);
      for (int c = 0; dues > 0 && c < count; ++c) {
        if (due_[c] == 0) continue;
        const size_t offset = size_t(columns_[c]) * rows;
        SetBit(
            &pending, columns_[c],
            PulseColumn(devices, p, rows, offset,
                        shadow_w_[l].column(columns_[c]), layer.weight.data()));
      }
      SetBit(&pending, inputs,
             FollowColumn(biases_[l], learning_rate_, delta, delta_bound,
                          &shadow_b_[l], &slack_b_[l], layer.bias.data()));
    }
  }

  void SaveExtra(int l, v1::LayerState* out) const override {
    SaveShadow(shadow_w_[l], out->mutable_shadow_weights());
    SaveShadow(shadow_b_[l], out->mutable_shadow_biases());
  }
  absl::Status CheckExtra(int l, const v1::LayerState& in) const override {
    absl::Status s = CheckFloats(in.shadow_weights(), Size(shadow_w_[l]), l,
                                 "shadow_weights");
    if (!s.ok()) return s;
    return CheckFloats(in.shadow_biases(), Size(shadow_b_[l]), l,
                       "shadow_biases");
  }
  void LoadExtra(int l, const v1::LayerState& in) override {
    shadow_w_[l].Assign(in.shadow_weights().data());
    shadow_b_[l].Assign(in.shadow_biases().data());
    pending_[l] = AllColumns(shadow_w_[l].cols());
    std::fill(slack_w_[l].begin(), slack_w_[l].end(),
              learn_kernels::kShadowUnchecked);
    slack_b_[l] = learn_kernels::kShadowUnchecked;
  }

  int64_t state_bytes() const override {
    int64_t bytes = model_bytes();
    for (size_t l = 0; l < shadow_w_.size(); ++l) {
      bytes += (Size(shadow_w_[l]) + Size(shadow_b_[l])) * sizeof(float);
    }
    return bytes;
  }

 private:
  // The shadow-step parameters for the devices of `array`.
  learn_kernels::ShadowParams Params(const SynapseArray& array) const {
    const float alpha = array.alpha();
    const float center = float(config_.device.center());
    return {(center + 0.5f) * alpha, (0.5f + config_.shadow_margin) * alpha,
            center, alpha};
  }

  // One column of `rows` devices (the biases, from 0 of `array`, with their
  // slack): takes the SGD step shadow -= step * delta (skipped when step is
  // 0), clips each shadow weight to the track's range and pulses every
  // device whose nearest level to the shadow differs from where its wall
  // sits by more than the margin (PulseColumn, only when the kernel reports
  // a device to write). Returns whether a device still differs after its
  // pulse (a failed or blocked write), i.e. whether the column must be
  // checked again at the next step even if it does not move.
  bool FollowColumn(SynapseArray& array, float step, const float* delta,
                    float delta_bound, learn_kernels::ShadowMatrix* shadow,
                    double* slack, float* mirror) {
    const learn_kernels::ShadowParams p = Params(array);
    const int column = 0;
    uint8_t due = 0;
    learn_kernels::ShadowStepColumns(p, &column, &step, 1, delta, delta_bound,
                                     array.notches().data(), shadow, slack,
                                     &due);
    return due != 0 &&
           PulseColumn(array, p, shadow->rows(), 0, shadow->column(0), mirror);
  }

  // The scalar pulse pass of one column from `offset` of `array`, after its
  // shadow step; returns whether a device still differs after its pulse.
  bool PulseColumn(SynapseArray& array, const learn_kernels::ShadowParams& p,
                   int rows, size_t offset, const float* shadow,
                   float* mirror) {
    const int8_t* notch = array.notches().data() + offset;
    bool still = false;
    for (int i = 0; i < rows; ++i) {
      float gap = learn_kernels::ShadowGap(p, shadow[i], notch[i]);
      if (std::abs(gap) <= p.trigger) continue;
      PulseToward(array, int(offset) + i, gap > 0 ? 1 : -1, mirror);
      gap = learn_kernels::ShadowGap(p, shadow[i], notch[i]);
      still = still || std::abs(gap) > p.trigger;
    }
    return still;
  }

  static int Size(const learn_kernels::ShadowMatrix& m) {
    return m.rows() * m.cols();
  }
  static void SaveShadow(const learn_kernels::ShadowMatrix& m,
                         google::protobuf::RepeatedField<float>* out) {
    out->Resize(Size(m), 0.0f);
    m.CopyTo(out->mutable_data());
  }

  // The columns to visit, in increasing order, written to out: the active
  // ones idx[0..n) (increasing) and the pending ones (a set bit below
  // `inputs`: a failed write, rare). Returns how many.
  static int VisitedColumns(const int* idx, int n,
                            const std::vector<uint64_t>& pending, int inputs,
                            int* out) {
    int count = 0, k = 0;
    for (size_t w = 0; w < pending.size(); ++w) {
      for (uint64_t bits = pending[w]; bits != 0; bits &= bits - 1) {
        const int j = int(64 * w) + __builtin_ctzll(bits);
        if (j >= inputs) break;  // the biases' bit
        while (k < n && idx[k] < j) out[count++] = idx[k++];
        if (k < n && idx[k] == j) ++k;
        out[count++] = j;
      }
    }
    std::copy(idx + k, idx + n, out + count);
    return count + n - k;
  }
  static void SetBit(std::vector<uint64_t>* bits, int i, bool value) {
    const uint64_t mask = uint64_t{1} << (i % 64);
    uint64_t& word = (*bits)[i / 64];
    word = value ? word | mask : word & ~mask;
  }
  // All columns of a layer with `inputs` inputs, and its biases, set.
  static std::vector<uint64_t> AllColumns(int inputs) {
    std::vector<uint64_t> bits((inputs + 1 + 63) / 64, 0);
    for (int j = 0; j <= inputs; ++j) SetBit(&bits, j, true);
    return bits;
  }

  // The shadow weights and biases (a column) of every layer; saved packed.
  std::vector<learn_kernels::ShadowMatrix> shadow_w_;
  std::vector<learn_kernels::ShadowMatrix> shadow_b_;
  // Per layer, a bit per input column (and one for the biases, bit in()):
  // set when a device in it still differs from its shadow after the last
  // step.
  std::vector<std::vector<uint64_t>> pending_;
  // Per layer, the slack of every weight column and of the biases
  // (shadow_kernels.h): kShadowUnchecked until tested, after a pulse and
  // after a load.
  std::vector<std::vector<double>> slack_w_;
  std::vector<double> slack_b_;
  // Scratch of one step, kept to avoid allocations: the active inputs, the
  // visited columns, their steps and whether a pulse is due in each.
  std::vector<int> active_;
  std::vector<int> columns_;
  std::vector<float> steps_;
  std::vector<uint8_t> due_;
};

// -------------------------------------------------------- dw-stochastic ---

class DwStochasticRule final : public DeviceRule {
 public:
  DwStochasticRule(const RuleConfig& config, uint64_t seed, Network* net)
      : DeviceRule(config, seed, net) {}

  RuleKind kind() const override { return RuleKind::kDwStochastic; }

  // Synapse (i, j) of layer l sees the gradient g = delta_i * a_j (a_j = 1
  // for the biases) and gets a pulse toward -sign(g) with probability
  // min(1, lr * |g| / alpha). The whole layer, weights and biases, is one
  // grid of Bernoulli trials over the non-zero inputs (pulse_sampler.h):
  // about one exponential draw per candidate, where a draw per synapse
  // would cost one uniform per synapse. |delta| and the column rates are
  // written with their maxima (the sampler's p_max) in the same pass.
  void Step(const Workspace& ws, Network* net) override {
    for (int l = 0; l < net->num_layers(); ++l) {
      DenseLayer& layer = net->layer(l);
      const Eigen::VectorXf& delta = ws.deltas[l];
      const Eigen::VectorXf& a = ws.activations[l];
      const int rows = layer.out();
      if (abs_delta_.size() < size_t(rows)) abs_delta_.resize(rows);
      const float d_max = AbsWithMax(delta.data(), rows, abs_delta_.data());
      const int n = ActiveInputs(ws, l, &columns_);
      if (rates_.size() < columns_.size()) rates_.resize(columns_.size());
      const float per_input = learning_rate_ / weights_[l].alpha();
      float bounds[2];  // the columns' largest rate, the biases' rate
      bounds[0] =
          n == layer.in()  // all active (a sigmoid layer's input)
              ? ScaledAbsWithMax</*kGather=*/false>(per_input, a.data(),
                                                    nullptr, n, rates_.data())
              : ScaledAbsWithMax</*kGather=*/true>(
                    per_input, a.data(), columns_.data(), n, rates_.data());
      columns_[n] = kBiasColumn;
      rates_[n] = bounds[1] = learning_rate_ / biases_[l].alpha();
      SampleOuterBernoulliWithMax(
          abs_delta_.data(), rows, d_max, rates_.data(), n + 1,
          MaxNonNegative(bounds, 2), write_rng_, [&](int c, int i) {
            const int j = columns_[c];
            if (j == kBiasColumn) {
              PulseToward(biases_[l], i, delta[i] > 0 ? -1 : 1,
                          layer.bias.data());
            } else {
              const bool up = (a[j] > 0) != (delta[i] > 0);
              PulseToward(weights_[l], j * rows + i, up ? 1 : -1,
                          layer.weight.data());
            }
          });
    }
  }

  int64_t state_bytes() const override { return model_bytes(); }

 private:
  static constexpr int kBiasColumn = -1;

  // Scratch of one step, kept to avoid allocations.
  std::vector<float> abs_delta_;
  std::vector<int> columns_;
  std::vector<float> rates_;
};

}  // namespace

std::unique_ptr<LearningRule> NewDwShadowRule(const RuleConfig& config,
                                              uint64_t seed, Network* net) {
  return std::make_unique<DwShadowRule>(config, seed, net);
}

std::unique_ptr<LearningRule> NewDwStochasticRule(const RuleConfig& config,
                                                  uint64_t seed, Network* net) {
  return std::make_unique<DwStochasticRule>(config, seed, net);
}

}  // namespace dwae::rule_internal
