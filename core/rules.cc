#include "core/rules.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/rng.h"
#include "core/rule_state.h"
#include "dwae/v1/checkpoint.pb.h"

namespace dwae {
namespace {

// Seeds for the independent random streams of one run.
constexpr uint64_t kInitStream = 1;
constexpr uint64_t kWriteStream = 2;
constexpr uint64_t kFabricationStream = 3;

float InitBound(int fan_in) { return 1.0f / std::sqrt(float(fan_in)); }

void SaveCommon(RuleKind kind, float learning_rate, uint64_t steps,
                const Network& net, v1::RuleState* state) {
  state->Clear();
  state->set_rule(RuleName(kind));
  state->set_learning_rate(learning_rate);
  state->set_steps(steps);
  for (int l = 0; l < net.num_layers(); ++l) {
    v1::LayerState* layer = state->add_layers();
    layer->set_inputs(net.layer(l).in());
    layer->set_outputs(net.layer(l).out());
  }
}

// The rule's name and every layer's shape must match.
absl::Status CheckCommon(const v1::RuleState& state, RuleKind kind,
                         const Network& net) {
  if (state.rule() != RuleName(kind)) {
    return absl::InvalidArgumentError(
        absl::StrCat("rule: state is for '", state.rule(), "', model uses '",
                     RuleName(kind), "'"));
  }
  if (!(std::isfinite(state.learning_rate()) && state.learning_rate() >= 0)) {
    return absl::InvalidArgumentError("rule: learning_rate is not valid");
  }
  if (state.layers_size() != net.num_layers()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("rule: %d layers, model has %d", state.layers_size(),
                        net.num_layers()));
  }
  for (int l = 0; l < net.num_layers(); ++l) {
    const v1::LayerState& layer = state.layers(l);
    if (layer.inputs() != net.layer(l).in() ||
        layer.outputs() != net.layer(l).out()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "layer %d: shape %dx%d, model has %dx%d", l, layer.outputs(),
          layer.inputs(), net.layer(l).out(), net.layer(l).in()));
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- float ---

class FloatRule final : public LearningRule {
 public:
  FloatRule(const RuleConfig& config, uint64_t seed, Network* net)
      : LearningRule(config.EffectiveLearningRate()), config_(config) {
    Rng rng(HashPair(seed, kInitStream));
    for (int l = 0; l < net->num_layers(); ++l) {
      DenseLayer& layer = net->layer(l);
      const float bound = InitBound(layer.in());
      for (int i = 0; i < layer.weight.size(); ++i) {
        layer.weight.data()[i] = bound * (2 * rng.UniformFloat() - 1);
      }
      for (int i = 0; i < layer.bias.size(); ++i) {
        layer.bias[i] = bound * (2 * rng.UniformFloat() - 1);
      }
      moments_.push_back({Eigen::MatrixXf::Zero(layer.out(), layer.in()),
                          Eigen::MatrixXf::Zero(layer.out(), layer.in()),
                          Eigen::VectorXf::Zero(layer.out()),
                          Eigen::VectorXf::Zero(layer.out())});
    }
    num_parameters_ = net->num_parameters();
  }

  RuleKind kind() const override { return RuleKind::kFloat; }

  void Step(const Workspace& ws, Network* net) override {
    ++steps_;
    const float b1 = config_.adam_beta1, b2 = config_.adam_beta2;
    const float c1 = 1.0f - std::pow(b1, float(steps_));
    const float c2 = 1.0f - std::pow(b2, float(steps_));
    const float step = learning_rate_ * std::sqrt(c2) / c1;
    const float eps = config_.adam_epsilon * std::sqrt(c2);
    for (int l = 0; l < net->num_layers(); ++l) {
      DenseLayer& layer = net->layer(l);
      Moments& m = moments_[l];
      const Eigen::VectorXf& delta = ws.deltas[l];
      const Eigen::VectorXf& a = ws.activations[l];
      for (int j = 0; j < layer.in(); ++j) {
        auto g = delta * a[j];
        m.w1.col(j) = b1 * m.w1.col(j) + (1 - b1) * g;
        m.w2.col(j) = b2 * m.w2.col(j) + (1 - b2) * g.cwiseAbs2();
        layer.weight.col(j).array() -=
            step * m.w1.col(j).array() / (m.w2.col(j).array().sqrt() + eps);
      }
      m.b1 = b1 * m.b1 + (1 - b1) * delta;
      m.b2 = b2 * m.b2 + (1 - b2) * delta.cwiseAbs2();
      layer.bias.array() -= step * m.b1.array() / (m.b2.array().sqrt() + eps);
    }
  }

  void SaveState(const Network& net, uint64_t steps,
                 v1::RuleState* state) const override {
    SaveCommon(kind(), learning_rate_, steps, net, state);
    for (int l = 0; l < net.num_layers(); ++l) {
      const DenseLayer& layer = net.layer(l);
      const Moments& m = moments_[l];
      v1::LayerState* out = state->mutable_layers(l);
      const int nw = int(layer.weight.size()), nb = int(layer.bias.size());
      SaveFloats(layer.weight.data(), nw, out->mutable_weights());
      SaveFloats(layer.bias.data(), nb, out->mutable_biases());
      SaveFloats(m.w1.data(), nw, out->mutable_adam_m_weights());
      SaveFloats(m.w2.data(), nw, out->mutable_adam_v_weights());
      SaveFloats(m.b1.data(), nb, out->mutable_adam_m_biases());
      SaveFloats(m.b2.data(), nb, out->mutable_adam_v_biases());
    }
  }

  absl::Status LoadState(const v1::RuleState& state, Network* net) override {
    if (absl::Status s = CheckCommon(state, kind(), *net); !s.ok()) return s;
    for (int l = 0; l < net->num_layers(); ++l) {
      const v1::LayerState& in = state.layers(l);
      const int nw = int(net->layer(l).weight.size());
      const int nb = int(net->layer(l).bias.size());
      for (auto [field, n, name] :
           {std::tuple{&in.weights(), nw, "weights"},
            {&in.biases(), nb, "biases"},
            {&in.adam_m_weights(), nw, "adam_m_weights"},
            {&in.adam_v_weights(), nw, "adam_v_weights"},
            {&in.adam_m_biases(), nb, "adam_m_biases"},
            {&in.adam_v_biases(), nb, "adam_v_biases"}}) {
        if (absl::Status s = CheckFloats(*field, n, l, name); !s.ok()) return s;
      }
    }
    for (int l = 0; l < net->num_layers(); ++l) {
      const v1::LayerState& in = state.layers(l);
      Moments& m = moments_[l];
      LoadFloats(in.weights(), net->layer(l).weight.data());
      LoadFloats(in.biases(), net->layer(l).bias.data());
      LoadFloats(in.adam_m_weights(), m.w1.data());
      LoadFloats(in.adam_v_weights(), m.w2.data());
      LoadFloats(in.adam_m_biases(), m.b1.data());
      LoadFloats(in.adam_v_biases(), m.b2.data());
    }
    steps_ = state.steps();
    learning_rate_ = state.learning_rate();
    return absl::OkStatus();
  }

  std::vector<LayerDeviceCounters> device_counters() const override {
    return std::vector<LayerDeviceCounters>(moments_.size());
  }
  uint64_t weight_updates() const override {
    return steps_ * static_cast<uint64_t>(num_parameters_);
  }
  int64_t state_bytes() const override { return 3 * model_bytes(); }
  int64_t model_bytes() const override {
    return num_parameters_ * int64_t{sizeof(float)};
  }
  float weight_alpha(int) const override { return 0.0f; }

 private:
  struct Moments {
    Eigen::MatrixXf w1, w2;
    Eigen::VectorXf b1, b2;
  };
  RuleConfig config_;
  std::vector<Moments> moments_;
  int64_t num_parameters_ = 0;
  uint64_t steps_ = 0;
};

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
      shadow_w_.push_back(net->layer(l).weight);
      shadow_b_.push_back(net->layer(l).bias);
    }
  }

  RuleKind kind() const override { return RuleKind::kDwShadow; }

  void Step(const Workspace& ws, Network* net) override {
    for (int l = 0; l < net->num_layers(); ++l) {
      DenseLayer& layer = net->layer(l);
      const Eigen::VectorXf& delta = ws.deltas[l];
      const Eigen::VectorXf& a = ws.activations[l];
      Eigen::MatrixXf& sw = shadow_w_[l];
      for (int j = 0; j < layer.in(); ++j) {
        if (a[j] != 0.0f) sw.col(j) -= (learning_rate_ * a[j]) * delta;
      }
      shadow_b_[l] -= learning_rate_ * delta;
      Follow(weights_[l], sw.data(), layer.weight.data());
      Follow(biases_[l], shadow_b_[l].data(), layer.bias.data());
    }
  }

  void SaveExtra(int l, v1::LayerState* out) const override {
    SaveFloats(shadow_w_[l].data(), int(shadow_w_[l].size()),
               out->mutable_shadow_weights());
    SaveFloats(shadow_b_[l].data(), int(shadow_b_[l].size()),
               out->mutable_shadow_biases());
  }
  absl::Status CheckExtra(int l, const v1::LayerState& in) const override {
    absl::Status s = CheckFloats(in.shadow_weights(), int(shadow_w_[l].size()),
                                 l, "shadow_weights");
    if (!s.ok()) return s;
    return CheckFloats(in.shadow_biases(), int(shadow_b_[l].size()), l,
                       "shadow_biases");
  }
  void LoadExtra(int l, const v1::LayerState& in) override {
    LoadFloats(in.shadow_weights(), shadow_w_[l].data());
    LoadFloats(in.shadow_biases(), shadow_b_[l].data());
  }

  int64_t state_bytes() const override {
    int64_t bytes = model_bytes();
    for (size_t l = 0; l < shadow_w_.size(); ++l) {
      bytes += (shadow_w_[l].size() + shadow_b_[l].size()) * sizeof(float);
    }
    return bytes;
  }

 private:
  // Clips each shadow weight to the track's range and pulses every device
  // whose nearest level to the shadow differs from where its wall sits.
  // Blocks of kBlock devices are first checked by a loop the compiler
  // vectorizes; only blocks with a device to write take the scalar path.
  void Follow(SynapseArray& array, float* shadow, float* mirror) {
    constexpr int kBlock = 64;
    const float alpha = array.alpha();
    const float center = float(config_.device.center());
    const float limit = (center + 0.5f) * alpha;
    const float trigger = (0.5f + config_.shadow_margin) * alpha;
    const int8_t* notch = array.notches().data();
    const int n = array.size();
    for (int base = 0; base < n; base += kBlock) {
      const int end = std::min(n, base + kBlock);
      int hits = 0;
      for (int i = base; i < end; ++i) {
        const float s = std::min(std::max(shadow[i], -limit), limit);
        shadow[i] = s;
        const float gap = s - (float(notch[i]) - center) * alpha;
        hits += std::abs(gap) > trigger ? 1 : 0;
      }
      if (hits == 0) continue;
      for (int i = base; i < end; ++i) {
        const float gap = shadow[i] - (float(notch[i]) - center) * alpha;
        if (std::abs(gap) > trigger) {
          PulseToward(array, i, gap > 0 ? 1 : -1, mirror);
        }
      }
    }
  }

  std::vector<Eigen::MatrixXf> shadow_w_;
  std::vector<Eigen::VectorXf> shadow_b_;
};

// -------------------------------------------------------- dw-stochastic ---

class DwStochasticRule final : public DeviceRule {
 public:
  DwStochasticRule(const RuleConfig& config, uint64_t seed, Network* net)
      : DeviceRule(config, seed, net) {}

  RuleKind kind() const override { return RuleKind::kDwStochastic; }

  void Step(const Workspace& ws, Network* net) override {
    for (int l = 0; l < net->num_layers(); ++l) {
      DenseLayer& layer = net->layer(l);
      const Eigen::VectorXf& delta = ws.deltas[l];
      const Eigen::VectorXf& a = ws.activations[l];
      const float max_delta = delta.cwiseAbs().maxCoeff();
      if (max_delta == 0.0f) continue;
      SynapseArray& w = weights_[l];
      const int rows = layer.out();
      for (int j = 0; j < layer.in(); ++j) {
        if (a[j] == 0.0f) continue;
        PulseColumn(delta, max_delta, learning_rate_ * a[j] / w.alpha(), w,
                    j * rows, layer.weight.data());
      }
      PulseColumn(delta, max_delta, learning_rate_ / biases_[l].alpha(),
                  biases_[l], 0, layer.bias.data());
    }
  }

  int64_t state_bytes() const override { return model_bytes(); }

 private:
  // Devices offset .. offset+delta.size()-1 of `array` see the gradient
  // g_i = delta_i * a, where scale = lr * a / alpha: device i gets a pulse
  // toward -sign(g_i) with probability p_i = min(1, |scale * delta_i|).
  // Exact Bernoulli draws by thinning: candidates arrive by geometric skips
  // at rate p_max = |scale| * max_delta, each accepted with p_i / p_max, so
  // the cost is proportional to the expected number of pulses, not to the
  // column's length.
  void PulseColumn(const Eigen::VectorXf& delta, float max_delta, float scale,
                   SynapseArray& array, int offset, float* mirror) {
    const float p_max = std::abs(scale) * max_delta;
    const int n = static_cast<int>(delta.size());
    const float sign = scale > 0 ? 1.0f : -1.0f;
    if (p_max >= 0.25f) {
      for (int i = 0; i < n; ++i) {
        const float p = std::min(1.0f, std::abs(scale * delta[i]));
        if (write_rng_.UniformFloat() < p) {
          PulseToward(array, offset + i, sign * delta[i] > 0 ? -1 : 1, mirror);
        }
      }
      return;
    }
    const double log_miss = std::log1p(-double(p_max));
    for (int i = -1;;) {
      const double skip = std::log(write_rng_.UniformOpen()) / log_miss;
      if (skip >= double(n - 1 - i)) break;
      i += 1 + static_cast<int>(skip);
      if (write_rng_.UniformFloat() * max_delta < std::abs(delta[i])) {
        PulseToward(array, offset + i, sign * delta[i] > 0 ? -1 : 1, mirror);
      }
    }
  }
};

}  // namespace

absl::StatusOr<RuleKind> ParseRuleKind(absl::string_view name) {
  if (name == "float") return RuleKind::kFloat;
  if (name == "dw-shadow") return RuleKind::kDwShadow;
  if (name == "dw-stochastic") return RuleKind::kDwStochastic;
  return absl::InvalidArgumentError(
      absl::StrCat("rule: unknown '", name,
                   "' (expected float, dw-shadow or dw-stochastic)"));
}

const char* RuleName(RuleKind kind) {
  switch (kind) {
    case RuleKind::kFloat:
      return "float";
    case RuleKind::kDwShadow:
      return "dw-shadow";
    case RuleKind::kDwStochastic:
      return "dw-stochastic";
  }
  return "?";
}

float DefaultLearningRate(RuleKind kind) {
  switch (kind) {
    case RuleKind::kFloat:
      return 1e-3f;
    case RuleKind::kDwShadow:
      return 2.0f;
    case RuleKind::kDwStochastic:
      return 1.0f;
  }
  return 0.0f;
}

float RuleConfig::EffectiveLearningRate() const {
  return learning_rate < 0 ? DefaultLearningRate(kind) : learning_rate;
}

absl::Status RuleConfig::Validate() const {
  auto bad = [](const char* field, double value, const char* why) {
    return absl::InvalidArgumentError(
        absl::StrFormat("model.%s: %g %s", field, value, why));
  };
  if (!std::isfinite(learning_rate) ||
      (learning_rate < 0 && learning_rate != -1.0f)) {
    return bad("learning_rate", learning_rate, "must be finite and >= 0");
  }
  if (!(adam_beta1 >= 0 && adam_beta1 < 1)) {
    return bad("adam_beta1", adam_beta1, "must be in [0, 1)");
  }
  if (!(adam_beta2 >= 0 && adam_beta2 < 1)) {
    return bad("adam_beta2", adam_beta2, "must be in [0, 1)");
  }
  if (!(adam_epsilon > 0))
    return bad("adam_epsilon", adam_epsilon, "must be > 0");
  if (!(weight_alpha_gain > 0 && std::isfinite(weight_alpha_gain))) {
    return bad("weight_alpha_gain", weight_alpha_gain,
               "must be finite and > 0");
  }
  if (!(bias_alpha > 0 && std::isfinite(bias_alpha))) {
    return bad("bias_alpha", bias_alpha, "must be finite and > 0");
  }
  if (!(shadow_margin >= 0 && shadow_margin < 10)) {
    return bad("shadow_margin", shadow_margin, "must be in [0, 10)");
  }
  return device.Validate();
}

absl::StatusOr<std::unique_ptr<LearningRule>> CreateRule(
    const RuleConfig& config, uint64_t seed, Network* net) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  switch (config.kind) {
    case RuleKind::kFloat:
      return std::unique_ptr<LearningRule>(new FloatRule(config, seed, net));
    case RuleKind::kDwShadow:
      return std::unique_ptr<LearningRule>(new DwShadowRule(config, seed, net));
    case RuleKind::kDwStochastic:
      return std::unique_ptr<LearningRule>(
          new DwStochasticRule(config, seed, net));
  }
  return absl::InvalidArgumentError("rule: unknown kind");
}

}  // namespace dwae
