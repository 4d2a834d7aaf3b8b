// End-to-end tests of the evaluation protocol on the shipped NSL-KDD data:
// real files, every rule, floors well below what the full evaluation reaches
// so that they catch a broken engine, not noise.
#include "core/evaluate.h"

#include <memory>

#include "core/dataset.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

constexpr char kTrain[] =
    DWAE_SOURCE_DIR "/data/nsl-kdd/KDDTrain+_20Percent.txt";
constexpr char kTest[] = DWAE_SOURCE_DIR "/data/nsl-kdd/KDDTest+.txt";

class EvaluateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto train = LoadRecords(kTrain, RecordFormat::kNslKdd);
    auto test = LoadRecords(kTest, RecordFormat::kNslKdd);
    ASSERT_TRUE(train.ok()) << train.status();
    ASSERT_TRUE(test.ok()) << test.status();
    auto data = PrepareEvalData(*train, *test, EvalOptions());
    ASSERT_TRUE(data.ok()) << data.status();
    data_ = new EvalData(*std::move(data));
  }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }

  static RunResult Run(RuleKind rule, uint64_t seed, int epochs) {
    EvalOptions options;
    options.epochs = epochs;
    auto run = TrainAndEvaluate(*data_, rule, seed, options);
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? *run : RunResult{};
  }

  static EvalData* data_;
};

EvalData* EvaluateTest::data_ = nullptr;

TEST_F(EvaluateTest, SplitKeepsEveryRowInExactlyOnePlace) {
  // 13,449 normal training rows: 20% held out, the rest fitted.
  EXPECT_EQ(data_->rows(data_->holdout_normal), 2690u);
  EXPECT_EQ(data_->rows(data_->fit), 13449u - 2690u);
  EXPECT_EQ(data_->rows(data_->train_attacks), 11743u);
  EXPECT_EQ(data_->rows(data_->test), 22544u);
  size_t attacks = 0;
  for (bool a : data_->test_is_anomaly) attacks += a;
  EXPECT_EQ(attacks, 12833u);
}

TEST_F(EvaluateTest, DwStochasticDetectsAttacksWithFewWrites) {
  const RunResult run = Run(RuleKind::kDwStochastic, 1, 3);
  EXPECT_GE(MetricValue(run.metrics, "auc"), 0.93);
  EXPECT_GE(MetricValue(run.metrics, "accuracy"), 0.82);
  EXPECT_GE(MetricValue(run.metrics, "update_reduction"), 2000);
  EXPECT_GE(MetricValue(run.metrics, "oracle_accuracy"),
            MetricValue(run.metrics, "accuracy"));
  EXPECT_EQ(run.test_scores.size(), 22544u);
}

TEST_F(EvaluateTest, DwShadowDetectsAttacksWithFewWrites) {
  const RunResult run = Run(RuleKind::kDwShadow, 1, 3);
  EXPECT_GE(MetricValue(run.metrics, "auc"), 0.93);
  EXPECT_GE(MetricValue(run.metrics, "update_reduction"), 2000);
}

TEST_F(EvaluateTest, FloatBaselineCountsEveryParameterEveryStep) {
  const RunResult run = Run(RuleKind::kFloat, 1, 2);
  EXPECT_GE(MetricValue(run.metrics, "auc"), 0.93);
  EXPECT_EQ(MetricValue(run.metrics, "update_reduction"), 1.0);
  EXPECT_EQ(MetricValue(run.metrics, "weight_updates"),
            MetricValue(run.metrics, "steps") *
                MetricValue(run.metrics, "parameters"));
  EXPECT_EQ(MetricValue(run.metrics, "write_energy_joules"), 0.0);
}

TEST_F(EvaluateTest, SameSeedSameScores) {
  const RunResult a = Run(RuleKind::kDwStochastic, 7, 1);
  const RunResult b = Run(RuleKind::kDwStochastic, 7, 1);
  const RunResult c = Run(RuleKind::kDwStochastic, 8, 1);
  EXPECT_EQ(a.test_scores, b.test_scores);
  EXPECT_NE(a.test_scores, c.test_scores);
}

TEST_F(EvaluateTest, ThresholdsNeverDependOnTestLabels) {
  // Flipping every test label must leave scores and thresholds unchanged:
  // only the reported metrics may move. Checked with the adopted ensemble
  // (five group autoencoders per group for dw-stochastic).
  EvalData flipped = *data_;
  for (size_t i = 0; i < flipped.test_is_anomaly.size(); ++i) {
    flipped.test_is_anomaly[i] = !flipped.test_is_anomaly[i];
  }
  EvalOptions options;
  options.epochs = 1;
  options.ensemble = DefaultEnsemble(RuleKind::kDwStochastic);
  auto a = TrainAndEvaluate(*data_, RuleKind::kDwStochastic, 3, options);
  auto b = TrainAndEvaluate(flipped, RuleKind::kDwStochastic, 3, options);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->test_scores, b->test_scores);
  EXPECT_EQ(a->threshold, b->threshold);
  EXPECT_EQ(MetricValue(a->metrics, "threshold_quantile"),
            MetricValue(b->metrics, "threshold_quantile"));
  EXPECT_NEAR(MetricValue(a->metrics, "accuracy"),
              1.0 - MetricValue(b->metrics, "accuracy"), 1e-12);
}

TEST_F(EvaluateTest, BlankTestLabelsChangeNoScoreAndNoThreshold) {
  // Blanking the labels (every test row "normal") with standardized errors
  // on: the per-dimension scales come from fit rows only.
  EvalData blank = *data_;
  blank.test_is_anomaly.assign(blank.test_is_anomaly.size(), false);
  EvalOptions options;
  options.epochs = 1;
  options.ensemble.members = 2;
  options.ensemble.standardize = true;
  auto a = TrainAndEvaluate(*data_, RuleKind::kDwStochastic, 4, options);
  auto b = TrainAndEvaluate(blank, RuleKind::kDwStochastic, 4, options);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->test_scores, b->test_scores);
  EXPECT_EQ(a->threshold, b->threshold);
  EXPECT_EQ(MetricValue(a->metrics, "val_auc"),
            MetricValue(b->metrics, "val_auc"));
  // The same with dw-shadow's adopted scorer (absolute errors, k5-l1).
  options.ensemble = DefaultEnsemble(RuleKind::kDwShadow);
  ASSERT_TRUE(options.ensemble.absolute_error);
  a = TrainAndEvaluate(*data_, RuleKind::kDwShadow, 4, options);
  b = TrainAndEvaluate(blank, RuleKind::kDwShadow, 4, options);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->test_scores, b->test_scores);
  EXPECT_EQ(a->threshold, b->threshold);
  EXPECT_NE(MetricValue(a->metrics, "accuracy"),
            MetricValue(b->metrics, "accuracy"));
}

TEST_F(EvaluateTest, WriteTraceIsCumulativeAndEndsAtTheTotal) {
  const RunResult run = Run(RuleKind::kDwStochastic, 2, 1);
  ASSERT_GT(run.write_trace.size(), 50u);
  for (size_t i = 1; i < run.write_trace.size(); ++i) {
    EXPECT_GT(run.write_trace[i].first, run.write_trace[i - 1].first);
    EXPECT_GE(run.write_trace[i].second, run.write_trace[i - 1].second);
  }
  EXPECT_EQ(double(run.write_trace.back().first),
            MetricValue(run.metrics, "steps"));
  EXPECT_EQ(double(run.write_trace.back().second),
            MetricValue(run.metrics, "weight_updates"));
}

}  // namespace
}  // namespace dwae
