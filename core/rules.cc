#include "core/rules.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/device_rules.h"
#include "core/rng.h"
#include "core/rule_state.h"
#include "dwae/v1/checkpoint.pb.h"

namespace dwae {
namespace rule_internal {

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

}  // namespace rule_internal

namespace {

using rule_internal::CheckCommon;
using rule_internal::InitBound;
using rule_internal::kInitStream;
using rule_internal::SaveCommon;

// ---------------------------------------------------------------- float ---

// w[i] -= step * m1[i] / (sqrt(m2[i]) + eps) for i < rows, each element as
// Eigen evaluated `w.col(j).array() -= step * m1 / (m2.sqrt() + eps)` when
// the weights were a packed Eigen matrix and the column began at element
// `packed_offset` of an aligned buffer: Eigen's packets (whose EIGEN_FAST_MATH
// sqrt, rsqrt and a Newton step, rounds unlike std::sqrt) from the first
// aligned element to the last whole packet, scalars around them. The padded
// columns are all aligned, so Eigen on them would put packets elsewhere and
// change the float rule's trajectory (weight_layout_test checks the bits).
void AdamWeightStep(float step, float eps, const float* m1, const float* m2,
                    int packed_offset, int rows, float* w) {
  namespace ei = Eigen::internal;
  using Packet = ei::packet_traits<float>::type;
  // A float packet's alignment is its size.
  constexpr int kSize = ei::packet_traits<float>::size;
  // Eigen's first_aligned: the elements before the first aligned one.
  const int head = std::min(rows, (kSize - packed_offset % kSize) % kSize);
  const int end = head + (rows - head) / kSize * kSize;
  for (int i = 0; i < head; ++i)
    w[i] -= step * m1[i] / (std::sqrt(m2[i]) + eps);
  const Packet ps = ei::pset1<Packet>(step), pe = ei::pset1<Packet>(eps);
  for (int i = head; i < end; i += kSize) {
    const Packet q =
        ei::pdiv(ei::pmul(ps, ei::ploadu<Packet>(m1 + i)),
                 ei::padd(ei::psqrt(ei::ploadu<Packet>(m2 + i)), pe));
    ei::pstoreu(w + i, ei::psub(ei::ploadu<Packet>(w + i), q));
  }
  for (int i = end; i < rows; ++i)
    w[i] -= step * m1[i] / (std::sqrt(m2[i]) + eps);
}

class FloatRule final : public LearningRule {
 public:
  FloatRule(const RuleConfig& config, uint64_t seed, Network* net)
      : LearningRule(config.EffectiveLearningRate()), config_(config) {
    Rng rng(HashPair(seed, kInitStream));
    for (int l = 0; l < net->num_layers(); ++l) {
      DenseLayer& layer = net->layer(l);
      const float bound = InitBound(layer.in());
      for (int j = 0; j < layer.in(); ++j) {  // in packed order
        float* column = layer.weight.column(j);
        for (int i = 0; i < layer.out(); ++i) {
          column[i] = bound * (2 * rng.UniformFloat() - 1);
        }
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
        AdamWeightStep(step, eps, m.w1.col(j).data(), m.w2.col(j).data(),
                       j * layer.out(), layer.out(), layer.weight.column(j));
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
      out->mutable_weights()->Resize(nw, 0.0f);
      layer.weight.CopyTo(out->mutable_weights()->mutable_data());
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
      net->layer(l).weight.Assign(in.weights().data());
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
      return rule_internal::NewDwShadowRule(config, seed, net);
    case RuleKind::kDwStochastic:
      return rule_internal::NewDwStochasticRule(config, seed, net);
  }
  return absl::InvalidArgumentError("rule: unknown kind");
}

}  // namespace dwae
