// SampleOuterBernoulli must draw exactly the distribution of one independent
// Bernoulli(min(1, c_j * d_i)) trial per grid cell (its oracle,
// ReferenceOuterBernoulli). Checked statistically with fixed seeds: each
// cell's success count, pairs of neighbouring cells (independence across a
// skip) and the per-sample total, against exact binomial expectations.
// AbsWithMax and ScaledAbsWithMax, whose maxima the dw-stochastic rule hands
// to SampleOuterBernoulliWithMax, give MaxNonNegative's bits on NaN,
// infinities and -0, so the sampler draws as from MaxNonNegative.
#include "core/pulse_sampler.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "core/rng.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

constexpr int kRows = 7;
constexpr int kSamples = 200000;

struct Tally {
  std::vector<double> cell;     // successes per cell
  std::vector<double> pair;     // both cell k and k + 1 succeeded
  std::vector<int> last_index;  // visit order check
  bool in_order = true;
};

// Runs the sampler kSamples times on the grid (d, c).
Tally Run(const std::vector<float>& d, const std::vector<float>& c,
          uint64_t seed) {
  const int n = kRows * int(c.size());
  Tally t{std::vector<double>(n), std::vector<double>(n), {}, true};
  Rng rng(seed);
  std::vector<char> hit(n);
  for (int s = 0; s < kSamples; ++s) {
    std::fill(hit.begin(), hit.end(), 0);
    int previous = -1;
    SampleOuterBernoulli(d.data(), kRows, c.data(), int(c.size()), rng,
                         [&](int j, int i) {
                           const int k = j * kRows + i;
                           t.in_order = t.in_order && k > previous;
                           previous = k;
                           hit[k] = 1;
                         });
    for (int k = 0; k < n; ++k) {
      t.cell[k] += hit[k];
      if (k + 1 < n) t.pair[k] += hit[k] && hit[k + 1];
    }
  }
  return t;
}

double Probability(const std::vector<float>& d, const std::vector<float>& c,
                   int k) {
  return std::min(1.0, double(c[k / kRows]) * double(d[k % kRows]));
}

// |observed - expected| within 5 binomial standard deviations (plus one
// count, for probabilities near 0 or 1).
void ExpectBinomial(double observed, double p, const char* what, int k) {
  const double mean = kSamples * p;
  const double sd = std::sqrt(kSamples * p * (1 - p));
  EXPECT_LE(std::abs(observed - mean), 5 * sd + 1)
      << what << " " << k << ": p=" << p << " observed " << observed;
}

void ExpectDistribution(const std::vector<float>& d,
                        const std::vector<float>& c) {
  const Tally t = Run(d, c, 42);
  EXPECT_TRUE(t.in_order);
  for (int k = 0; k < int(t.cell.size()); ++k) {
    ExpectBinomial(t.cell[k], Probability(d, c, k), "cell", k);
    if (k + 1 < int(t.cell.size())) {
      ExpectBinomial(t.pair[k], Probability(d, c, k) * Probability(d, c, k + 1),
                     "pair", k);
    }
  }
}

const std::vector<float> kDeltas = {0.0f, 0.01f, 0.3f, 1.0f, 0.05f, 0.7f, 0.2f};

TEST(PulseSamplerTest, SparseGridMatchesIndependentBernoulli) {
  // p_max = 0.2: the geometric-skip path; p ranges over 0 .. 0.2.
  ExpectDistribution(kDeltas, {0.2f, 0.05f, 0.0f, 0.11f, 0.2f});
}

TEST(PulseSamplerTest, TinyProbabilitiesMatchIndependentBernoulli) {
  ExpectDistribution(kDeltas, {0.02f, 0.004f, 0.01f});
}

TEST(PulseSamplerTest, DenseGridMatchesIndependentBernoulliAndCapsAtOne) {
  // p_max = 3: the dense path, with probabilities capped at 1.
  ExpectDistribution(kDeltas, {3.0f, 0.5f, 1.0f});
}

TEST(PulseSamplerTest, RoundedSkipRateBoundsTheRateFromAbove) {
  Rng rng(3);
  std::vector<double> rates = {0.25,    0.125,      0.1875, 1e-30,
                               0x1p-64, 0x1.01p-64, 1e-3};
  for (int k = 0; k < 100000; ++k) {
    rates.push_back(0.25 * std::ldexp(rng.UniformOpen(), -int(rng.Below(70))));
  }
  for (double p_max : rates) {
    const SkipRate r = RoundedSkipRate(p_max);
    ASSERT_GE(r.p, p_max);
    ASSERT_LE(r.p, p_max * (1 + 1.0 / 16)) << p_max;
    ASSERT_LE(r.p, 0.25);
    ASSERT_EQ(r.per_lambda, -1.0 / std::log1p(-r.p)) << p_max;
  }
  // Grid points are kept as they are.
  EXPECT_EQ(RoundedSkipRate(0.1875).p, 0.1875);
  EXPECT_EQ(RoundedSkipRate(0x1.1p-20).p, 0x1.1p-20);
  EXPECT_EQ(RoundedSkipRate(0x1.11p-20).p, 0x1.2p-20);
}

TEST(PulseSamplerTest, LayerSizedGridVisitsEachCellInOrderAtItsRate) {
  // 125 x 33 (a layer's weights and biases): row and column come from a
  // multiplication by 1 / rows; every cell must be reached, in order, at
  // p = 0.2 (0.203125 candidates, thinned back).
  constexpr int kLayerRows = 125, kCols = 33, kRuns = 4000;
  const std::vector<float> d(kLayerRows, 0.5f), c(kCols, 0.4f);
  std::vector<double> hits(kLayerRows * kCols);
  Rng rng(9);
  bool in_order = true;
  for (int s = 0; s < kRuns; ++s) {
    int previous = -1;
    SampleOuterBernoulli(
        d.data(), kLayerRows, c.data(), kCols, rng, [&](int j, int i) {
          ASSERT_TRUE(j >= 0 && j < kCols && i >= 0 && i < kLayerRows);
          const int k = j * kLayerRows + i;
          in_order = in_order && k > previous;
          previous = k;
          hits[k] += 1;
        });
  }
  EXPECT_TRUE(in_order);
  double total = 0;
  for (int k = 0; k < kLayerRows * kCols; ++k) {
    total += hits[k];
    ASSERT_GT(hits[k], 0) << k;
  }
  const double n = double(kRuns) * kLayerRows * kCols;
  EXPECT_LE(std::abs(total - 0.2 * n), 5 * std::sqrt(n * 0.2 * 0.8));
}

TEST(PulseSamplerTest, ZeroRatesNeverVisit) {
  Rng rng(1);
  const std::vector<float> c = {0.0f, 0.0f};
  int visits = 0;
  SampleOuterBernoulli(kDeltas.data(), kRows, c.data(), 2, rng,
                       [&](int, int) { ++visits; });
  EXPECT_EQ(visits, 0);
}

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

float FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Values whose |x| or maximum a float max (NaN rules, -0 < 0 or not) could
// get wrong: NaNs of both signs and with payloads, infinities, -0,
// denormals.
std::vector<float> EdgeValues() {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  return {0.0f,
          -0.0f,
          0.25f,
          -0.75f,
          FromBits(0x00000001u),  // the smallest denormal
          FromBits(0x80000003u),
          kInf,
          -kInf,
          std::numeric_limits<float>::quiet_NaN(),
          FromBits(0xffc00000u),  // x86's default NaN (negative)
          FromBits(0x7fc12345u),  // a payload
          FromBits(0xff812345u),
          std::numeric_limits<float>::max(),
          -1e-30f};
}

// Every window [first, first + n) of the edge values, n >= 1, so each value
// is the maximum, comes before it and after it.
template <typename Check>
void ForEachWindow(const std::vector<float>& v, Check check) {
  for (size_t first = 0; first < v.size(); ++first) {
    for (size_t n = 1; first + n <= v.size(); ++n) {
      check(&v[first], int(n));
    }
  }
}

TEST(PulseSamplerTest, AbsWithMaxIsMaxNonNegativeOfAbsBitwise) {
  const std::vector<float> edges = EdgeValues();
  ForEachWindow(edges, [](const float* x, int n) {
    std::vector<float> out(n), abs(n);
    const float max = AbsWithMax(x, n, out.data());
    for (int i = 0; i < n; ++i) {
      abs[i] = std::fabs(x[i]);  // clears the sign bit, NaNs included
      ASSERT_EQ(Bits(out[i]), Bits(abs[i])) << i << " of " << n;
    }
    ASSERT_EQ(Bits(max), Bits(MaxNonNegative(abs.data(), n))) << n;
  });
  // A NaN wins wherever it is; -0 counts as 0.
  const float nan_first[] = {std::numeric_limits<float>::quiet_NaN(), 3.0f};
  float out[2];
  EXPECT_TRUE(std::isnan(AbsWithMax(nan_first, 2, out)));
  const float zeros[] = {-0.0f, -0.0f};
  EXPECT_EQ(Bits(AbsWithMax(zeros, 2, out)), 0u);
}

TEST(PulseSamplerTest, ScaledAbsWithMaxIsMaxNonNegativeOfRatesBitwise) {
  const std::vector<float> edges = EdgeValues();
  // 0 * inf is a NaN (negative on x86): the maximum must still be
  // MaxNonNegative's.
  for (const float scale : {0.0f, 0.5f, 3.0f, 1e30f}) {
    ForEachWindow(edges, [&](const float* a, int n) {
      std::vector<float> want(n), got(n), gathered(n);
      std::vector<int> idx(n);
      for (int k = 0; k < n; ++k) {
        want[k] = scale * std::fabs(a[k]);
        idx[k] = n - 1 - k;  // reversed
      }
      const float max =
          ScaledAbsWithMax<false>(scale, a, nullptr, n, got.data());
      const float gathered_max =
          ScaledAbsWithMax<true>(scale, a, idx.data(), n, gathered.data());
      for (int k = 0; k < n; ++k) {
        ASSERT_EQ(Bits(got[k]), Bits(want[k])) << scale << " " << k;
        ASSERT_EQ(Bits(gathered[k]), Bits(want[n - 1 - k]))
            << scale << " " << k;
      }
      const uint32_t want_max = Bits(MaxNonNegative(want.data(), n));
      ASSERT_EQ(Bits(max), want_max) << scale << " " << n;
      ASSERT_EQ(Bits(gathered_max), want_max) << scale << " " << n;
    });
  }
  EXPECT_EQ(Bits(ScaledAbsWithMax<false>(2.0f, nullptr, nullptr, 0, nullptr)),
            0u);
}

}  // namespace
}  // namespace dwae
