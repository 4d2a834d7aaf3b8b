// The two-layer register pass (inference_fused.h, ForwardTwoLayer) against
// the general fused pass: the same score and activations bit for bit, on
// random two-layer shapes around the default 125-32-125 (hidden 1-32 rows,
// 1-128 outputs), records inside [0, 1] (the register pass, from the floats
// and from their bytes as the encoder writes them) and outside it (its
// fallback), and the eligibility rules. Then every (hidden blocks, output
// blocks) pair the pass is compiled for, at its block edges, on edge
// records (no active quad, all bytes 255, NaN): the random shapes above
// draw no input dimension below 17, so they never ran the one-output-block
// functions (which the grouped ensembles' members of up to 16 inputs take).
// Both with InferenceNetwork's dense_inputs from none to past every input
// (the hidden layer's quads multiplied without the nonzero test, then the
// walk over the rest): speed only, so the same bits every time.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/casts.h"
#include "core/inference_fused.h"
#include "core/inference_network.h"
#include "core/int8_kernels.h"
#include "core/model.h"
#include "core/rng.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

// Rows as an encoder writes them: mostly zeros, some values in (0, 1], a few
// ones; with `outside`, every fifth row has a value outside [0, 1].
std::vector<float> Rows(int rows, int dim, bool outside, Rng* rng) {
  std::vector<float> x(size_t(rows) * dim);
  for (float& v : x) {
    const double u = rng->Uniform();
    v = u < 0.3 ? float(rng->Uniform()) : u < 0.35 ? 1.0f : 0.0f;
  }
  if (outside) {
    for (int r = 0; r < rows; r += 5) x[size_t(r) * dim + r % dim] = 1.5f;
  }
  return x;
}

std::unique_ptr<Autoencoder> Trained(int dim, int hidden, RuleKind kind,
                                     uint64_t seed) {
  ModelConfig config;
  config.shape.input_dim = dim;
  config.shape.hidden = {hidden};
  config.shape.hidden_activation = Activation::kSigmoid;
  config.rule.kind = kind;
  config.seed = seed;
  std::unique_ptr<Autoencoder> model = *Autoencoder::Create(config);
  Workspace ws = model->MakeWorkspace();
  Rng rng(seed + 7);
  const std::vector<float> rows = Rows(300, dim, false, &rng);
  for (int r = 0; r < 300; ++r) model->Learn(&rows[size_t(r) * dim], &ws);
  return model;
}

TEST(InferenceTwoLayerTest, RegisterPassIsTheGeneralPassBitForBit) {
  if (!CpuHasVnni()) GTEST_SKIP() << "no AVX512-VNNI on this CPU";
  Rng shapes(41);
  for (int trial = 0; trial < 30; ++trial) {
    // The default shape first, then random ones (row blocks 1-2 and 1-8).
    const int dim = trial == 0 ? 125 : 1 + int(shapes.Below(128));
    const int hidden = trial == 0 ? 32 : 1 + int(shapes.Below(32));
    const RuleKind kind =
        trial % 2 == 0 ? RuleKind::kDwStochastic : RuleKind::kDwShadow;
    std::unique_ptr<Autoencoder> model =
        Trained(dim, hidden, kind, 500 + trial);
    // None, some (the default's 38 numeric features first), all and more.
    const int dense =
        trial == 0 ? 38
                   : std::vector<int>{0, dim / 3, dim, dim + 40}[trial % 4];
    const InferenceNetwork net(model->network(), dense);
    ASSERT_TRUE(net.integer()) << "trial " << trial;
    ASSERT_TRUE(net.two_layer())
        << "trial " << trial << ": " << dim << "-" << hidden << "-" << dim;
    Rng rng(900 + trial);
    const int n = 60;
    const std::vector<float> rows = Rows(n, dim, true, &rng);
    Workspace got_ws = net.MakeWorkspace(), want_ws = net.MakeWorkspace();
    for (int i = 0; i < n; ++i) {
      const float* x = &rows[size_t(i) * dim];
      const float got = net.Forward(x, &got_ws);
      // The general pass (pair-layout kernels: the same integer sums).
      float want;
      {
        const inference_internal::ScopedForcePairKernels pairs;
        ASSERT_FALSE(net.two_layer());
        want = net.Forward(x, &want_ws);
      }
      ASSERT_EQ(absl::bit_cast<uint32_t>(got), absl::bit_cast<uint32_t>(want))
          << "trial " << trial << " record " << i << ": " << got << " vs "
          << want;
      ASSERT_EQ(got_ws.activations.size(), 3u);
      for (size_t l = 0; l < 3; ++l) {
        ASSERT_EQ(got_ws.activations[l], want_ws.activations[l])
            << "trial " << trial << " record " << i << " layer " << l;
      }
      // And within the fused pass's tolerance of the layer-by-layer path.
      Workspace layered = net.MakeWorkspace();
      EXPECT_NEAR(got, net.ForwardLayered(x, &layered), 1e-3);
      // From the bytes (the encoder's path), for records inside [0, 1]:
      // the same bits, on a workspace that held another record before.
      if (i % 5 == 0) continue;  // Rows() put a value outside [0, 1]
      std::vector<uint8_t> q(size_t(net.encoded_bytes()), 0xAB);
      QuantizeInput(x, dim, net.encoded_bytes(), q.data());
      Workspace encoded_ws = net.MakeWorkspace();
      net.Forward(&rows[size_t((i + 1) % n) * dim], &encoded_ws);
      const float from_bytes = net.ForwardEncoded(x, q.data(), &encoded_ws);
      ASSERT_EQ(absl::bit_cast<uint32_t>(from_bytes),
                absl::bit_cast<uint32_t>(want))
          << "trial " << trial << " record " << i;
      for (size_t l = 0; l < 3; ++l) {
        ASSERT_EQ(encoded_ws.activations[l], want_ws.activations[l])
            << "trial " << trial << " record " << i << " layer " << l;
      }
    }
  }
}

bool SameBits(const Eigen::VectorXf& a, const Eigen::VectorXf& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), size_t(a.size()) * sizeof(float)) == 0;
}

// EveryBlockPairAndEdgeRecords' records through the InferenceNetwork of
// `model` (dim-hidden-dim) with `dense` dense inputs, against the general
// pass.
void ExpectEdgeRecordsMatch(const Autoencoder& model, int dim, int hidden,
                            int dense, int seed) {
  const InferenceNetwork net(model.network(), dense);
  ASSERT_TRUE(net.integer());
  ASSERT_TRUE(net.two_layer()) << dim << "-" << hidden << "-" << dim;
  std::vector<std::vector<float>> records;
  records.push_back(std::vector<float>(dim, 0.0f));
  records.push_back(std::vector<float>(dim, 1.0f));
  records.push_back(std::vector<float>(dim, 0.0f));
  records.back()[0] = 1.0f;
  records.push_back(std::vector<float>(dim, 0.0f));
  records.back()[dim - 1] = 0.7f;
  for (int active = 1; active <= 6; ++active) {
    records.push_back(std::vector<float>(dim, 0.0f));
    for (int j = 0; j < active && 4 * j < dim; ++j) {
      records.back()[4 * j] = 0.5f;
    }
  }
  Rng rng(1000 + seed);
  const std::vector<float> random = Rows(20, dim, false, &rng);
  for (int r = 0; r < 20; ++r) {
    records.emplace_back(random.begin() + size_t(r) * dim,
                         random.begin() + size_t(r + 1) * dim);
  }
  records.push_back(records.back());
  records.back()[dim / 2] = std::numeric_limits<float>::quiet_NaN();
  const size_t nan_record = records.size() - 1;
  Workspace got_ws = net.MakeWorkspace(), want_ws = net.MakeWorkspace();
  Workspace encoded_ws = net.MakeWorkspace();
  for (size_t i = 0; i < records.size(); ++i) {
    const float* x = records[i].data();
    const float got = net.Forward(x, &got_ws);
    float want;
    {
      const inference_internal::ScopedForcePairKernels pairs;
      want = net.Forward(x, &want_ws);
    }
    ASSERT_EQ(absl::bit_cast<uint32_t>(got), absl::bit_cast<uint32_t>(want))
        << dim << "-" << hidden << " dense " << dense << " record " << i << ": "
        << got << " vs " << want;
    for (size_t l = 0; l < 3; ++l) {
      ASSERT_TRUE(SameBits(got_ws.activations[l], want_ws.activations[l]))
          << dim << "-" << hidden << " dense " << dense << " record " << i
          << " layer " << l;
    }
    if (i == nan_record) continue;
    // The encoder's bytes: (uint8)fma(v, 255, 0.5), zero past dim.
    std::vector<uint8_t> q(size_t(net.encoded_bytes()), 0);
    for (int c = 0; c < dim; ++c) {
      q[c] = static_cast<uint8_t>(std::fma(x[c], 255.0f, 0.5f));
    }
    const float from_bytes = net.ForwardEncoded(x, q.data(), &encoded_ws);
    ASSERT_EQ(absl::bit_cast<uint32_t>(from_bytes),
              absl::bit_cast<uint32_t>(want))
        << dim << "-" << hidden << " dense " << dense << " record " << i
        << " from the bytes";
    for (size_t l = 0; l < 3; ++l) {
      ASSERT_TRUE(SameBits(encoded_ws.activations[l], want_ws.activations[l]))
          << dim << "-" << hidden << " dense " << dense << " record " << i
          << " layer " << l << " from the bytes";
    }
  }
}

// Every (hidden row blocks, output row blocks) pair the register pass is
// compiled for (kHidden 1-2, kOut 1-8), with whole and partial last blocks
// and the smallest shapes, against the general pass bit for bit (score and
// activations, compared as bits), on edge records: all zero (no active
// quad), all one (bytes 255), one active input first or last, 1-6 active
// quads (the walk's steps in groups of 4), random ones, and a NaN
// (Forward only).
TEST(InferenceTwoLayerTest, EveryBlockPairAndEdgeRecords) {
  if (!CpuHasVnni()) GTEST_SKIP() << "no AVX512-VNNI on this CPU";
  std::vector<std::pair<int, int>> shapes = {
      {1, 1}, {2, 1}, {3, 32}, {4, 17}, {5, 2}};
  for (int out_blocks = 1; out_blocks <= 8; ++out_blocks) {
    const int whole = 16 * out_blocks, part = 16 * out_blocks - 5;
    shapes.push_back({whole, 16});
    shapes.push_back({part, 1});
    shapes.push_back({whole, 32});
    shapes.push_back({part, 17});
  }
  int seed = 0;
  for (const auto& [dim, hidden] : shapes) {
    ++seed;
    std::unique_ptr<Autoencoder> model = Trained(
        dim, hidden, seed % 2 ? RuleKind::kDwStochastic : RuleKind::kDwShadow,
        700 + seed);
    // 80 inputs: 20 quads, into the second register, then the walk.
    for (const int dense : {0, 17, 80, dim}) {
      ASSERT_NO_FATAL_FAILURE(
          ExpectEdgeRecordsMatch(*model, dim, hidden, dense, seed));
    }
  }
}

TEST(InferenceTwoLayerTest, OnlyTwoSigmoidLayersWithinTheRegisterSizes) {
  for (const auto& [dim, hidden, activation, eligible] :
       std::vector<std::tuple<int, std::vector<int>, Activation, bool>>{
           {125, {32}, Activation::kSigmoid, true},
           {147, {32}, Activation::kSigmoid, false},  // 147 outputs > 128
           {125, {33}, Activation::kSigmoid, false},  // 33 hidden rows > 32
           {125, {32, 16}, Activation::kSigmoid, false},
           {125, {32}, Activation::kTanh, false},
       }) {
    ModelConfig config;
    config.shape.input_dim = dim;
    config.shape.hidden = hidden;
    config.shape.hidden_activation = activation;
    config.rule.kind = RuleKind::kDwStochastic;
    config.seed = 3;
    std::unique_ptr<Autoencoder> model = *Autoencoder::Create(config);
    const InferenceNetwork net(model->network());
    ASSERT_TRUE(net.integer());
    EXPECT_EQ(net.two_layer(), eligible && CpuHasVnni())
        << dim << " " << hidden.size() << " " << hidden[0];
  }
}

}  // namespace
}  // namespace dwae
