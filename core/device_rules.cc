// dw-stochastic (rules.h): sampled pulses, with probabilities from the
// gradient. The devices both dw rules share are DeviceRule (device_rule.h);
// dw-shadow is in dw_shadow_rule.cc.
#include "core/device_rules.h"

#include <cstdint>
#include <memory>
#include <vector>

#include "core/device_rule.h"
#include "core/pulse_sampler.h"

namespace dwae::rule_internal {
namespace {

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
              PulseToward(biases_[l], i, delta[i] > 0 ? -1 : 1, &layer.bias[i]);
            } else {
              const bool up = (a[j] > 0) != (delta[i] > 0);
              PulseToward(weights_[l], j * rows + i, up ? 1 : -1,
                          &layer.weight(i, j));
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

std::unique_ptr<LearningRule> NewDwStochasticRule(const RuleConfig& config,
                                                  uint64_t seed, Network* net) {
  return std::make_unique<DwStochasticRule>(config, seed, net);
}

}  // namespace dwae::rule_internal
