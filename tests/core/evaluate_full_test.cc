// The full evaluation (every rule with its validated ensemble, 5 seeds,
// default schedule) on the shipped NSL-KDD data, labelled `full`: run with
// ./scripts/test --full. It asserts
// the paper's qualitative claims at the level this implementation reaches;
// the measured figures are in README.md.
#include <map>

#include "core/dataset.h"
#include "core/evaluate.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

TEST(EvaluateFullTest, FiveSeedsEveryRule) {
  auto train =
      LoadRecords(DWAE_SOURCE_DIR "/data/nsl-kdd/KDDTrain+_20Percent.txt",
                  RecordFormat::kNslKdd);
  auto test = LoadRecords(DWAE_SOURCE_DIR "/data/nsl-kdd/KDDTest+.txt",
                          RecordFormat::kNslKdd);
  ASSERT_TRUE(train.ok() && test.ok());
  auto data = PrepareEvalData(*train, *test, EvalOptions());
  ASSERT_TRUE(data.ok()) << data.status();
  std::map<RuleKind, std::map<std::string, double>> mean, stddev;
  for (RuleKind rule :
       {RuleKind::kFloat, RuleKind::kDwShadow, RuleKind::kDwStochastic}) {
    // Each rule's scorer as chosen on validation (ensemble.h).
    EvalOptions options;
    options.ensemble = DefaultEnsemble(rule);
    std::vector<RunResult> runs;
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      auto run = TrainAndEvaluate(*data, rule, seed, options);
      ASSERT_TRUE(run.ok()) << run.status();
      runs.push_back(*std::move(run));
    }
    for (const MetricSummary& m : Summarize(runs)) {
      mean[rule][m.name] = m.mean;
      stddev[rule][m.name] = m.stddev;
    }
  }
  const double float_accuracy = mean[RuleKind::kFloat]["accuracy"];
  for (RuleKind rule : {RuleKind::kDwShadow, RuleKind::kDwStochastic}) {
    SCOPED_TRACE(RuleName(rule));
    // 5-state training is more accurate than float (the paper's claim);
    // measured: dw-shadow (k5-l1) 90.93 +- 0.05 %, dw-stochastic 90.01 +- 0.34
    // %, float 88.99 +- 0.34 %.
    EXPECT_GT(mean[rule]["accuracy"], float_accuracy);
    EXPECT_GE(mean[rule]["auc"], 0.95);
    EXPECT_GE(mean[rule]["accuracy"], 0.895);
    // The ensemble keeps the seed spread within half a point.
    EXPECT_LE(stddev[rule]["accuracy"], 0.005);
    EXPECT_GE(mean[rule]["update_reduction"], 2000);
  }
}

}  // namespace
}  // namespace dwae
