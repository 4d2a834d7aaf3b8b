// End-to-end tests of the operator commands `dwae score`, `anomalies`,
// `status`, `admin` and `health`: one real dwaed (DWAED_PATH) for the whole
// suite, warmed up once on normal rows of the training file; every case runs
// the real dwae binary (DWAE_CLI_PATH) from the repository root.
//
// The suite shares the daemon, so CMake registers this binary as ONE ctest
// test. The tests run in declaration order; the reset test is last.
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
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
using ::testing::Not;
using ::testing::StartsWith;
using testutil::JsonValue;
using testutil::Subprocess;
using testutil::SubprocessResult;

constexpr char kTrainPath[] = "data/nsl-kdd/KDDTrain+_20Percent.txt";
constexpr char kTestPath[] = "data/nsl-kdd/KDDTest+.txt";

const char* const kStatusKeys[] = {
    "shape",
    "rule",
    "feature_schema",
    "threshold",
    "threshold_source",
    "warming_up",
    "learning_state",
    "records_scored",
    "records_normal",
    "records_anomalous",
    "records_invalid",
    "records_learned",
    "records_dropped",
    "true_positives",
    "false_positives",
    "true_negatives",
    "false_negatives",
    "learning_steps",
    "weight_updates",
    "float_equivalent_updates",
    "update_reduction",
    "layers",
    "last_checkpoint_unix_seconds",
    "model_version",
    "build_version",
    "config",
};

std::string LabelOf(const std::string& line) {
  std::vector<std::string> fields = absl::StrSplit(line, ',');
  return fields.size() > 41 ? fields[41] : "";
}

// The first `n` lines of `path` (relative to the source tree) whose label is
// `label` (any label when empty).
std::vector<std::string> Lines(const std::string& path, size_t n,
                               const std::string& label = "") {
  std::ifstream in(absl::StrCat(DWAE_SOURCE_DIR, "/", path));
  EXPECT_TRUE(in.good()) << path;
  std::vector<std::string> lines;
  std::string line;
  while (lines.size() < n && std::getline(in, line)) {
    if (label.empty() || LabelOf(line) == label) lines.push_back(line);
  }
  EXPECT_EQ(lines.size(), n) << path << " " << label;
  return lines;
}

std::vector<std::string> NonEmptyLines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// Every stdout line parsed as JSON.
std::vector<JsonValue> JsonLines(const SubprocessResult& r) {
  std::vector<JsonValue> out;
  for (const std::string& line : NonEmptyLines(r.stdout_text)) {
    absl::StatusOr<JsonValue> doc = testutil::ParseJson(line);
    EXPECT_TRUE(doc.ok()) << doc.status() << "\n" << line;
    if (doc.ok()) out.push_back(*std::move(doc));
  }
  return out;
}

class OpsCliTest : public testutil::SharedDaemonSuite {
 protected:
  static void SetUpTestSuite() {
    testutil::SharedDaemonOptions o =
        testutil::CliSuiteOptions(DWAED_PATH, DWAE_CLI_PATH, "dwae_ops_cli");
    o.state_in_dir = true;
    o.cli_timeout = absl::Seconds(20);
    StartDaemons(o);
    if (::testing::Test::HasFatalFailure()) return;

    // Warm up on 400 normal rows (the warm-up is 300); replay syncs, so the
    // warm-up is consolidated when it returns.
    const std::string warm =
        WriteLines("warm.txt", Lines(kTrainPath, 400, "normal"));
    const SubprocessResult r = RunDwae(
        {"replay", ServerFlag(), "--filter_label=normal", "--learn=all", warm});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    ASSERT_FALSE(Status()["warming_up"].as_bool()) << "dwaed still warming up";
  }

  static SubprocessResult RunArgv(const std::vector<std::string>& argv) {
    return testutil::RunArgvFromSourceDir(argv, absl::Seconds(20));
  }

  // Runs dwae with `stdin_text` on its standard input (through /bin/sh, as
  // Subprocess gives children /dev/null).
  static SubprocessResult RunDwaeStdin(const std::vector<std::string>& args,
                                       const std::string& stdin_text) {
    static int n = 0;
    const std::string input = absl::StrCat(dir(), "/stdin_", ++n, ".txt");
    EXPECT_TRUE(testutil::WriteFile(input, stdin_text));
    std::vector<std::string> argv = {"/bin/sh", "-c",
                                     "f=$1; shift; exec \"$0\" \"$@\" < \"$f\"",
                                     DWAE_CLI_PATH, input};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunArgv(argv);
  }

  // `dwae status --json`, parsed.
  static JsonValue Status() {
    const SubprocessResult r = RunDwae({"status", ServerFlag(), "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    absl::StatusOr<JsonValue> doc = testutil::ParseJson(r.stdout_text);
    EXPECT_TRUE(doc.ok()) << doc.status() << "\n" << r.Describe();
    return doc.ok() ? *std::move(doc) : JsonValue();
  }

  // The highest sequence among the anomalies the daemon holds (0: none).
  static double LastAnomalySequence() {
    const SubprocessResult r =
        RunDwae({"anomalies", ServerFlag(), "--json", "--limit=1"});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    double last = 0;
    for (const JsonValue& v : JsonLines(r)) {
      last = std::max(last, v["sequence"].as_number());
    }
    return last;
  }
};

void ExpectVerdictJson(const JsonValue& v) {
  for (const char* key :
       {"id", "score", "threshold", "anomalous", "top_features"}) {
    EXPECT_TRUE(v.has(key)) << "missing " << key << ": " << v.ToString();
  }
  EXPECT_TRUE(v["score"].is_number()) << v.ToString();
  EXPECT_TRUE(v["threshold"].is_number()) << v.ToString();  // warmed up
  const std::vector<JsonValue>& f = v["top_features"].items();
  EXPECT_EQ(f.size(), 3u) << v.ToString();
  for (size_t i = 0; i < f.size(); ++i) {
    for (const char* key :
         {"feature", "squared_error", "value", "reconstruction"}) {
      EXPECT_TRUE(f[i].has(key)) << key << ": " << v.ToString();
    }
    if (i > 0) {
      EXPECT_GE(f[i - 1]["squared_error"].as_number(),
                f[i]["squared_error"].as_number())
          << v.ToString();
    }
  }
}

TEST_F(OpsCliTest, ScoreLineArgumentReadable) {
  const std::string neptune = Lines(kTestPath, 1, "neptune")[0];
  const SubprocessResult r = RunDwae({"score", ServerFlag(), neptune});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const std::vector<std::string> lines = NonEmptyLines(r.stdout_text);
  ASSERT_EQ(lines.size(), 1u) << r.Describe();
  EXPECT_THAT(lines[0], StartsWith("ANOMALY score="));
  EXPECT_THAT(lines[0], HasSubstr("threshold="));
  EXPECT_THAT(lines[0], HasSubstr("(value "));
  EXPECT_THAT(lines[0], HasSubstr("reconstructed "));
  EXPECT_THAT(lines[0], Not(HasSubstr("inf")));
}

TEST_F(OpsCliTest, ScoreStdinReadableAndJson) {
  const std::vector<std::string> lines = Lines(kTestPath, 5);
  const std::string input = absl::StrJoin(lines, "\n") + "\n\n";
  SubprocessResult r = RunDwaeStdin({"score", ServerFlag()}, input);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const std::vector<std::string> out = NonEmptyLines(r.stdout_text);
  ASSERT_EQ(out.size(), 5u) << r.Describe();
  for (const std::string& line : out) {
    EXPECT_TRUE(absl::StartsWith(line, "NORMAL") ||
                absl::StartsWith(line, "ANOMALY"))
        << line;
  }

  r = RunDwaeStdin({"score", ServerFlag(), "--json"}, input);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const std::vector<JsonValue> verdicts = JsonLines(r);
  ASSERT_EQ(verdicts.size(), 5u) << r.Describe();
  for (size_t i = 0; i < verdicts.size(); ++i) {
    ExpectVerdictJson(verdicts[i]);
    EXPECT_EQ(verdicts[i]["id"].as_string(), absl::StrCat("stdin:", i + 1));
    EXPECT_EQ(verdicts[i]["label"].as_string(), LabelOf(lines[i]));
  }
}

TEST_F(OpsCliTest, ScoreBadLineAmongGoodOnes) {
  std::vector<std::string> lines = Lines(kTestPath, 2);
  std::vector<std::string> bad = absl::StrSplit(lines[0], ',');
  bad[4] = "abc";  // src_bytes
  lines.insert(lines.begin() + 1, absl::StrJoin(bad, ","));
  const std::string input = absl::StrJoin(lines, "\n") + "\n";

  SubprocessResult r = RunDwaeStdin({"score", ServerFlag()}, input);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::vector<std::string> out = NonEmptyLines(r.stdout_text);
  ASSERT_EQ(out.size(), 3u) << r.Describe();
  EXPECT_THAT(out[1], HasSubstr("line 2"));
  EXPECT_THAT(out[1], HasSubstr("src_bytes"));
  EXPECT_THAT(out[2], Not(HasSubstr("ERROR")));

  r = RunDwaeStdin({"score", ServerFlag(), "--json"}, input);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const std::vector<JsonValue> verdicts = JsonLines(r);
  ASSERT_EQ(verdicts.size(), 3u) << r.Describe();
  EXPECT_FALSE(verdicts[0].has("error"));
  EXPECT_THAT(verdicts[1]["error"].as_string(), HasSubstr("src_bytes"));
  ExpectVerdictJson(verdicts[2]);

  // Nothing scorable at all is a failure.
  r = RunDwaeStdin({"score", ServerFlag()}, "bad,line\n");
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr("no line could be scored"));
}

TEST_F(OpsCliTest, AnomaliesAfterNeptuneReplay) {
  const std::string slice =
      WriteLines("neptune.txt", Lines(kTestPath, 50, "neptune"));
  SubprocessResult r = RunDwae({"replay", ServerFlag(), slice});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();

  r = RunDwae({"anomalies", ServerFlag(), "--json", "--limit=5"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::vector<JsonValue> anomalies = JsonLines(r);
  ASSERT_GE(anomalies.size(), 1u) << r.Describe();
  EXPECT_LE(anomalies.size(), 5u) << r.Describe();
  for (const JsonValue& v : anomalies) {
    EXPECT_TRUE(v["anomalous"].as_bool()) << v.ToString();
    EXPECT_GT(v["score"].as_number(), v["threshold"].as_number());
    EXPECT_TRUE(v["scored_at"].is_string()) << v.ToString();
  }

  r = RunDwae({"anomalies", ServerFlag(), "--json", "--limit=2"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_LE(JsonLines(r).size(), 2u) << r.Describe();

  r = RunDwae({"anomalies", ServerFlag(), "--since=1h", "--limit=3"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const std::vector<std::string> out = NonEmptyLines(r.stdout_text);
  ASSERT_GE(out.size(), 1u) << r.Describe();
  EXPECT_LE(out.size(), 3u) << r.Describe();
  EXPECT_THAT(out[0], HasSubstr("neptune.txt:"));
  EXPECT_THAT(out[0], HasSubstr("Z  "));  // RFC 3339, UTC

  // Nothing is newer than a minute from now.
  const std::string future = absl::FormatTime(
      absl::RFC3339_sec, absl::Now() + absl::Minutes(1), absl::UTCTimeZone());
  r = RunDwae(
      {"anomalies", ServerFlag(), "--json", absl::StrCat("--since=", future)});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.stdout_text, "") << r.Describe();

  r = RunDwae({"anomalies", ServerFlag(), "--since=bogus"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr("--since"));
}

TEST_F(OpsCliTest, AnomaliesFollowPicksUpNewOnes) {
  const double before = LastAnomalySequence();
  testutil::SubprocessOptions options;
  options.working_dir = DWAE_SOURCE_DIR;
  absl::StatusOr<std::unique_ptr<Subprocess>> follow =
      Subprocess::Start({DWAE_CLI_PATH, "anomalies", ServerFlag(), "--json",
                         "--follow", "--poll_interval=100ms"},
                        options);
  ASSERT_TRUE(follow.ok()) << follow.status();
  absl::SleepFor(absl::Milliseconds(300));  // past the initial listing

  const std::vector<std::string> attacks = Lines(kTestPath, 60, "neptune");
  const std::vector<std::string> fresh(attacks.begin() + 50, attacks.end());
  const SubprocessResult r =
      RunDwaeStdin({"score", ServerFlag()}, absl::StrJoin(fresh, "\n") + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  ASSERT_THAT(r.stdout_text, HasSubstr("ANOMALY")) << r.Describe();

  bool found = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!found && absl::Now() < deadline) {
    (*follow)->WaitForOutput("\"stdin:", absl::Milliseconds(200));
    for (const std::string& line : NonEmptyLines((*follow)->stdout_so_far())) {
      absl::StatusOr<JsonValue> v = testutil::ParseJson(line);
      if (v.ok() && (*v)["sequence"].as_number() > before &&
          absl::StartsWith((*v)["id"].as_string(), "stdin:")) {
        found = true;
      }
    }
  }
  (*follow)->Signal(SIGINT);
  const SubprocessResult done = (*follow)->Wait(absl::Seconds(5));
  EXPECT_TRUE(found) << done.Describe();
  EXPECT_EQ(done.exit_code, 0) << done.Describe();
}

TEST_F(OpsCliTest, StatusReadableAndJson) {
  const SubprocessResult r = RunDwae({"status", ServerFlag()});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  for (const char* section :
       {"model", "shape", "rule", "device", "levels", "threshold",
        "learning state", "counters", "scored", "confusion", "detection rate",
        "false-alarm rate", "device writes", "update reduction",
        "checkpoint"}) {
    EXPECT_THAT(r.stdout_text, HasSubstr(section));
  }
  const JsonValue s = Status();
  for (const char* key : kStatusKeys) {
    EXPECT_TRUE(s.has(key)) << "missing " << key << "\n" << s.ToString();
  }
  EXPECT_FALSE(s["warming_up"].as_bool());
  EXPECT_TRUE(s["threshold"].is_number());
  EXPECT_GT(s["records_scored"].as_number(), 400);
  EXPECT_GT(s["update_reduction"].as_number(), 1);
  ASSERT_EQ(s["layers"].size(), 2u) << s.ToString();
  EXPECT_TRUE(s["layers"].at(0).has("pulses"));
  EXPECT_EQ(s["config"]["learning"]["warmup_epochs"].as_number(), 2);
}

TEST_F(OpsCliTest, AdminCheckpoint) {
  const SubprocessResult r = RunDwae({"admin", ServerFlag(), "checkpoint"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.stdout_text, HasSubstr("model.ckpt"));
  EXPECT_FALSE(testutil::ReadFileOrEmpty(dir() + "/state0/model.ckpt").empty());
  EXPECT_TRUE(Status()["last_checkpoint_unix_seconds"].is_number());
}

TEST_F(OpsCliTest, AdminLearning) {
  for (const char* state : {"off", "on", "gated", "auto"}) {
    const SubprocessResult r =
        RunDwae({"admin", ServerFlag(), "learning", state});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    EXPECT_EQ(Status()["learning_state"].as_string(), state);
  }
}

TEST_F(OpsCliTest, AdminThreshold) {
  SubprocessResult r = RunDwae({"admin", ServerFlag(), "threshold", "0.5"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.stdout_text, HasSubstr("fixed"));
  JsonValue s = Status();
  EXPECT_EQ(s["threshold"].as_number(), 0.5);
  EXPECT_EQ(s["threshold_source"].as_string(), "fixed");

  r = RunDwae({"admin", ServerFlag(), "--json", "threshold", "auto"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  absl::StatusOr<JsonValue> doc = testutil::ParseJson(r.stdout_text);
  ASSERT_TRUE(doc.ok()) << doc.status() << "\n" << r.Describe();
  EXPECT_NE((*doc)["threshold_source"].as_string(), "fixed");
  s = Status();
  EXPECT_NE(s["threshold_source"].as_string(), "fixed");
  EXPECT_TRUE(s["threshold"].is_number());
  EXPECT_NE(s["threshold"].as_number(), 0.5);
}

TEST_F(OpsCliTest, Health) {
  SubprocessResult r = RunDwae({"health", ServerFlag()});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.stdout_text, "SERVING\n");

  r = RunDwae(
      {"health",
       absl::StrCat("--server=127.0.0.1:", testutil::ClosedLoopbackPort()),
       "--timeout=1s"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_LT(r.elapsed, absl::Seconds(5)) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr("cannot reach"));
}

TEST_F(OpsCliTest, UsageErrorsExit2) {
  const std::vector<std::vector<std::string>> cases = {
      {"admin"},
      {"admin", "learning", "bogus"},
      {"admin", "--", "threshold", "-1"},
      {"admin", "threshold", "0"},
      {"admin", "threshold", "nan"},
      {"admin", "frobnicate"},
      {"admin", "reset"},
      {"score", "--top_k=99", "x"},
      {"status", "extra-arg"},
  };
  for (std::vector<std::string> args : cases) {
    args.insert(args.begin() + 1, ServerFlag());
    const SubprocessResult r = RunDwae(args);
    EXPECT_EQ(r.exit_code, 2) << r.Describe();
    EXPECT_THAT(r.stderr_text, HasSubstr("dwae: ")) << r.Describe();
  }
  const SubprocessResult r = RunDwae({"admin", ServerFlag(), "reset"});
  EXPECT_THAT(r.stderr_text, HasSubstr("pass --yes"));
  EXPECT_FALSE(Status()["warming_up"].as_bool());  // nothing was reset
}

// Last: the daemon forgets everything.
TEST_F(OpsCliTest, AdminResetReturnsToWarmUp) {
  const SubprocessResult r = RunDwae({"admin", ServerFlag(), "reset", "--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const JsonValue s = Status();
  EXPECT_TRUE(s["warming_up"].as_bool()) << s.ToString();
  EXPECT_TRUE(s["threshold"].is_null()) << s.ToString();  // +inf
  EXPECT_EQ(s["threshold_source"].as_string(), "warmup");
}

}  // namespace
}  // namespace dwae
