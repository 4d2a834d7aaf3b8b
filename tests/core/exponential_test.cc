// StandardExponential (the ziggurat) must draw the exponential distribution
// with rate 1: its empirical distribution function against 1 - e^-x at fixed
// points, at every strip edge and in the tail (binomial bounds), the
// Kolmogorov-Smirnov distance over all draws, and the tables' construction.
#include "core/exponential.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/rng.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

using exponential_internal::kStripArea;
using exponential_internal::kStrips;
using exponential_internal::kTailStart;
using exponential_internal::Tables;

constexpr int kDraws = 2000000;

// x_i, the right edge of strip i >= 1.
double Edge(int i) { return Tables().width[i] * 9007199254740992.0; }

TEST(ExponentialTest, StripsHaveEqualAreaAndIncreasingEdges) {
  const auto& t = Tables();
  // The base: the rectangle under e^-r plus the tail.
  EXPECT_NEAR(kTailStart * std::exp(-kTailStart) + std::exp(-kTailStart),
              kStripArea, 1e-9);
  EXPECT_DOUBLE_EQ(Edge(kStrips - 1), kTailStart);
  EXPECT_GT(Edge(1), 0.0);
  for (int i = 1; i < kStrips; ++i) {
    if (i > 1) {
      EXPECT_LT(Edge(i - 1), Edge(i));
    }
    EXPECT_DOUBLE_EQ(t.f[i], std::exp(-Edge(i)));
    EXPECT_NEAR(Edge(i) * (t.f[i - 1] - t.f[i]), kStripArea, 1e-9) << i;
  }
}

class ExponentialDrawsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    draws_ = new std::vector<double>(kDraws);
    Rng rng(2024);
    for (double& x : *draws_) x = StandardExponential(rng);
    std::sort(draws_->begin(), draws_->end());
  }
  static void TearDownTestSuite() { delete draws_; }

  // Draws below x, against kDraws * (1 - e^-x) within 5 binomial standard
  // deviations.
  static void ExpectCdf(double x) {
    const double p = -std::expm1(-x);
    const double below = double(
        std::lower_bound(draws_->begin(), draws_->end(), x) - draws_->begin());
    const double sd = std::sqrt(kDraws * p * (1 - p));
    EXPECT_LE(std::abs(below - kDraws * p), 5 * sd + 1)
        << "x " << x << ": " << below << " draws below, expected "
        << kDraws * p;
  }

  static std::vector<double>* draws_;
};

std::vector<double>* ExponentialDrawsTest::draws_ = nullptr;

TEST_F(ExponentialDrawsTest, NonNegativeAndFinite) {
  EXPECT_GE(draws_->front(), 0.0);
  EXPECT_TRUE(std::isfinite(draws_->back()));
  EXPECT_GT(draws_->back(), kTailStart);  // the tail is reached
}

TEST_F(ExponentialDrawsTest, DistributionFunctionAtFixedPoints) {
  for (double x : {1e-4, 0.01, 0.1, 0.3, 0.5, 0.69, 1.0, 1.5, 2.0, 3.0, 4.0,
                   5.0, 6.0, 7.0, 7.5, 8.0, 9.0, 10.0, 12.0}) {
    ExpectCdf(x);
  }
}

TEST_F(ExponentialDrawsTest, DistributionFunctionAtEveryStripEdge) {
  for (int i = 1; i < kStrips; ++i) {
    ExpectCdf(Edge(i));
    // Just inside and outside each edge: the wedge and the quick accept meet
    // there.
    ExpectCdf(Edge(i) * (1 - 1e-3));
    ExpectCdf(Edge(i) * (1 + 1e-3));
  }
}

TEST_F(ExponentialDrawsTest, MeanVarianceAndKolmogorovSmirnov) {
  double sum = 0, sum2 = 0, ks = 0;
  for (int n = 0; n < kDraws; ++n) {
    const double x = (*draws_)[n];
    sum += x;
    sum2 += x * x;
    const double cdf = -std::expm1(-x);
    ks = std::max({ks, std::abs(cdf - double(n) / kDraws),
                   std::abs(cdf - double(n + 1) / kDraws)});
  }
  const double mean = sum / kDraws;
  EXPECT_NEAR(mean, 1.0, 5 / std::sqrt(double(kDraws)));  // sd of E is 1
  // Var(E) = 1; the sample variance's sd is sqrt(8 / n) for rate 1.
  EXPECT_NEAR(sum2 / kDraws - mean * mean, 1.0, 5 * std::sqrt(8.0 / kDraws));
  // sqrt(n) D < 1.95 at the 0.001 level.
  EXPECT_LT(std::sqrt(double(kDraws)) * ks, 1.95);
}

}  // namespace
}  // namespace dwae
