#include "core/rules.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/model.h"
#include "core/network.h"
#include "core/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

using ::testing::HasSubstr;

constexpr int kDim = 12;
constexpr int kRows = 200;

// Rows drawn around three fixed prototypes with small noise, in [0, 1].
std::vector<float> SyntheticData() {
  Rng rng(31337);
  std::vector<std::vector<float>> prototypes(3, std::vector<float>(kDim));
  for (auto& p : prototypes) {
    for (float& v : p) v = rng.Uniform() < 0.5 ? 0.1f : 0.9f;
  }
  std::vector<float> rows(kRows * kDim);
  for (int r = 0; r < kRows; ++r) {
    const auto& p = prototypes[r % 3];
    for (int d = 0; d < kDim; ++d) {
      rows[r * kDim + d] =
          std::clamp(p[d] + 0.05f * float(rng.Normal()), 0.0f, 1.0f);
    }
  }
  return rows;
}

ModelConfig SmallConfig(RuleKind kind, uint64_t seed) {
  ModelConfig config;
  config.shape.input_dim = kDim;
  config.shape.hidden = {6};
  config.rule.kind = kind;
  config.seed = seed;
  if (kind == RuleKind::kFloat) config.rule.learning_rate = 1e-2f;
  return config;
}

std::unique_ptr<Autoencoder> MakeModel(const ModelConfig& config) {
  absl::StatusOr<std::unique_ptr<Autoencoder>> model =
      Autoencoder::Create(config);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? *std::move(model) : nullptr;
}

double MeanLoss(const Autoencoder& model, const std::vector<float>& rows) {
  Workspace ws = model.MakeWorkspace();
  double sum = 0;
  for (int r = 0; r < kRows; ++r) sum += model.Score(&rows[r * kDim], &ws);
  return sum / kRows;
}

void Train(const std::vector<float>& rows, int epochs, Autoencoder* model) {
  std::vector<int> order(kRows);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(99);
  Workspace ws = model->MakeWorkspace();
  for (int e = 0; e < epochs; ++e) {
    for (int i = kRows - 1; i > 0; --i)
      std::swap(order[i], order[rng.Below(i + 1)]);
    for (int r : order) model->Learn(&rows[r * kDim], &ws);
  }
}

uint64_t TotalPulses(const LearningRule& rule) {
  uint64_t pulses = 0;
  for (const LayerDeviceCounters& c : rule.device_counters()) {
    pulses += c.weights.pulses + c.biases.pulses;
  }
  return pulses;
}

bool SameCounters(const DeviceCounters& a, const DeviceCounters& b) {
  return a.pulses == b.pulses && a.level_changes == b.level_changes &&
         a.failures == b.failures && a.overshoots == b.overshoots &&
         a.blocked == b.blocked;
}

bool SameWeights(const Network& a, const Network& b) {
  for (int l = 0; l < a.num_layers(); ++l) {
    if (a.layer(l).weight != b.layer(l).weight) return false;
    if (a.layer(l).bias != b.layer(l).bias) return false;
  }
  return true;
}

// True if `v` is exactly one of the nominal levels (k - center) * alpha.
bool IsLevel(float v, float alpha, const DeviceParams& device) {
  for (int k = 0; k < device.num_levels; ++k) {
    if (v == static_cast<float>((k - device.center()) * alpha)) return true;
  }
  return false;
}

class RuleTest : public ::testing::TestWithParam<RuleKind> {};

// The loss ratio of one short stochastic run is itself random (for
// dw-stochastic, 0.04-0.5 across seeds), so the mean ratio over four seeds
// must be below 0.3.
TEST_P(RuleTest, TrainingLowersLoss) {
  const std::vector<float> rows = SyntheticData();
  double ratios = 0;
  for (uint64_t seed = 5; seed < 9; ++seed) {
    std::unique_ptr<Autoencoder> model =
        MakeModel(SmallConfig(GetParam(), seed));
    ASSERT_NE(model, nullptr);
    const double initial = MeanLoss(*model, rows);
    Train(rows, 8, model.get());
    const double final_loss = MeanLoss(*model, rows);
    EXPECT_LT(final_loss, initial) << RuleName(GetParam()) << " seed " << seed;
    ratios += final_loss / initial;
    EXPECT_EQ(model->steps(), uint64_t(8 * kRows));
  }
  EXPECT_LT(ratios / 4, 0.3) << RuleName(GetParam());
}

TEST_P(RuleTest, SameSeedIsBitIdenticalOtherSeedDiffers) {
  const std::vector<float> rows = SyntheticData();
  std::unique_ptr<Autoencoder> a = MakeModel(SmallConfig(GetParam(), 17));
  std::unique_ptr<Autoencoder> b = MakeModel(SmallConfig(GetParam(), 17));
  std::unique_ptr<Autoencoder> c = MakeModel(SmallConfig(GetParam(), 18));
  ASSERT_TRUE(a && b && c);
  Train(rows, 2, a.get());
  Train(rows, 2, b.get());
  Train(rows, 2, c.get());
  EXPECT_TRUE(SameWeights(a->network(), b->network()));
  EXPECT_FALSE(SameWeights(a->network(), c->network()));
  EXPECT_EQ(a->rule().weight_updates(), b->rule().weight_updates());
  const auto ca = a->rule().device_counters();
  const auto cb = b->rule().device_counters();
  ASSERT_EQ(ca.size(), cb.size());
  for (size_t l = 0; l < ca.size(); ++l) {
    EXPECT_TRUE(SameCounters(ca[l].weights, cb[l].weights)) << l;
    EXPECT_TRUE(SameCounters(ca[l].biases, cb[l].biases)) << l;
  }
  if (GetParam() != RuleKind::kFloat) {
    EXPECT_NE(a->rule().weight_updates(), c->rule().weight_updates());
  }
}

TEST_P(RuleTest, InitialWeightsWithinPyTorchBound) {
  std::unique_ptr<Autoencoder> model = MakeModel(SmallConfig(GetParam(), 3));
  ASSERT_NE(model, nullptr);
  const Network& net = model->network();
  for (int l = 0; l < net.num_layers(); ++l) {
    const DenseLayer& layer = net.layer(l);
    const float bound = 1.0f / std::sqrt(float(layer.in()));
    // dw rules round stochastically to the nearest levels around the draw.
    const float slack =
        GetParam() == RuleKind::kFloat ? 0.0f : model->rule().weight_alpha(l);
    EXPECT_LE(layer.weight_map().cwiseAbs().maxCoeff(), bound + slack) << l;
    EXPECT_GT(layer.weight_map().cwiseAbs().maxCoeff(), 0.0f) << l;
  }
  EXPECT_EQ(model->rule().kind(), GetParam());
}

INSTANTIATE_TEST_SUITE_P(AllRules, RuleTest,
                         ::testing::Values(RuleKind::kFloat,
                                           RuleKind::kDwShadow,
                                           RuleKind::kDwStochastic),
                         [](const auto& info) {
                           std::string name = RuleName(info.param);
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

class DeviceRuleTest : public ::testing::TestWithParam<RuleKind> {};

TEST_P(DeviceRuleTest, WeightsAreDeviceLevelsAndUpdatesArePulses) {
  const std::vector<float> rows = SyntheticData();
  ModelConfig config = SmallConfig(GetParam(), 8);
  config.rule.bias_alpha = 0.75f;
  std::unique_ptr<Autoencoder> model = MakeModel(config);
  ASSERT_NE(model, nullptr);
  const DeviceParams& device = config.rule.device;
  const LearningRule& rule = model->rule();
  for (int epoch = 0; epoch < 3; ++epoch) {
    const Network& net = model->network();
    for (int l = 0; l < net.num_layers(); ++l) {
      const float alpha = rule.weight_alpha(l);
      EXPECT_FLOAT_EQ(alpha, config.rule.weight_alpha_gain /
                                 std::sqrt(float(net.layer(l).in())));
      const DenseLayer& layer = net.layer(l);
      for (int j = 0; j < layer.in(); ++j) {
        for (int i = 0; i < layer.out(); ++i) {
          ASSERT_TRUE(IsLevel(layer.weight(i, j), alpha, device))
              << "layer " << l << " weight " << i << ", " << j << " = "
              << layer.weight(i, j);
        }
      }
      for (int i = 0; i < layer.bias.size(); ++i) {
        ASSERT_TRUE(IsLevel(layer.bias[i], 0.75f, device))
            << "layer " << l << " bias " << i << " = " << layer.bias[i];
      }
    }
    EXPECT_EQ(rule.weight_updates(), TotalPulses(rule));
    Train(rows, 1, model.get());
  }
  EXPECT_GT(rule.weight_updates(), 0u);
  EXPECT_LT(rule.weight_updates(), model->float_equivalent_updates());
  DeviceCounters total;
  for (const LayerDeviceCounters& c : rule.device_counters()) {
    total += c.total();
    EXPECT_GT(c.weights.pulses, 0u);
    EXPECT_GT(c.biases.pulses, 0u);
  }
  // Controllers read the state first: no pulse hits the end of a track.
  EXPECT_EQ(total.blocked, 0u);
  EXPECT_GT(total.level_changes, 0u);
  EXPECT_GT(total.failures, 0u);
  EXPECT_EQ(rule.device_counters().size(), 2u);
}

TEST_P(DeviceRuleTest, AllPulsesFailingLeavesWeightsUnchanged) {
  const std::vector<float> rows = SyntheticData();
  ModelConfig config = SmallConfig(GetParam(), 4);
  config.rule.device.p_fail = 1.0;
  config.rule.device.p_over = 0.0;
  std::unique_ptr<Autoencoder> model = MakeModel(config);
  ASSERT_NE(model, nullptr);
  const Network before = model->network();
  Train(rows, 2, model.get());
  EXPECT_TRUE(SameWeights(before, model->network()));
  DeviceCounters total;
  for (const LayerDeviceCounters& c : model->rule().device_counters()) {
    total += c.total();
  }
  EXPECT_GT(total.pulses, 0u);
  EXPECT_EQ(total.failures, total.pulses);
  EXPECT_EQ(total.level_changes, 0u);
  EXPECT_EQ(model->rule().weight_updates(), total.pulses);
}

INSTANTIATE_TEST_SUITE_P(DwRules, DeviceRuleTest,
                         ::testing::Values(RuleKind::kDwShadow,
                                           RuleKind::kDwStochastic),
                         [](const auto& info) {
                           std::string name = RuleName(info.param);
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(FloatRuleTest, UpdatesAreParametersTimesSteps) {
  const std::vector<float> rows = SyntheticData();
  std::unique_ptr<Autoencoder> model =
      MakeModel(SmallConfig(RuleKind::kFloat, 2));
  ASSERT_NE(model, nullptr);
  const int64_t params = model->network().num_parameters();
  EXPECT_EQ(params, 12 * 6 + 6 + 6 * 12 + 12);
  EXPECT_EQ(model->rule().weight_updates(), 0u);
  Train(rows, 1, model.get());
  Workspace ws = model->MakeWorkspace();
  for (int i = 0; i < 7; ++i) model->Learn(&rows[i * kDim], &ws);
  const uint64_t steps = kRows + 7;
  EXPECT_EQ(model->steps(), steps);
  EXPECT_EQ(model->rule().weight_updates(), steps * uint64_t(params));
  EXPECT_EQ(model->float_equivalent_updates(), steps * uint64_t(params));
  for (const LayerDeviceCounters& c : model->rule().device_counters()) {
    EXPECT_EQ(c.total().pulses, 0u);
  }
  EXPECT_EQ(model->rule().weight_alpha(0), 0.0f);
  EXPECT_EQ(model->rule().model_bytes(), params * 4);
}

TEST(DwStochasticRuleTest, StateIsAboutOneBytePerSynapse) {
  std::unique_ptr<Autoencoder> model =
      MakeModel(SmallConfig(RuleKind::kDwStochastic, 2));
  ASSERT_NE(model, nullptr);
  const int64_t params = model->network().num_parameters();
  EXPECT_LE(model->rule().state_bytes(), params + 64);
  EXPECT_GE(model->rule().state_bytes(), params);
  EXPECT_LE(model->rule().model_bytes(), params + 64);

  // For comparison: the other rules keep float state.
  std::unique_ptr<Autoencoder> shadow =
      MakeModel(SmallConfig(RuleKind::kDwShadow, 2));
  std::unique_ptr<Autoencoder> flt =
      MakeModel(SmallConfig(RuleKind::kFloat, 2));
  ASSERT_TRUE(shadow && flt);
  EXPECT_GE(shadow->rule().state_bytes(), 5 * params);
  EXPECT_GE(flt->rule().state_bytes(), 12 * params);
}

TEST(DwStochasticRuleTest, ZeroLearningRateNeverPulses) {
  const std::vector<float> rows = SyntheticData();
  ModelConfig config = SmallConfig(RuleKind::kDwStochastic, 6);
  config.rule.learning_rate = 0.0f;
  std::unique_ptr<Autoencoder> model = MakeModel(config);
  ASSERT_NE(model, nullptr);
  const Network before = model->network();
  Train(rows, 1, model.get());
  EXPECT_EQ(model->rule().weight_updates(), 0u);
  EXPECT_TRUE(SameWeights(before, model->network()));
}

TEST(LearningRateTest, SetLearningRateChangesTheStep) {
  const std::vector<float> rows = SyntheticData();
  for (RuleKind kind :
       {RuleKind::kFloat, RuleKind::kDwShadow, RuleKind::kDwStochastic}) {
    std::unique_ptr<Autoencoder> model = MakeModel(SmallConfig(kind, 9));
    ASSERT_NE(model, nullptr);
    EXPECT_EQ(model->rule().learning_rate(),
              model->config().rule.EffectiveLearningRate())
        << RuleName(kind);
    Train(rows, 1, model.get());
    // A zero step size freezes the weights from here on.
    model->set_learning_rate(0.0f);
    EXPECT_EQ(model->rule().learning_rate(), 0.0f);
    const Network before = model->network();
    const uint64_t pulses = TotalPulses(model->rule());
    Train(rows, 1, model.get());
    EXPECT_TRUE(SameWeights(before, model->network())) << RuleName(kind);
    EXPECT_EQ(TotalPulses(model->rule()), pulses) << RuleName(kind);
  }
}

TEST(RuleKindTest, ParseRoundTripsName) {
  for (RuleKind kind :
       {RuleKind::kFloat, RuleKind::kDwShadow, RuleKind::kDwStochastic}) {
    absl::StatusOr<RuleKind> parsed = ParseRuleKind(RuleName(kind));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, kind);
    EXPECT_GT(DefaultLearningRate(kind), 0.0f);
  }
  EXPECT_STREQ(RuleName(RuleKind::kDwShadow), "dw-shadow");
  for (const char* bad : {"", "dw", "Float", "dw_stochastic"}) {
    absl::StatusOr<RuleKind> parsed = ParseRuleKind(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), HasSubstr("rule"));
  }
}

TEST(RuleConfigTest, EffectiveLearningRate) {
  RuleConfig config;
  config.kind = RuleKind::kDwShadow;
  EXPECT_EQ(config.EffectiveLearningRate(),
            DefaultLearningRate(RuleKind::kDwShadow));
  config.learning_rate = 0.125f;
  EXPECT_EQ(config.EffectiveLearningRate(), 0.125f);
}

TEST(RuleConfigTest, ValidateAndCreateRuleNameTheField) {
  struct Case {
    RuleConfig config;
    const char* field;
  };
  std::vector<Case> cases;
  auto add = [&](auto mutate, const char* field) {
    RuleConfig c;
    mutate(c);
    cases.push_back({c, field});
  };
  add([](RuleConfig& c) { c.learning_rate = -0.5f; }, "learning_rate");
  add([](RuleConfig& c) { c.learning_rate = NAN; }, "learning_rate");
  add([](RuleConfig& c) { c.learning_rate = INFINITY; }, "learning_rate");
  add([](RuleConfig& c) { c.adam_beta1 = 1.0f; }, "adam_beta1");
  add([](RuleConfig& c) { c.adam_beta1 = -0.1f; }, "adam_beta1");
  add([](RuleConfig& c) { c.adam_beta2 = 1.5f; }, "adam_beta2");
  add([](RuleConfig& c) { c.adam_epsilon = 0.0f; }, "adam_epsilon");
  add([](RuleConfig& c) { c.weight_alpha_gain = 0.0f; }, "weight_alpha_gain");
  add([](RuleConfig& c) { c.weight_alpha_gain = INFINITY; },
      "weight_alpha_gain");
  add([](RuleConfig& c) { c.bias_alpha = -1.0f; }, "bias_alpha");
  add([](RuleConfig& c) { c.shadow_margin = -0.1f; }, "shadow_margin");
  add([](RuleConfig& c) { c.shadow_margin = 10.0f; }, "shadow_margin");
  add([](RuleConfig& c) { c.device.p_fail = 2.0; }, "p_fail");
  add([](RuleConfig& c) { c.device.num_levels = 1; }, "num_levels");

  for (const Case& c : cases) {
    const absl::Status s = c.config.Validate();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(s.message(), HasSubstr(c.field));

    NetworkShape shape;
    shape.input_dim = 4;
    shape.hidden = {2};
    Network net(shape);
    absl::StatusOr<std::unique_ptr<LearningRule>> rule =
        CreateRule(c.config, 1, &net);
    ASSERT_FALSE(rule.ok()) << c.field;
    EXPECT_THAT(rule.status().message(), HasSubstr(c.field));

    ModelConfig model;
    model.shape = shape;
    model.rule = c.config;
    EXPECT_THAT(Autoencoder::Create(model).status().message(),
                HasSubstr(c.field));
  }

  const RuleConfig ok;
  EXPECT_TRUE(ok.Validate().ok()) << ok.Validate();
  RuleConfig zero_lr;
  zero_lr.learning_rate = 0.0f;
  EXPECT_TRUE(zero_lr.Validate().ok()) << zero_lr.Validate();
}

TEST(ModelConfigTest, InvalidShapeIsRejected) {
  ModelConfig config = SmallConfig(RuleKind::kDwStochastic, 1);
  config.shape.hidden = {};
  absl::StatusOr<std::unique_ptr<Autoencoder>> model =
      Autoencoder::Create(config);
  ASSERT_FALSE(model.ok());
  EXPECT_THAT(model.status().message(), HasSubstr("hidden"));
}

}  // namespace
}  // namespace dwae
