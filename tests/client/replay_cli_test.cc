// End-to-end tests of `dwae replay`: one real dwaed (DWAED_PATH) is started
// for the whole suite on a free port with a short warm-up; each test runs the
// real dwae binary (DWAE_CLI_PATH) from the repository root against it on
// slices of the shipped NSL-KDD files.
//
// The suite shares the daemon, so CMake registers this binary as ONE ctest
// test (no gtest_discover_tests, which would run every TEST in its own
// process and start a daemon each time).
#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/cli.h"
#include "tests/testing/daemon_suite.h"
#include "tests/testing/json_value.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_files.h"

#ifndef DWAE_CLI_PATH
#error "DWAE_CLI_PATH must name the dwae binary"
#endif
#ifndef DWAED_PATH
#error "DWAED_PATH must name the dwaed binary"
#endif

namespace dwae {
namespace {

using ::testing::HasSubstr;
using testutil::JsonValue;
using testutil::SubprocessResult;

constexpr char kTrainPath[] = "data/nsl-kdd/KDDTrain+_20Percent.txt";
constexpr char kTestPath[] = "data/nsl-kdd/KDDTest+.txt";

// Keys every `dwae replay --json` object must have.
const char* const kSummaryKeys[] = {
    "records",   "invalid", "anomalies", "accuracy",
    "precision", "recall",  "f1",        "records_per_second",
    "tp",        "fp",      "tn",        "fn",
    "seconds",
};

// The first `n` lines of `path` (relative to the source tree).
std::vector<std::string> HeadLines(const std::string& path, size_t n) {
  std::ifstream in(absl::StrCat(DWAE_SOURCE_DIR, "/", path));
  EXPECT_TRUE(in.good()) << path;
  std::vector<std::string> lines;
  std::string line;
  while (lines.size() < n && std::getline(in, line)) lines.push_back(line);
  return lines;
}

// The label column (42nd) of an NSL-KDD line.
std::string LabelOf(const std::string& line) {
  std::vector<std::string> fields = absl::StrSplit(line, ',');
  return fields.size() > 41 ? fields[41] : "";
}

class ReplayCliTest : public testutil::SharedDaemonSuite {
 protected:
  static void SetUpTestSuite() {
    StartDaemons(testutil::CliSuiteOptions(DWAED_PATH, DWAE_CLI_PATH,
                                           "dwae_replay_cli"));
  }

  // Runs dwae with `args` plus --json, expects success and one JSON object
  // with every summary key.
  static JsonValue RunJson(std::vector<std::string> args) {
    args.insert(args.begin() + 1, "--json");
    const SubprocessResult r = RunDwae(args);
    std::optional<JsonValue> doc = testutil::ParseJsonStdout(r);
    if (!doc.has_value()) return JsonValue();
    for (const char* key : kSummaryKeys) {
      EXPECT_TRUE(doc->has(key)) << "missing key " << key << "\n"
                                 << r.stdout_text;
    }
    return *std::move(doc);
  }
};

TEST_F(ReplayCliTest, TrainSliceNormalRowsLearnAll) {
  const std::vector<std::string> lines = HeadLines(kTrainPath, 2000);
  ASSERT_EQ(lines.size(), 2000u);
  const size_t normal = std::count_if(
      lines.begin(), lines.end(),
      [](const std::string& l) { return LabelOf(l) == "normal"; });
  ASSERT_GT(normal, 300u);  // more than the warm-up
  const std::string path = WriteLines("train_head.txt", lines);
  const JsonValue doc = RunJson(
      {"replay", ServerFlag(), "--filter_label=normal", "--learn=all", path});
  EXPECT_EQ(doc["records"].as_number(), double(normal));
  EXPECT_EQ(doc["invalid"].as_number(), 0);
  EXPECT_EQ(doc["filtered_out"].as_number(), double(lines.size() - normal));
  // Every row is labelled normal: no attacks, so tp = fn = 0.
  ASSERT_TRUE(doc["accuracy"].is_number());
  EXPECT_GE(doc["accuracy"].as_number(), 0);
  EXPECT_LE(doc["accuracy"].as_number(), 1);
  EXPECT_EQ(doc["tp"].as_number(), 0);
  EXPECT_EQ(doc["fn"].as_number(), 0);
  EXPECT_EQ(doc["tn"].as_number() + doc["fp"].as_number(), double(normal));
  EXPECT_EQ(doc["anomalies"].as_number(), doc["fp"].as_number());
  EXPECT_GT(doc["records_per_second"].as_number(), 0);
}

TEST_F(ReplayCliTest, LabelledTestSliceReportsConfusion) {
  const std::vector<std::string> lines = HeadLines(kTestPath, 2000);
  ASSERT_EQ(lines.size(), 2000u);
  const std::string path = WriteLines("test_head.txt", lines);
  const JsonValue doc =
      RunJson({"replay", ServerFlag(), "--learn=off", "--batch=300", path});
  const double records = doc["records"].as_number();
  EXPECT_EQ(records, 2000);
  EXPECT_EQ(doc["invalid"].as_number(), 0);
  EXPECT_EQ(doc["tp"].as_number() + doc["fp"].as_number() +
                doc["tn"].as_number() + doc["fn"].as_number(),
            records);
  EXPECT_EQ(doc["anomalies"].as_number(),
            doc["tp"].as_number() + doc["fp"].as_number());
  for (const char* key : {"accuracy", "precision", "recall", "f1"}) {
    ASSERT_TRUE(doc[key].is_number()) << key;
    EXPECT_GE(doc[key].as_number(), 0) << key;
    EXPECT_LE(doc[key].as_number(), 1) << key;
  }
  EXPECT_GT(doc["records_per_second"].as_number(), 0);
  EXPECT_GT(doc["seconds"].as_number(), 0);
}

TEST_F(ReplayCliTest, TextSummaryShowsConfusionTable) {
  const std::string path =
      WriteLines("test_head_300.txt", HeadLines(kTestPath, 300));
  const SubprocessResult r =
      RunDwae({"replay", ServerFlag(), "--learn=off", path});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  for (const char* text : {"records", "invalid", "anomalies", "actual normal",
                           "predicted attack", "accuracy", "f1", "records/s"}) {
    EXPECT_THAT(r.stdout_text, HasSubstr(text));
  }
}

TEST_F(ReplayCliTest, VerdictsOutHasOneJsonLinePerRecord) {
  const std::vector<std::string> lines = HeadLines(kTestPath, 500);
  const std::string path = WriteLines("verdicts_in.txt", lines);
  const std::string out = dir() + "/verdicts.jsonl";
  const JsonValue doc =
      RunJson({"replay", ServerFlag(), "--learn=off", "--batch=64",
               "--sensor_id=test-sensor", "--verdicts_out=" + out, path});
  EXPECT_EQ(doc["records"].as_number(), 500);
  const std::vector<std::string> verdicts =
      absl::StrSplit(testutil::ReadFileOrEmpty(out), '\n', absl::SkipEmpty());
  ASSERT_EQ(verdicts.size(), 500u);
  for (size_t i = 0; i < verdicts.size(); ++i) {
    absl::StatusOr<JsonValue> v = testutil::ParseJson(verdicts[i]);
    ASSERT_TRUE(v.ok()) << v.status() << "\n" << verdicts[i];
    for (const char* key : {"id", "score", "threshold", "anomalous", "label"}) {
      EXPECT_TRUE((*v).has(key)) << key << " in " << verdicts[i];
    }
    EXPECT_FALSE((*v).has("error")) << verdicts[i];
    // In the order sent, ids name the file and the 1-based line.
    EXPECT_EQ((*v)["id"].as_string(), absl::StrCat("verdicts_in.txt:", i + 1));
    EXPECT_TRUE((*v)["score"].is_number()) << verdicts[i];
    // The threshold is null (+inf) during warm-up, a number afterwards.
    EXPECT_TRUE((*v)["threshold"].is_number() || (*v)["threshold"].is_null())
        << verdicts[i];
    EXPECT_TRUE((*v)["anomalous"].is_bool()) << verdicts[i];
    EXPECT_EQ((*v)["label"].as_string(), LabelOf(lines[i])) << verdicts[i];
  }
}

TEST_F(ReplayCliTest, BadLinesAreCountedAndSkipped) {
  std::vector<std::string> lines = HeadLines(kTestPath, 40);
  ASSERT_EQ(lines.size(), 40u);
  lines.insert(lines.begin() + 10, "not,a,record");
  std::string negative = lines[20];
  negative.replace(0, negative.find(','), "-1");  // duration < 0
  lines.insert(lines.begin() + 30, negative);
  const std::string path = WriteLines("bad_lines.txt", lines);
  const SubprocessResult r =
      RunDwae({"replay", ServerFlag(), "--learn=off", "--json", path});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  absl::StatusOr<JsonValue> doc = testutil::ParseJson(r.stdout_text);
  ASSERT_TRUE(doc.ok()) << doc.status() << "\n" << r.Describe();
  EXPECT_EQ((*doc)["invalid"].as_number(), 2);
  EXPECT_EQ((*doc)["records"].as_number(), 40);
  EXPECT_EQ((*doc)["tp"].as_number() + (*doc)["fp"].as_number() +
                (*doc)["tn"].as_number() + (*doc)["fn"].as_number(),
            40);
  // Both reported as FILE:LINE (1-based).
  EXPECT_THAT(r.stderr_text, HasSubstr(path + ":11:"));
  EXPECT_THAT(r.stderr_text, HasSubstr(path + ":31:"));
  EXPECT_THAT(r.stderr_text, HasSubstr("duration"));
}

// Batches over the daemon's max_batch_records (4,096) are refused as a
// whole with one batch-level error: every record of them is reported as
// rejected with the daemon's message, the rest of the file is scored.
TEST_F(ReplayCliTest, BatchesOverTheDaemonsLimitAreReportedRecordByRecord) {
  const std::vector<std::string> lines = HeadLines(kTrainPath, 5100);
  ASSERT_EQ(lines.size(), 5100u);
  const std::string path = WriteLines("over_limit.txt", lines);
  const std::string out = dir() + "/over_limit.jsonl";
  const SubprocessResult r =
      RunDwae({"replay", ServerFlag(), "--learn=off", "--json", "--batch=5000",
               "--verdicts_out=" + out, path});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  absl::StatusOr<JsonValue> doc = testutil::ParseJson(r.stdout_text);
  ASSERT_TRUE(doc.ok()) << doc.status() << "\n" << r.Describe();
  EXPECT_EQ((*doc)["records"].as_number(), 5100);  // sent
  EXPECT_EQ((*doc)["invalid"].as_number(), 5000);
  // Scored: the last, partial batch.
  EXPECT_EQ((*doc)["tp"].as_number() + (*doc)["fp"].as_number() +
                (*doc)["tn"].as_number() + (*doc)["fn"].as_number(),
            100);
  EXPECT_THAT(r.stderr_text,
              HasSubstr("over_limit.txt:1 rejected: batch refused: records: "
                        "batch of 5000 records exceeds the limit of 4096"));
  const std::vector<std::string> verdicts =
      absl::StrSplit(testutil::ReadFileOrEmpty(out), '\n', absl::SkipEmpty());
  ASSERT_EQ(verdicts.size(), 5100u);
  absl::StatusOr<JsonValue> last_refused = testutil::ParseJson(verdicts[4999]);
  ASSERT_TRUE(last_refused.ok()) << verdicts[4999];
  EXPECT_EQ((*last_refused)["id"].as_string(), "over_limit.txt:5000");
  EXPECT_TRUE((*last_refused).has("error")) << verdicts[4999];
}

TEST_F(ReplayCliTest, UnreachableServerFailsFast) {
  const std::string path =
      WriteLines("unreachable.txt", HeadLines(kTestPath, 10));
  const std::string address =
      absl::StrCat("127.0.0.1:", testutil::ClosedLoopbackPort());
  const SubprocessResult r = RunDwae({"replay", "--server=" + address, path});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr("cannot reach " + address));
  EXPECT_LT(r.elapsed, absl::Seconds(10)) << r.Describe();
}

TEST_F(ReplayCliTest, UsageErrorsExitTwo) {
  const SubprocessResult missing = RunDwae({"replay", ServerFlag()});
  EXPECT_EQ(missing.exit_code, 2) << missing.Describe();
  EXPECT_THAT(missing.stderr_text, HasSubstr("missing FILE"));

  const std::string path = WriteLines("usage.txt", HeadLines(kTestPath, 10));
  const SubprocessResult learn =
      RunDwae({"replay", ServerFlag(), "--learn=sometimes", path});
  EXPECT_EQ(learn.exit_code, 2) << learn.Describe();
  EXPECT_THAT(learn.stderr_text, HasSubstr("--learn"));

  const SubprocessResult batch =
      RunDwae({"replay", ServerFlag(), "--batch=0", path});
  EXPECT_EQ(batch.exit_code, 2) << batch.Describe();
  EXPECT_THAT(batch.stderr_text, HasSubstr("--batch"));

  const SubprocessResult format =
      RunDwae({"replay", ServerFlag(), "--format=csv", path});
  EXPECT_EQ(format.exit_code, 2) << format.Describe();
}

TEST_F(ReplayCliTest, ShardingAndPacingFlagsAreValidated) {
  const std::string path = WriteLines("flags.txt", HeadLines(kTestPath, 10));
  for (const char* flag :
       {"--sensors=0", "--rate=-1", "--rate=inf", "--servers=a:1,,b:2",
        "--servers=a:1,a:1", "--servers=nohost", "--progress=sometimes"}) {
    const SubprocessResult r = RunDwae({"replay", ServerFlag(), flag, path});
    EXPECT_EQ(r.exit_code, 2) << flag << "\n" << r.Describe();
    const std::string name(flag, std::string(flag).find('='));
    EXPECT_THAT(r.stderr_text, HasSubstr(name)) << flag;
  }
}

TEST_F(ReplayCliTest, MissingFileFailsWithItsPath) {
  const std::string path = dir() + "/no_such_file.txt";
  const SubprocessResult r = RunDwae({"replay", ServerFlag(), path});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr(path));
}

}  // namespace
}  // namespace dwae
