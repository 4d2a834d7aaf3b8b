// End-to-end tests of `dwae eval`: run the real binary (DWAE_CLI_PATH) from
// the repository root on the shipped NSL-KDD files and check its exit codes,
// JSON, table and scores CSV.
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/cli.h"
#include "tests/testing/json_value.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_files.h"

#ifndef DWAE_CLI_PATH
#error "DWAE_CLI_PATH must name the dwae binary"
#endif

namespace dwae {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testutil::JsonValue;
using testutil::SubprocessResult;

constexpr char kTrainPath[] = "data/nsl-kdd/KDDTrain+_20Percent.txt";
constexpr char kTestPath[] = "data/nsl-kdd/KDDTest+.txt";
constexpr size_t kTestRows = 22544;

// Every metric `dwae eval --json` must report, under both mean and std.
const char* const kMetricKeys[] = {
    "accuracy",
    "precision",
    "recall",
    "f1",
    "auc",
    "fpr",
    "threshold",
    "oracle_accuracy",
    "weight_updates",
    "update_reduction",
    "level_changes",
    "write_energy_joules",
    "train_seconds",
    "train_records_per_second",
    "model_bytes",
};

// Wall-clock metrics, the only ones allowed to differ between equal runs.
const std::set<std::string>& TimingKeys() {
  static const auto* const kKeys =
      new std::set<std::string>{"train_seconds", "train_records_per_second"};
  return *kKeys;
}

SubprocessResult RunDwae(const std::vector<std::string>& args) {
  return testutil::RunCli(DWAE_CLI_PATH, args, absl::Seconds(60));
}

// Runs dwae with `args`, expects success and one JSON object on stdout.
JsonValue RunJson(const std::vector<std::string>& args) {
  std::optional<JsonValue> doc = testutil::ParseJsonStdout(RunDwae(args));
  return doc.has_value() ? *std::move(doc) : JsonValue();
}

void ExpectAllMetrics(const JsonValue& rule_result, const std::string& rule) {
  ASSERT_TRUE(rule_result.is_object()) << rule;
  EXPECT_THAT(rule_result.keys(), ElementsAre("mean", "std")) << rule;
  for (const char* part : {"mean", "std"}) {
    const JsonValue& values = rule_result[part];
    ASSERT_TRUE(values.is_object()) << rule << "." << part;
    for (const char* key : kMetricKeys) {
      EXPECT_TRUE(values[key].is_number())
          << rule << "." << part << "." << key << " missing or not a number";
    }
  }
}

TEST(EvalCliTest, JsonStochasticTwoSeeds) {
  const JsonValue doc = RunJson({"eval", "--rule", "dw-stochastic", "--seeds",
                                 "2", "--epochs", "1", "--json"});
  for (const char* key :
       {"train", "test", "seeds", "model", "device", "results"}) {
    EXPECT_TRUE(doc.has(key)) << "missing top-level key " << key;
  }
  EXPECT_EQ(doc["train"].as_string(), kTrainPath);
  EXPECT_EQ(doc["test"].as_string(), kTestPath);
  EXPECT_EQ(doc["seeds"],
            JsonValue::Array({JsonValue::Number(1), JsonValue::Number(2)}));
  EXPECT_TRUE(doc["model"].is_object());
  EXPECT_EQ(doc["model"]["epochs"].as_number(), 1);
  EXPECT_TRUE(doc["device"].is_object());

  const JsonValue& results = doc["results"];
  ASSERT_TRUE(results.is_object());
  EXPECT_THAT(results.keys(), ElementsAre("dw-stochastic"));
  ExpectAllMetrics(results["dw-stochastic"], "dw-stochastic");

  const JsonValue& mean = results["dw-stochastic"]["mean"];
  const double accuracy = mean["accuracy"].as_number();
  EXPECT_GE(accuracy, 0);
  EXPECT_LE(accuracy, 1);
  EXPECT_GT(mean["auc"].as_number(), 0.85);
  EXPECT_GT(mean["update_reduction"].as_number(), 100);
  // The oracle is a max over thresholds, so it bounds the headline accuracy.
  EXPECT_GE(mean["oracle_accuracy"].as_number(), accuracy);
  // Two seeds: the std of a seed-dependent metric is a real number >= 0.
  const JsonValue& std_dev = results["dw-stochastic"]["std"];
  for (const char* key : kMetricKeys) {
    EXPECT_GE(std_dev[key].as_number(), 0) << key;
  }
}

TEST(EvalCliTest, JsonAllRules) {
  const JsonValue doc = RunJson(
      {"eval", "--rule", "all", "--seeds", "1", "--epochs", "1", "--json"});
  const JsonValue& results = doc["results"];
  ASSERT_TRUE(results.is_object());
  EXPECT_THAT(results.keys(),
              ElementsAre("float", "dw-shadow", "dw-stochastic"));
  for (const std::string& rule : results.keys()) {
    ExpectAllMetrics(results[rule], rule);
  }
  const JsonValue& float_mean = results["float"]["mean"];
  EXPECT_EQ(float_mean["update_reduction"].as_number(), 1);
  EXPECT_EQ(float_mean["level_changes"].as_number(), 0);
  EXPECT_EQ(doc["seeds"], JsonValue::Array({JsonValue::Number(1)}));
  // One seed: every std is 0.
  for (const std::string& rule : results.keys()) {
    for (const char* key : kMetricKeys) {
      EXPECT_EQ(results[rule]["std"][key].as_number(), 0) << rule << " " << key;
    }
  }
}

// Compares two documents exactly, skipping the timing keys; appends a line
// per difference to `diffs`.
void CompareExceptTiming(const JsonValue& a, const JsonValue& b,
                         const std::string& path,
                         std::vector<std::string>* diffs) {
  if (a.type() != b.type()) {
    diffs->push_back(absl::StrCat(path, ": type differs"));
    return;
  }
  if (a.is_object()) {
    if (a.keys() != b.keys()) {
      diffs->push_back(
          absl::StrCat(path, ": keys differ: ", absl::StrJoin(a.keys(), ","),
                       " vs ", absl::StrJoin(b.keys(), ",")));
      return;
    }
    for (const std::string& key : a.keys()) {
      if (TimingKeys().count(key) != 0) continue;
      CompareExceptTiming(a[key], b[key], absl::StrCat(path, ".", key), diffs);
    }
  } else if (a.is_array()) {
    if (a.size() != b.size()) {
      diffs->push_back(absl::StrCat(path, ": lengths differ"));
      return;
    }
    for (size_t i = 0; i < a.size(); ++i) {
      CompareExceptTiming(a.at(i), b.at(i), absl::StrCat(path, "[", i, "]"),
                          diffs);
    }
  } else if (a != b) {
    diffs->push_back(
        absl::StrCat(path, ": ", a.ToString(), " vs ", b.ToString()));
  }
}

TEST(EvalCliTest, SameFlagsGiveIdenticalJsonExceptTiming) {
  const std::vector<std::string> args = {"eval",    "--rule", "dw-stochastic",
                                         "--seeds", "2",      "--epochs",
                                         "1",       "--json"};
  const JsonValue first = RunJson(args);
  const JsonValue second = RunJson(args);
  ASSERT_TRUE(first.is_object());
  std::vector<std::string> diffs;
  CompareExceptTiming(first, second, "", &diffs);
  EXPECT_TRUE(diffs.empty()) << absl::StrJoin(diffs, "\n");
  // The timing keys are present (and were the only ones skipped).
  EXPECT_TRUE(first["results"]["dw-stochastic"]["mean"].has("train_seconds"));
}

// The labels of the test file, in order.
std::vector<std::string> TestFileLabels() {
  std::vector<std::string> labels;
  std::ifstream in(absl::StrCat(DWAE_SOURCE_DIR, "/", kTestPath));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> fields = absl::StrSplit(line, ',');
    labels.push_back(fields.size() > 41 ? fields[41] : "");
  }
  return labels;
}

TEST(EvalCliTest, ScoresOutCsvMatchesJsonAccuracy) {
  const std::string csv_path =
      testutil::MakeTempDir("dwae_eval_cli") + "/scores.csv";
  const JsonValue doc =
      RunJson({"eval", "--rule", "all", "--seeds", "1", "--epochs", "1",
               "--json", "--scores_out=" + csv_path});
  const std::string csv = testutil::ReadFileOrEmpty(csv_path);
  ASSERT_FALSE(csv.empty()) << csv_path;
  ASSERT_EQ(csv.back(), '\n');
  std::vector<absl::string_view> lines =
      absl::StrSplit(absl::string_view(csv).substr(0, csv.size() - 1), '\n');
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "rule,index,score,threshold,label");

  const std::vector<std::string> labels = TestFileLabels();
  ASSERT_EQ(labels.size(), kTestRows);

  struct RuleTally {
    size_t rows = 0;
    size_t correct = 0;
    double threshold = 0;
  };
  std::vector<std::string> rule_order;
  std::map<std::string, RuleTally> tallies;
  for (size_t n = 1; n < lines.size(); ++n) {
    const std::vector<std::string> f = absl::StrSplit(lines[n], ',');
    ASSERT_EQ(f.size(), 5u) << "line " << n + 1 << ": " << lines[n];
    if (tallies.count(f[0]) == 0) rule_order.push_back(f[0]);
    RuleTally& t = tallies[f[0]];
    size_t index = 0;
    double score = 0;
    double threshold = 0;
    ASSERT_TRUE(absl::SimpleAtoi(f[1], &index)) << lines[n];
    ASSERT_TRUE(absl::SimpleAtod(f[2], &score)) << lines[n];
    ASSERT_TRUE(absl::SimpleAtod(f[3], &threshold)) << lines[n];
    ASSERT_EQ(index, t.rows) << "line " << n + 1 << ": rows out of order";
    ASSERT_LT(index, labels.size());
    ASSERT_EQ(f[4], labels[index]) << "line " << n + 1;
    if (t.rows == 0) t.threshold = threshold;
    ASSERT_EQ(threshold, t.threshold) << "line " << n + 1;
    const bool flagged = score > threshold;
    const bool attack = f[4] != "normal";
    if (flagged == attack) ++t.correct;
    ++t.rows;
  }
  EXPECT_THAT(rule_order, ElementsAre("float", "dw-shadow", "dw-stochastic"));
  for (const std::string& rule : rule_order) {
    const RuleTally& t = tallies[rule];
    EXPECT_EQ(t.rows, kTestRows) << rule;
    const JsonValue& mean = doc["results"][rule]["mean"];
    EXPECT_NEAR(double(t.correct) / double(t.rows),
                mean["accuracy"].as_number(), 1e-9)
        << rule;
    EXPECT_NEAR(t.threshold, mean["threshold"].as_number(),
                1e-8 * std::abs(mean["threshold"].as_number()))
        << rule;
  }
}

TEST(EvalCliTest, TableWithoutJson) {
  const SubprocessResult r =
      RunDwae({"eval", "--rule", "dw-shadow", "--seeds", "1", "--epochs", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.stdout_text, HasSubstr("accuracy"));
  EXPECT_THAT(r.stdout_text, HasSubstr("dw-shadow"));
  EXPECT_THAT(r.stdout_text, Not(HasSubstr("dw-stochastic")));
  EXPECT_FALSE(testutil::ParseJson(r.stdout_text).ok())
      << "table output should not be JSON";
  // Progress lines go to stderr, not into the table.
  EXPECT_THAT(r.stderr_text, HasSubstr("seed 1"));
  EXPECT_THAT(r.stdout_text, Not(HasSubstr("seed 1:")));
}

void ExpectUsageError(const std::vector<std::string>& args,
                      const std::string& message) {
  const SubprocessResult r = RunDwae(args);
  EXPECT_EQ(r.exit_code, 2) << absl::StrJoin(args, " ") << "\n" << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr(message)) << absl::StrJoin(args, " ");
  EXPECT_EQ(r.stdout_text, "") << absl::StrJoin(args, " ");
}

TEST(EvalCliTest, UnknownCommandIsAUsageError) {
  ExpectUsageError({"frobnicate"}, "unknown command 'frobnicate'");
}

TEST(EvalCliTest, MissingCommandIsAUsageError) {
  ExpectUsageError({}, "missing command");
}

TEST(EvalCliTest, UnknownRuleIsAUsageError) {
  ExpectUsageError({"eval", "--rule", "bogus", "--epochs", "1"}, "'bogus'");
}

TEST(EvalCliTest, ZeroSeedsIsAUsageError) {
  ExpectUsageError({"eval", "--seeds", "0", "--epochs", "1"}, "--seeds");
}

TEST(EvalCliTest, NonNumericHiddenIsAUsageError) {
  ExpectUsageError({"eval", "--hidden", "x", "--epochs", "1"}, "--hidden");
}

TEST(EvalCliTest, BadEnsembleSpecIsAUsageErrorNamingThePart) {
  ExpectUsageError({"eval", "--ensemble", "k5-zz", "--epochs", "1"}, "'zz'");
  ExpectUsageError({"eval", "--ensemble", "bogus:k5", "--epochs", "1"},
                   "'bogus'");
}

TEST(EvalCliTest, EnsemblesDefaultPerRuleAndCanBeSetPerRule) {
  const JsonValue defaults = RunJson(
      {"eval", "--rule", "all", "--seeds", "1", "--epochs", "1", "--json"});
  const JsonValue& d = defaults["model"]["ensembles"];
  EXPECT_EQ(d["float"].as_string(), "k5");
  EXPECT_EQ(d["dw-shadow"].as_string(), "k5-l1");
  EXPECT_EQ(d["dw-stochastic"].as_string(), "k5-g32");
  EXPECT_EQ(defaults["results"]["dw-shadow"]["mean"]["members"].as_number(), 5);

  const JsonValue set =
      RunJson({"eval", "--rule", "dw-stochastic", "--seeds", "1", "--epochs",
               "1", "--json", "--ensemble", "float:k2,dw-stochastic:k3-g16"});
  EXPECT_EQ(set["model"]["ensembles"]["dw-stochastic"].as_string(), "k3-g16");
  const double members =
      set["results"]["dw-stochastic"]["mean"]["members"].as_number();
  // Three members per correlation group of at most 16 of 125 dimensions.
  EXPECT_GE(members, 3 * 8);
  EXPECT_EQ(int(members) % 3, 0);
}

TEST(EvalCliTest, MissingTrainFileExitsOneNamingThePath) {
  const std::string missing =
      testutil::MakeTempDir("dwae_eval_cli") + "/no_such_train.txt";
  const SubprocessResult r =
      RunDwae({"eval", "--rule", "float", "--epochs", "1", "--train", missing});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr(missing));
  EXPECT_EQ(r.stdout_text, "");
}

TEST(EvalCliTest, MalformedTrainFileNamesFileLineAndFieldCount) {
  // Three good rows, then one cut to 40 fields on line 4.
  std::ifstream in(absl::StrCat(DWAE_SOURCE_DIR, "/", kTrainPath));
  std::vector<std::string> good(3);
  for (std::string& line : good) ASSERT_TRUE(std::getline(in, line));
  std::vector<std::string> fields = absl::StrSplit(good[0], ',');
  ASSERT_EQ(fields.size(), 43u);
  fields.resize(40);
  const std::string bad_path =
      testutil::MakeTempDir("dwae_eval_cli") + "/bad_train.txt";
  {
    std::ofstream out(bad_path);
    for (const std::string& line : good) out << line << "\n";
    out << absl::StrJoin(fields, ",") << "\n";
    for (const std::string& line : good) out << line << "\n";
  }
  const SubprocessResult r = RunDwae(
      {"eval", "--rule", "float", "--epochs", "1", "--train", bad_path});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr(bad_path + ":4:"));
  EXPECT_THAT(r.stderr_text, HasSubstr("40 fields"));
  EXPECT_EQ(r.stdout_text, "");
}

// Known bug (reported, not fixed here): PrepareEvalData uses
// holdout_fraction before EvalOptions::Validate runs, so --holdout outside
// (0, 1) (1.5, -0.5, nan) aborts with std::length_error (exit 134) instead of
// failing cleanly. Enable once fixed.
TEST(EvalCliTest, OutOfRangeHoldoutFailsCleanly) {
  for (const char* holdout : {"1.5", "-0.5", "nan"}) {
    const SubprocessResult r =
        RunDwae({"eval", "--rule", "float", "--epochs", "1",
                 absl::StrCat("--holdout=", holdout)});
    // Checked with the other flags, before any file is read: a usage error.
    EXPECT_EQ(r.exit_code, 2)
        << "--holdout=" << holdout << ": " << r.Describe();
    EXPECT_THAT(r.stderr_text, HasSubstr("holdout")) << holdout;
  }
}

}  // namespace
}  // namespace dwae
