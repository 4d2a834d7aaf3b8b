#include "core/threshold.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/rng.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

// ------------------------------------------------------------ Quantile ---

TEST(QuantileTest, MatchesNumpyLinearOnHandExamples) {
  const std::vector<float> v = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(Quantile(v, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(Quantile(v, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(Quantile(v, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(Quantile(v, 0.25), 1.75);
  EXPECT_NEAR(Quantile(v, 0.1), 1.3, 1e-12);  // np.quantile(.., 0.1)
  // Order of the input does not matter.
  EXPECT_DOUBLE_EQ(Quantile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_NEAR(Quantile({3, 1, 2}, 0.9), 2.8, 1e-12);
  // Repeated values.
  EXPECT_DOUBLE_EQ(Quantile({5, 1, 5, 5}, 0.5), 5.0);
  EXPECT_DOUBLE_EQ(Quantile({5, 1, 5, 5}, 0.2), 1.0 + 0.6 * 4.0);
  // One value, and none.
  EXPECT_DOUBLE_EQ(Quantile({7}, 0.3), 7.0);
  EXPECT_DOUBLE_EQ(Quantile({}, 0.5), 0.0);
  // q outside [0, 1] is clamped.
  EXPECT_DOUBLE_EQ(Quantile(v, -1.0), 1.0);
  EXPECT_DOUBLE_EQ(Quantile(v, 2.0), 4.0);
}

TEST(QuantileTest, MatchesSortedInterpolationOnRandomData) {
  Rng rng(5);
  for (int trial = 0; trial < 100; ++trial) {
    const int n = 1 + int(rng.Below(100));
    std::vector<float> v(n);
    for (float& x : v) x = float(rng.Below(20)) * 0.25f;  // with ties
    std::vector<float> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    const double q = rng.Uniform();
    const double pos = q * (n - 1);
    const int lo = int(std::floor(pos));
    const int hi = std::min(lo + 1, n - 1);
    const double expected = sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    EXPECT_NEAR(Quantile(v, q), expected, 1e-9) << "trial " << trial;
  }
}

// ------------------------------------------------------ ScoreHistogram ---

TEST(ScoreHistogramTest, Bins) {
  ScoreHistogram h;
  ASSERT_EQ(ScoreHistogram::kNumBins, 1000);
  ASSERT_EQ(h.counts().size(), 1000u);
  EXPECT_EQ(h.total(), 0.0);

  // Mid-bin scores land in the expected bins.
  h.Add(std::pow(10.0, -4.0 + 0.005));       // bin (−4 + 9) * 100 = 500
  h.Add(std::pow(10.0, -9.0 + 0.005));       // bin 0
  h.Add(std::pow(10.0, 0.995));              // bin 999
  h.Add(std::pow(10.0, -1.0 + 0.015), 2.5);  // bin 801, weighted
  EXPECT_EQ(h.counts()[500], 1.0);
  EXPECT_EQ(h.counts()[0], 1.0);
  EXPECT_EQ(h.counts()[999], 1.0);
  EXPECT_EQ(h.counts()[801], 2.5);
  EXPECT_DOUBLE_EQ(h.total(), 5.5);

  // Out of range and non-positive scores go to the end bins.
  h.Add(1e-20);
  h.Add(0.0);
  h.Add(-3.0);
  EXPECT_EQ(h.counts()[0], 4.0);
  h.Add(1e6);
  h.Add(10.0);
  EXPECT_EQ(h.counts()[999], 3.0);
  EXPECT_DOUBLE_EQ(h.total(), 10.5);

  // Upper edges: 10^(−9 + (bin + 1) / 100).
  EXPECT_NEAR(ScoreHistogram::BinUpperEdge(999), 10.0, 1e-12);
  EXPECT_NEAR(ScoreHistogram::BinUpperEdge(499), 1e-4, 1e-16);
  EXPECT_NEAR(ScoreHistogram::BinUpperEdge(0), std::pow(10.0, -8.99), 1e-20);
  // A score just below a bin's upper edge is in that bin.
  ScoreHistogram g;
  g.Add(ScoreHistogram::BinUpperEdge(300) * 0.999);
  EXPECT_EQ(g.counts()[300], 1.0);
}

TEST(ScoreHistogramTest, OtsuSplitsBimodalSample) {
  Rng rng(123);
  ScoreHistogram h;
  std::vector<double> low, high;
  for (int i = 0; i < 3000; ++i) {
    low.push_back(std::pow(10.0, -4.0 + 0.2 * rng.Normal()));
  }
  for (int i = 0; i < 1000; ++i) {
    high.push_back(std::pow(10.0, -1.0 + 0.2 * rng.Normal()));
  }
  for (double s : low) h.Add(s);
  for (double s : high) h.Add(s);
  const double cut = h.OtsuThreshold(-1.0);
  EXPECT_GT(cut, 1e-4);
  EXPECT_LT(cut, 1e-1);
  // The cut separates the two clusters exactly ('>' flags the high ones).
  EXPECT_GE(cut, *std::max_element(low.begin(), low.end()));
  EXPECT_LT(cut, *std::min_element(high.begin(), high.end()));
}

TEST(ScoreHistogramTest, OtsuFallbackWithFewerThanTwoOccupiedBins) {
  ScoreHistogram h;
  EXPECT_EQ(h.OtsuThreshold(0.25), 0.25);
  for (int i = 0; i < 100; ++i) h.Add(3e-3);
  EXPECT_EQ(h.OtsuThreshold(0.25), 0.25);
  h.Add(3e-2);
  EXPECT_NE(h.OtsuThreshold(0.25), 0.25);
  const double cut = h.OtsuThreshold(0.25);
  EXPECT_GE(cut, 3e-3);
  EXPECT_LT(cut, 3e-2);
}

TEST(ScoreHistogramTest, DecayScalesTotalAndCounts) {
  ScoreHistogram h;
  h.Add(1e-3, 4.0);
  h.Add(1e-1, 2.0);
  const std::vector<double> before = h.counts();
  h.Decay(0.25);
  EXPECT_DOUBLE_EQ(h.total(), 1.5);
  for (int b = 0; b < ScoreHistogram::kNumBins; ++b) {
    EXPECT_DOUBLE_EQ(h.counts()[b], 0.25 * before[b]) << b;
  }
  double sum = 0;
  for (double c : h.counts()) sum += c;
  EXPECT_DOUBLE_EQ(sum, h.total());
}

TEST(ScoreHistogramTest, SetCountsRecomputesTotal) {
  ScoreHistogram h;
  h.set_counts({1.0, 0.0, 2.5});
  EXPECT_EQ(h.counts().size(), size_t(ScoreHistogram::kNumBins));
  EXPECT_DOUBLE_EQ(h.total(), 3.5);
  EXPECT_EQ(h.counts()[2], 2.5);
  EXPECT_EQ(h.counts()[999], 0.0);
  // Two occupied bins: Otsu cuts after the first.
  EXPECT_DOUBLE_EQ(h.OtsuThreshold(-1.0), ScoreHistogram::BinUpperEdge(0));
}

// -------------------------------------------------- AdaptiveThreshold ---

TEST(AdaptiveThresholdTest, ClampsToBounds) {
  ScoreHistogram h;
  for (int i = 0; i < 100; ++i) h.Add(1e-4);
  for (int i = 0; i < 100; ++i) h.Add(1e-1);
  const double cut = h.OtsuThreshold(-1.0);
  ASSERT_GT(cut, 1e-4);
  ASSERT_LT(cut, 1e-1);
  // Inside the bounds: the cut itself.
  EXPECT_DOUBLE_EQ(AdaptiveThreshold(h, {1e-6, 1.0}), cut);
  // Bounds above the cut: the lower bound.
  EXPECT_DOUBLE_EQ(AdaptiveThreshold(h, {0.5, 0.9}), 0.5);
  // Bounds below the cut: the upper bound.
  EXPECT_DOUBLE_EQ(AdaptiveThreshold(h, {1e-7, 1e-5}), 1e-5);
  // Inverted bounds collapse to the lower one.
  EXPECT_DOUBLE_EQ(AdaptiveThreshold(h, {0.5, 1e-6}), 0.5);
}

TEST(AdaptiveThresholdTest, FallsBackToUpperBound) {
  ScoreHistogram empty;
  EXPECT_DOUBLE_EQ(AdaptiveThreshold(empty, {0.01, 0.2}), 0.2);
  ScoreHistogram single;
  single.Add(1e-3, 10);
  EXPECT_DOUBLE_EQ(AdaptiveThreshold(single, {0.01, 0.2}), 0.2);
}

TEST(ScoreHistogramTest, NonFiniteScoresGoToTheTopBin) {
  ScoreHistogram h;
  h.Add(std::numeric_limits<double>::infinity());
  h.Add(std::nan(""));
  EXPECT_EQ(h.counts()[ScoreHistogram::kNumBins - 1], 2.0);
  EXPECT_EQ(h.counts()[0], 0.0);
}

TEST(QuantileTest, NanQuantileIsTheMinimum) {
  EXPECT_DOUBLE_EQ(Quantile({3.0f, 1.0f, 2.0f}, std::nan("")), 1.0);
}

}  // namespace
}  // namespace dwae
