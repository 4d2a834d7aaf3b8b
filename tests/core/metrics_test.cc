#include "core/metrics.h"

#include <cmath>
#include <set>
#include <vector>

#include "core/rng.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

TEST(ConfusionTest, HandMadeExample) {
  Confusion c;
  // 3 TP, 1 FN, 2 FP, 4 TN.
  for (int i = 0; i < 3; ++i) c.Add(true, true);
  c.Add(false, true);
  for (int i = 0; i < 2; ++i) c.Add(true, false);
  for (int i = 0; i < 4; ++i) c.Add(false, false);
  EXPECT_EQ(c.tp, 3u);
  EXPECT_EQ(c.fn, 1u);
  EXPECT_EQ(c.fp, 2u);
  EXPECT_EQ(c.tn, 4u);
  EXPECT_EQ(c.total(), 10u);
  EXPECT_DOUBLE_EQ(c.accuracy(), 7.0 / 10);
  EXPECT_DOUBLE_EQ(c.precision(), 3.0 / 5);
  EXPECT_DOUBLE_EQ(c.recall(), 3.0 / 4);
  EXPECT_DOUBLE_EQ(c.fpr(), 2.0 / 6);
  // 2 P R / (P + R) = 2 * 0.6 * 0.75 / 1.35.
  EXPECT_DOUBLE_EQ(c.f1(), 2 * 0.6 * 0.75 / 1.35);
}

TEST(ConfusionTest, EmptyDenominatorsAreZero) {
  Confusion empty;
  EXPECT_EQ(empty.accuracy(), 0.0);
  EXPECT_EQ(empty.precision(), 0.0);
  EXPECT_EQ(empty.recall(), 0.0);
  EXPECT_EQ(empty.f1(), 0.0);
  EXPECT_EQ(empty.fpr(), 0.0);

  Confusion only_normal;
  only_normal.Add(false, false);
  only_normal.Add(true, false);
  EXPECT_EQ(only_normal.recall(), 0.0);
  EXPECT_EQ(only_normal.precision(), 0.0);
  EXPECT_DOUBLE_EQ(only_normal.fpr(), 0.5);
  EXPECT_DOUBLE_EQ(only_normal.accuracy(), 0.5);
}

TEST(ClassifyTest, UsesStrictGreaterThan) {
  const std::vector<float> scores = {0.1f, 0.5f, 0.5f, 0.9f};
  const std::vector<bool> labels = {false, true, false, true};
  Confusion c = Classify(scores, labels, 0.5);
  // Scores equal to the threshold are normal.
  EXPECT_EQ(c.tp, 1u);
  EXPECT_EQ(c.fn, 1u);
  EXPECT_EQ(c.fp, 0u);
  EXPECT_EQ(c.tn, 2u);

  c = Classify(scores, labels, std::nextafter(0.5f, 0.0f));
  EXPECT_EQ(c.tp, 2u);
  EXPECT_EQ(c.fp, 1u);
  EXPECT_EQ(c.tn, 1u);
  EXPECT_EQ(c.fn, 0u);

  c = Classify(scores, labels, 0.9);
  EXPECT_EQ(c.tp + c.fp, 0u);
}

TEST(RocAucTest, HandCases) {
  // Perfect separation.
  EXPECT_DOUBLE_EQ(RocAuc({0.1f, 0.2f, 0.8f, 0.9f}, {false, false, true, true}),
                   1.0);
  // Reversed.
  EXPECT_DOUBLE_EQ(RocAuc({0.1f, 0.2f, 0.8f, 0.9f}, {true, true, false, false}),
                   0.0);
  // All ties.
  EXPECT_DOUBLE_EQ(
      RocAuc({0.3f, 0.3f, 0.3f, 0.3f, 0.3f}, {true, false, false, true, false}),
      0.5);
  // One class missing.
  EXPECT_DOUBLE_EQ(RocAuc({0.1f, 0.9f}, {false, false}), 0.5);
  EXPECT_DOUBLE_EQ(RocAuc({0.1f, 0.9f}, {true, true}), 0.5);
  EXPECT_DOUBLE_EQ(RocAuc({}, {}), 0.5);
  // Positives {0.5, 0.7, 0.2}, negatives {0.5, 0.1, 0.3}. Pairs (p > n
  // counts 1, ties 1/2):
  //   0.5: > 0.1, > 0.3, = 0.5 -> 2.5
  //   0.7: beats all three   -> 3
  //   0.2: > 0.1 only         -> 1
  // AUC = 6.5 / 9.
  EXPECT_DOUBLE_EQ(RocAuc({0.5f, 0.5f, 0.7f, 0.1f, 0.2f, 0.3f},
                          {true, false, true, false, true, false}),
                   6.5 / 9);
  // Ties across both classes at two values: P {1, 1, 2}, N {1, 2, 2}.
  //   1: = 1 -> 0.5 each, twice -> 1
  //   2: > 1, = 2, = 2 -> 2
  // AUC = 3 / 9.
  EXPECT_DOUBLE_EQ(
      RocAuc({2, 1, 1, 2, 1, 2}, {false, true, true, true, false, false}),
      3.0 / 9);
}

double BruteForceAuc(const std::vector<float>& s, const std::vector<bool>& y) {
  double wins = 0;
  int64_t pairs = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!y[i]) continue;
    for (size_t j = 0; j < s.size(); ++j) {
      if (y[j]) continue;
      ++pairs;
      wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
    }
  }
  return pairs == 0 ? 0.5 : wins / double(pairs);
}

TEST(RocAucTest, MatchesBruteForceOnRandomData) {
  Rng rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    const int n = 1 + int(rng.Below(300));
    // Few distinct values in some trials, to exercise ties.
    const int levels = trial % 2 == 0 ? 5 : 1000000;
    std::vector<float> scores(n);
    std::vector<bool> labels(n);
    for (int i = 0; i < n; ++i) {
      labels[i] = rng.Uniform() < 0.3;
      // Positives are shifted up so the AUC is not always near 0.5.
      const double base = double(rng.Below(levels)) / levels;
      scores[i] = float(labels[i] ? base * 0.7 + 0.3 : base);
    }
    EXPECT_NEAR(RocAuc(scores, labels), BruteForceAuc(scores, labels), 1e-12)
        << "trial " << trial << " n " << n;
  }
}

// Best accuracy over thresholds at every distinct score and below all.
double BruteForceOracle(const std::vector<float>& s,
                        const std::vector<bool>& y) {
  std::set<double> candidates(s.begin(), s.end());
  double best = 0;
  for (double t : candidates)
    best = std::max(best, Classify(s, y, t).accuracy());
  best = std::max(best, Classify(s, y, -1e30).accuracy());
  return best;
}

TEST(OracleAccuracyTest, MatchesBruteForceOnRandomData) {
  Rng rng(11);
  for (int trial = 0; trial < 50; ++trial) {
    const int n = 1 + int(rng.Below(200));
    const int levels = trial % 2 == 0 ? 7 : 1000000;
    std::vector<float> scores(n);
    std::vector<bool> labels(n);
    const double attack_rate = 0.1 + 0.8 * rng.Uniform();
    for (int i = 0; i < n; ++i) {
      labels[i] = rng.Uniform() < attack_rate;
      const double base = double(rng.Below(levels)) / levels;
      scores[i] = float(labels[i] ? base * 0.6 + 0.4 : base * 0.8);
    }
    const OracleResult oracle = OracleAccuracy(scores, labels);
    EXPECT_NEAR(oracle.accuracy, BruteForceOracle(scores, labels), 1e-12)
        << "trial " << trial;
    // The reported threshold achieves the reported accuracy.
    EXPECT_NEAR(Classify(scores, labels, oracle.threshold).accuracy(),
                oracle.accuracy, 1e-12)
        << "trial " << trial;
  }
}

TEST(OracleAccuracyTest, HandCases) {
  // Separable: accuracy 1 with a threshold between the classes.
  OracleResult r =
      OracleAccuracy({0.1f, 0.2f, 0.8f, 0.9f}, {false, false, true, true});
  EXPECT_DOUBLE_EQ(r.accuracy, 1.0);
  EXPECT_GE(r.threshold, 0.2f);
  EXPECT_LT(r.threshold, 0.8f);
  // All attacks: flag everything.
  r = OracleAccuracy({0.1f, 0.2f}, {true, true});
  EXPECT_DOUBLE_EQ(r.accuracy, 1.0);
  EXPECT_LT(r.threshold, 0.1f);
  // Reversed: best is flagging nothing (or everything), accuracy 1/2.
  r = OracleAccuracy({0.1f, 0.2f, 0.8f, 0.9f}, {true, true, false, false});
  EXPECT_DOUBLE_EQ(r.accuracy, 0.5);
}

TEST(MetricsTest, NanScoresRankHighestAndNeverHang) {
  const float nan = std::nanf("");
  const std::vector<float> scores = {0.1f, nan, 0.3f, nan};
  const std::vector<bool> anomaly = {false, true, false, true};
  EXPECT_DOUBLE_EQ(RocAuc(scores, anomaly), 1.0);
  const OracleResult r = OracleAccuracy(scores, anomaly);
  EXPECT_DOUBLE_EQ(r.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(Classify(scores, anomaly, r.threshold).accuracy(), 1.0);
}

TEST(OracleAccuracyTest, FlagEverythingThresholdIsBelowLargeScores) {
  const std::vector<float> scores = {2e4f, 3e4f};
  const std::vector<bool> anomaly = {true, true};
  const OracleResult r = OracleAccuracy(scores, anomaly);
  EXPECT_DOUBLE_EQ(r.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(Classify(scores, anomaly, r.threshold).accuracy(), 1.0);
}

}  // namespace
}  // namespace dwae
