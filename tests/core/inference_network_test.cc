// InferenceNetwork: integer kernels exactly when the weights are device
// levels, scores within the documented tolerance of the float path, the
// float path otherwise.
#include "core/inference_network.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <tuple>
#include <vector>

#include "core/inference_fused.h"
#include "core/int8_kernels.h"
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

namespace sigmoid_tables {

using inference_internal::BuildSigmoidTables;
using inference_internal::IntLayer;

// A sigmoid layer of `rows` x `cols` random levels in [-2, 2] (the first
// row all at +2, so that its sum of |k| is the largest possible) with
// biases in [-3, 3].
IntLayer RandomLayer(int rows, int cols, float unit, uint64_t seed) {
  Rng rng(seed);
  std::vector<int8_t> k(size_t(rows) * cols);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      k[size_t(r) * cols + c] = r == 0 ? 2 : int8_t(int(rng.Below(5)) - 2);
    }
  }
  IntLayer layer;
  layer.levels = PackedLevels(k.data(), rows, cols);
  layer.bias.assign(size_t(layer.levels.row_blocks()) * kInt8RowBlock, 0.0f);
  for (int r = 0; r < rows; ++r) {
    layer.bias[r] = float(rng.Uniform() * 6 - 3);
  }
  layer.unit = unit;
  layer.activation = Activation::kSigmoid;
  layer.max_abs_row_sum = 2 * cols;
  return layer;
}

// Every sum a row can take, 16 rows at a time, against the sigmoid of the
// exact pre-activation bias + unit * acc / 255 in double precision.
double MaxTableError(const IntLayer& layer) {
  const int32_t offset = layer.sigmoid_tables.offset;
  double worst = 0;
  int32_t acc[16];
  float y[16];
  for (int first = 0; first < layer.levels.rows(); first += 16) {
    for (int32_t a = -offset; a <= offset; ++a) {
      for (int i = 0; i < 16; ++i) acc[i] = a;
      inference_internal::SigmoidFromTablesForTesting(layer, first, acc, y);
      for (int i = 0; i < 16 && first + i < layer.levels.rows(); ++i) {
        const double z = double(layer.bias[first + i]) +
                         double(layer.unit) * double(a) / 255.0;
        worst =
            std::max(worst, std::abs(double(y[i]) - 1 / (1 + std::exp(-z))));
      }
    }
  }
  return worst;
}

TEST(SigmoidTablesTest, EverySumWithinTheDerivedBound) {
  if (!inference_internal::CpuHasFusedForward()) {
    GTEST_SKIP() << "no AVX-512 on this CPU";
  }
  // 3 digits (16 inputs: |acc| <= 8160) and 4 (125 inputs, the encoded
  // record: |acc| <= 63750); rows not a multiple of 16.
  for (const auto& [rows, cols, unit, digits] :
       {std::tuple{20, 16, 0.3f, 3}, std::tuple{37, 125, 0.05f, 4}}) {
    IntLayer layer = RandomLayer(rows, cols, unit, 17);
    BuildSigmoidTables(&layer);
    ASSERT_TRUE(layer.sigmoid_tables.usable);
    EXPECT_EQ(layer.sigmoid_tables.digits, digits);
    EXPECT_EQ(layer.sigmoid_tables.offset, 255 * 2 * cols);
    // inference_fused.h: 9 * 2^-26 from the tables and products, 2^-24
    // from 1 + e, 2^-23 from the reciprocal.
    EXPECT_LE(MaxTableError(layer), (9.0 / 4 + 1 + 2) * std::ldexp(1.0, -24))
        << rows << "x" << cols;
  }
}

TEST(SigmoidTablesTest, OnlyForSigmoidLayersWithinRange) {
  IntLayer tanh_layer = RandomLayer(8, 16, 0.3f, 1);
  tanh_layer.activation = Activation::kTanh;
  BuildSigmoidTables(&tanh_layer);
  EXPECT_FALSE(tanh_layer.sigmoid_tables.usable);
  // |z| up to 2 * 125 * 1.0 = 250: e^-z leaves the normal floats.
  IntLayer steep = RandomLayer(8, 125, 1.0f, 1);
  BuildSigmoidTables(&steep);
  EXPECT_FALSE(steep.sigmoid_tables.usable);
  // 255 * 2 * 2100 * 2 >= 2^20: more than 4 digits.
  IntLayer wide = RandomLayer(8, 2100, 0.001f, 1);
  BuildSigmoidTables(&wide);
  EXPECT_FALSE(wide.sigmoid_tables.usable);
}

}  // namespace sigmoid_tables

}  // namespace
}  // namespace dwae
