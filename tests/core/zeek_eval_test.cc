// The offline evaluation on the two shipped Zeek days (data/zeek), one
// direction each way: train on one host's Benign rows, test on the other
// host's whole log. Single models and few epochs keep it fast; the floors sit
// below what `dwae eval --format=zeek` reaches (docs/zeek.md) so that they
// catch a broken parser, extractor or encoder, not noise.
#include <string>

#include "core/dataset.h"
#include "core/evaluate.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

constexpr char kDay42[] =
    DWAE_SOURCE_DIR "/data/zeek/ctu-normal-42-day2.conn.log.labeled";
constexpr char kDay43[] =
    DWAE_SOURCE_DIR "/data/zeek/ctu-normal-43-day1.conn.log.labeled";

RunResult Evaluate(const char* train_path, const char* test_path,
                   RuleKind rule) {
  auto train = LoadFeatureRows(train_path, InputFormat::kAuto);
  auto test = LoadFeatureRows(test_path, InputFormat::kAuto);
  EXPECT_TRUE(train.ok()) << train.status();
  EXPECT_TRUE(test.ok()) << test.status();
  if (!train.ok() || !test.ok()) return {};
  EvalOptions options;
  options.epochs = 5;
  auto data = PrepareEvalData(*train, *test, options);
  EXPECT_TRUE(data.ok()) << data.status();
  if (!data.ok()) return {};
  EXPECT_EQ(data->dim, 147);
  auto run = TrainAndEvaluate(*data, rule, 1, options);
  EXPECT_TRUE(run.ok()) << run.status();
  return run.ok() ? *run : RunResult{};
}

TEST(ZeekEvalTest, RowsAndLabelsOfTheShippedDays) {
  auto rows = LoadFeatureRows(kDay42, InputFormat::kAuto);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 5347u);
  int normal = 0, labeled = 0;
  for (const Record& r : *rows) {
    EXPECT_EQ(r.schema, FeatureSchema::kZeek);
    normal += r.is_normal();
    labeled += r.has_label();
  }
  EXPECT_EQ(normal, 1937);          // Benign
  EXPECT_EQ(labeled, 1937 + 3373);  // + Malicious; 37 Background left out
}

TEST(ZeekEvalTest, DwShadowAcrossHosts) {
  for (const auto& [train, test] :
       {std::pair{kDay42, kDay43}, std::pair{kDay43, kDay42}}) {
    const RunResult run = Evaluate(train, test, RuleKind::kDwShadow);
    EXPECT_GE(MetricValue(run.metrics, "auc"), 0.99) << train;
    EXPECT_GE(MetricValue(run.metrics, "accuracy"), 0.90) << train;
    EXPECT_GE(MetricValue(run.metrics, "val_auc"), 0.99) << train;
  }
}

TEST(ZeekEvalTest, DwStochasticAcrossHosts) {
  const RunResult run = Evaluate(kDay42, kDay43, RuleKind::kDwStochastic);
  EXPECT_GE(MetricValue(run.metrics, "auc"), 0.99);
  EXPECT_GE(MetricValue(run.metrics, "accuracy"), 0.90);
}

}  // namespace
}  // namespace dwae
