// InferenceNetwork: integer kernels exactly when the weights are device
// levels, scores within the documented tolerance of the float path, the
// float path otherwise.
#include "core/inference_network.h"

#include <cmath>
#include <memory>
#include <vector>

#include "core/model.h"
#include "core/rng.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

std::unique_ptr<Autoencoder> Trained(RuleKind kind, Activation activation,
                                     double level_sigma = 0) {
  ModelConfig config;
  config.shape.input_dim = 41;
  config.shape.hidden = {9, 6};
  config.shape.hidden_activation = activation;
  config.rule.kind = kind;
  config.rule.device.level_sigma = level_sigma;
  config.seed = 3;
  std::unique_ptr<Autoencoder> model = *Autoencoder::Create(config);
  Workspace ws = model->MakeWorkspace();
  Rng rng(5);
  std::vector<float> x(41);
  for (int step = 0; step < 300; ++step) {
    for (float& v : x) v = rng.Uniform() < 0.4 ? float(rng.Uniform()) : 0.0f;
    model->Learn(x.data(), &ws);
  }
  return model;
}

// Largest |integer score - float score| over random inputs in [0, 1] (and a
// few outside, which widen the quantization range).
double MaxScoreGap(const Autoencoder& model, const InferenceNetwork& net) {
  Workspace a = model.MakeWorkspace(), b = net.MakeWorkspace();
  Rng rng(11);
  std::vector<float> x(41);
  double gap = 0;
  for (int i = 0; i < 200; ++i) {
    for (float& v : x) v = rng.Uniform() < 0.4 ? float(rng.Uniform()) : 0.0f;
    if (i % 20 == 0) x[3] = 2.5f;
    const float want = model.network().Forward(x.data(), &a);
    const float got = net.Forward(x.data(), &b);
    gap = std::max(gap, double(std::abs(got - want)));
    // The per-dimension errors read from the same workspace layout.
    EXPECT_EQ(Network::Output(b).size(), 41);
  }
  return gap;
}

TEST(InferenceNetworkTest, DeviceLevelsRunIntegerKernelsWithinTolerance) {
  for (RuleKind kind : {RuleKind::kDwStochastic, RuleKind::kDwShadow}) {
    for (Activation act :
         {Activation::kSigmoid, Activation::kTanh, Activation::kRelu}) {
      std::unique_ptr<Autoencoder> model = Trained(kind, act);
      const InferenceNetwork net(model->network());
      EXPECT_TRUE(net.integer()) << RuleName(kind);
      // Documented in docs/performance.md: 8-bit inputs and activations.
      EXPECT_LT(MaxScoreGap(*model, net), 2e-3)
          << RuleName(kind) << " " << ActivationName(act);
    }
  }
}

TEST(InferenceNetworkTest, FloatWeightsAndDeviceSpreadKeepTheFloatPath) {
  for (const auto& model :
       {Trained(RuleKind::kFloat, Activation::kSigmoid),
        Trained(RuleKind::kDwStochastic, Activation::kSigmoid, 0.05)}) {
    const InferenceNetwork net(model->network());
    EXPECT_FALSE(net.integer());
    EXPECT_EQ(MaxScoreGap(*model, net), 0.0);
  }
}

// The fused pass (AVX-512 CPUs) against the layer-by-layer path: the same
// integer sums, so the scores differ only by float rounding, except where
// a hidden activation sits on a quantization boundary and the two sigmoids'
// last bits put it into neighbouring steps.
TEST(InferenceNetworkTest, FusedPassMatchesLayeredPath) {
  for (RuleKind kind : {RuleKind::kDwStochastic, RuleKind::kDwShadow}) {
    for (Activation act :
         {Activation::kSigmoid, Activation::kTanh, Activation::kRelu}) {
      std::unique_ptr<Autoencoder> model = Trained(kind, act);
      const InferenceNetwork net(model->network());
      ASSERT_TRUE(net.integer());
      if (!net.fused()) GTEST_SKIP() << "no AVX-512 on this CPU";
      Workspace a = net.MakeWorkspace(), b = net.MakeWorkspace();
      Rng rng(13);
      std::vector<float> x(41);
      int close = 0;
      const int n = 500;
      for (int i = 0; i < n; ++i) {
        for (float& v : x) v = rng.Uniform() < 0.4 ? float(rng.Uniform()) : 0;
        if (i % 25 == 0) x[7] = -1.5f;  // widens the input range
        const float want = net.ForwardLayered(x.data(), &a);
        const float got = net.Forward(x.data(), &b);
        EXPECT_NEAR(got, want, 1e-3) << RuleName(kind) << " " << i;
        close += std::abs(got - want) <= 1e-6f * want + 1e-9f ? 1 : 0;
        for (size_t l = 0; l < a.activations.size(); ++l) {
          ASSERT_EQ(a.activations[l].size(), b.activations[l].size());
        }
        EXPECT_EQ(a.activations[0], b.activations[0]);
      }
      EXPECT_GE(close, n * 9 / 10)
          << RuleName(kind) << " " << ActivationName(act);
    }
  }
}

// A workspace made by the Network (no integer buffers) still works.
TEST(InferenceNetworkTest, NetworkWorkspaceIsSizedOnFirstUse) {
  std::unique_ptr<Autoencoder> model =
      Trained(RuleKind::kDwStochastic, Activation::kSigmoid);
  const InferenceNetwork net(model->network());
  Workspace plain = model->MakeWorkspace(), made = net.MakeWorkspace();
  std::vector<float> x(41, 0.25f);
  EXPECT_EQ(net.Forward(x.data(), &plain), net.Forward(x.data(), &made));
}

TEST(InferenceNetworkTest, QuantizeInputRoundsToNearestStep) {
  const std::vector<float> v = {0.0f, 1.0f, 0.5f, 0.002f, 0.998f};
  std::vector<uint8_t> q(32, 7);
  const QuantizedRange r = QuantizeInput(v.data(), 5, 32, q.data());
  EXPECT_EQ(r.lo, 0.0f);
  EXPECT_FLOAT_EQ(r.step, 1.0f / 255);
  EXPECT_EQ(std::vector<int>(q.begin(), q.begin() + 6),
            (std::vector<int>{0, 255, 128, 1, 254, 0}));
  // Out of [0, 1]: the range widens to cover the values.
  const std::vector<float> wide = {-1.0f, 3.0f};
  const QuantizedRange w = QuantizeInput(wide.data(), 2, 32, q.data());
  EXPECT_EQ(w.lo, -1.0f);
  EXPECT_EQ(q[0], 0);
  EXPECT_EQ(q[1], 255);
}

}  // namespace
}  // namespace dwae
