// The learning kernels against their scalar oracles, bit for bit, on random
// shapes (every row count from 1 to 140, so every partial vector and block),
// leading dimensions (packed, padded to 16 as a layer's weights are, and
// odd ones) whose padding holds NaN (a transposed product that read it would
// differ; the forward products mask those lanes on store, so only the
// sanitizer build sees them read past the matrix),
// sparse and dense inputs, NaN and signed zeros; and the oracles against a
// double-precision sum, so that the order they fix is still the product.
#include "core/learn_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "Eigen/Core"
#include "core/rng.h"
#include "gtest/gtest.h"

namespace dwae::learn_kernels {
namespace {

std::vector<float> RandomFloats(Rng& rng, size_t n, double zero_share) {
  std::vector<float> v(n);
  for (float& x : v) {
    x = rng.Uniform() < zero_share ? 0.0f : float(2 * rng.Uniform() - 1);
  }
  return v;
}

// A rows x cols column-major matrix with a random leading dimension (rows,
// rows rounded up to 16, or rows plus 1-19), the padding NaN.
std::vector<float> RandomMatrix(Rng& rng, int rows, int cols, int* ld) {
  const uint64_t kind = rng.Below(3);
  *ld = kind == 0   ? rows
        : kind == 1 ? (rows + 15) / 16 * 16
                    : rows + 1 + int(rng.Below(19));
  std::vector<float> w(size_t(*ld) * cols,
                       std::numeric_limits<float>::quiet_NaN());
  for (int j = 0; j < cols; ++j) {
    for (int i = 0; i < rows; ++i) {
      w[size_t(j) * *ld + i] = float(2 * rng.Uniform() - 1);
    }
  }
  return w;
}

// Bitwise equality, so that -0 and NaN payloads count too.
void ExpectSameBits(const std::vector<float>& want,
                    const std::vector<float>& got, const char* what, int rows,
                    int cols) {
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    uint32_t a, b;
    std::memcpy(&a, &want[i], 4);
    std::memcpy(&b, &got[i], 4);
    ASSERT_EQ(a, b) << what << " rows " << rows << " cols " << cols
                    << " element " << i << ": want " << want[i] << " got "
                    << got[i];
  }
}

// Runs each test once per instruction set: the dispatching functions then
// take that set's path (the reference path compares the oracle with itself
// and checks it against double precision).
class LearnKernelsTest : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (GetParam() > BestIsa()) GTEST_SKIP() << "this CPU lacks the ISA";
    SetIsaForTesting(GetParam());
  }
  void TearDown() override { SetIsaForTesting(BestIsa()); }
};

TEST_P(LearnKernelsTest, NonZeroIndicesMatchReference) {
  Rng rng(1);
  // Shares of zeros: none (every 16-lane block all selected), the learning
  // step's usual sparsity, all (no lane selected).
  for (double zero_share : {0.0, 0.8, 1.0}) {
    for (int n = 0; n <= 140; ++n) {
      std::vector<float> x = RandomFloats(rng, n, zero_share);
      if (n > 3) x[3] = std::numeric_limits<float>::quiet_NaN();
      if (n > 5) x[5] = -0.0f;
      std::vector<int> want(n), got(n);
      const int nw = ReferenceNonZeroIndices(x.data(), n, want.data());
      const int ng = NonZeroIndices(x.data(), n, got.data());
      ASSERT_EQ(nw, ng) << "n " << n << " zero share " << zero_share;
      for (int k = 0; k < nw; ++k) {
        ASSERT_EQ(want[k], got[k]) << "n " << n << " zero share " << zero_share;
        ASSERT_NE(x[want[k]], 0.0f);
      }
      int expected = 0;
      for (float v : x) expected += v != 0.0f ? 1 : 0;  // NaN counts
      EXPECT_EQ(nw, expected);
    }
  }
}

TEST_P(LearnKernelsTest, ForwardProductsMatchReference) {
  Rng rng(2);
  for (int rows = 1; rows <= 140; ++rows) {
    const int cols = 1 + int(rng.Below(40));
    int ld;
    const std::vector<float> w = RandomMatrix(rng, rows, cols, &ld);
    const std::vector<float> x = RandomFloats(rng, cols, 0.7);
    const std::vector<float> bias = RandomFloats(rng, rows, 0.0);
    std::vector<int> idx(cols);
    const int n = ReferenceNonZeroIndices(x.data(), cols, idx.data());

    std::vector<float> want = bias, got = bias;
    ReferenceAccumulateColumns(w.data(), rows, ld, idx.data(), n, x.data(),
                               want.data());
    AccumulateColumns(w.data(), rows, ld, idx.data(), n, x.data(), got.data());
    ExpectSameBits(want, got, "AccumulateColumns", rows, cols);

    std::vector<float> dense_want(rows), dense_got(rows, -1.0f);
    ReferenceDenseForward(w.data(), rows, ld, cols, x.data(), bias.data(),
                          dense_want.data());
    DenseForward(w.data(), rows, ld, cols, x.data(), bias.data(),
                 dense_got.data());
    ExpectSameBits(dense_want, dense_got, "DenseForward", rows, cols);
    for (int i = 0; i < rows; ++i) {
      double sum = bias[i];
      for (int j = 0; j < cols; ++j) sum += double(w[j * ld + i]) * x[j];
      ASSERT_NEAR(dense_want[i], sum, 1e-5) << "rows " << rows;
      // Zero inputs add nothing: the sparse and dense sums agree.
      ASSERT_NEAR(want[i], sum, 1e-5) << "rows " << rows;
    }
  }
}

TEST_P(LearnKernelsTest, TransposedProductMatchesReference) {
  Rng rng(3);
  for (int rows = 1; rows <= 140; ++rows) {
    const int cols = 1 + int(rng.Below(40));
    int ld;
    const std::vector<float> w = RandomMatrix(rng, rows, cols, &ld);
    const std::vector<float> d = RandomFloats(rng, rows, 0.1);
    std::vector<float> want(cols), got(cols, -1.0f);
    ReferenceTransposedProduct(w.data(), rows, ld, cols, d.data(), want.data());
    TransposedProduct(w.data(), rows, ld, cols, d.data(), got.data());
    ExpectSameBits(want, got, "TransposedProduct", rows, cols);
    for (int j = 0; j < cols; ++j) {
      double sum = 0;
      for (int i = 0; i < rows; ++i) sum += double(w[j * ld + i]) * d[i];
      ASSERT_NEAR(want[j], sum, 1e-5) << "rows " << rows << " col " << j;
    }

    // Times the sigmoid's derivative: the oracle is the product followed by
    // Eigen's elementwise pass, as the backward pass ran it.
    std::vector<float> y = RandomFloats(rng, cols, 0.0);
    for (float& v : y) v = 0.5f + 0.5f * v;  // a sigmoid's range
    Eigen::VectorXf scaled =
        Eigen::Map<const Eigen::VectorXf>(want.data(), cols);
    scaled.array() *= Eigen::Map<const Eigen::ArrayXf>(y.data(), cols) *
                      (1.0f - Eigen::Map<const Eigen::ArrayXf>(y.data(), cols));
    std::vector<float> sig_want(cols), sig_got(cols, -1.0f);
    ReferenceTransposedProductSigmoid(w.data(), rows, ld, cols, d.data(),
                                      y.data(), sig_want.data());
    ExpectSameBits(std::vector<float>(scaled.begin(), scaled.end()), sig_want,
                   "ReferenceTransposedProductSigmoid", rows, cols);
    TransposedProductSigmoid(w.data(), rows, ld, cols, d.data(), y.data(),
                             sig_got.data());
    ExpectSameBits(sig_want, sig_got, "TransposedProductSigmoid", rows, cols);
  }
}

// Sigmoid must return Eigen's bits (its reference is the Eigen expression
// the forward pass used before), on aligned vectors of every length from 0
// to 140, wide and narrow ranges, the clamp edges, zeros, infinities, NaN.
TEST_P(LearnKernelsTest, SigmoidMatchesEigenBitForBit) {
  Rng rng(5);
  const float specials[] = {0.0f,
                            -0.0f,
                            88.723f,
                            -88.723f,
                            88.8f,
                            -88.8f,
                            87.0f,
                            -87.0f,
                            1e-30f,
                            -1e-30f,
                            1e-45f,
                            30.0f,
                            -30.0f,
                            0.5f,
                            -0.5f,
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN()};
  for (int n = 0; n <= 140; ++n) {
    for (int round = 0; round < 30; ++round) {
      Eigen::VectorXf z(n);
      for (int i = 0; i < n; ++i) {
        const double u = 2 * rng.Uniform() - 1;
        switch (rng.Below(4)) {
          case 0:
            z[i] = float(120 * u);
            break;
          case 1:
            z[i] = float(10 * u);
            break;
          case 2:
            z[i] = float(1e-3 * u);
            break;
          default:
            z[i] = specials[rng.Below(sizeof(specials) / sizeof(float))];
        }
      }
      Eigen::VectorXf want = z, got = z;
      want = (1.0f + (-want.array()).exp()).inverse().matrix();  // as before
      Sigmoid(got.data(), n);
      for (int i = 0; i < n; ++i) {
        uint32_t a, b;
        std::memcpy(&a, &want[i], 4);
        std::memcpy(&b, &got[i], 4);
        if (std::isnan(want[i]) && std::isnan(got[i])) continue;
        ASSERT_EQ(a, b) << "n " << n << " element " << i << " z " << z[i]
                        << ": want " << want[i] << " got " << got[i];
      }
      Eigen::VectorXf ref = z;  // aligned, as Eigen allocates
      ReferenceSigmoid(ref.data(), n);
      for (int i = 0; i < n; ++i) {
        if (!std::isnan(want[i])) {
          ASSERT_EQ(ref[i], want[i]) << i;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, LearnKernelsTest,
                         ::testing::Values(Isa::kReference, Isa::kAvx2,
                                           Isa::kAvx512),
                         [](const ::testing::TestParamInfo<Isa>& info) {
                           return std::string(IsaName(info.param));
                         });

}  // namespace
}  // namespace dwae::learn_kernels
