// End-to-end tests of `dwae tail` and of sharded `dwae replay`: three real
// dwaed replicas (DWAED_PATH) are started once for the whole suite on free
// ports; tail tests use the first. Each test runs the real dwae binary
// (DWAE_CLI_PATH) from the repository root on slices of KDDTest+.
//
// The suite shares the daemons, so CMake registers this binary as ONE ctest
// test (no gtest_discover_tests).
#include <signal.h>
#include <stdio.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/grpc_client.h"
#include "client/sharding.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
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
using testutil::Subprocess;
using testutil::SubprocessResult;

constexpr char kTestPath[] = "data/nsl-kdd/KDDTest+.txt";
constexpr int kReplicas = 3;

void WriteText(const std::string& path, const std::string& text,
               bool append = false) {
  std::ofstream out(path, append ? std::ios::app : std::ios::trunc);
  out << text;
  out.close();
  ASSERT_TRUE(out.good()) << path;
}

std::vector<std::string> HeadLines(size_t n) {
  std::ifstream in(absl::StrCat(DWAE_SOURCE_DIR, "/", kTestPath));
  EXPECT_TRUE(in.good());
  std::vector<std::string> lines;
  std::string line;
  while (lines.size() < n && std::getline(in, line)) lines.push_back(line);
  EXPECT_EQ(lines.size(), n);
  return lines;
}

std::string Join(const std::vector<std::string>& lines, size_t from,
                 size_t to) {
  std::string text;
  for (size_t i = from; i < to; ++i) absl::StrAppend(&text, lines[i], "\n");
  return text;
}

// Parses every stdout line as JSON; fails the test on a bad one.
std::vector<JsonValue> JsonLines(const std::string& text) {
  std::vector<JsonValue> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    absl::StatusOr<JsonValue> v = testutil::ParseJson(line);
    EXPECT_TRUE(v.ok()) << v.status() << "\n" << line;
    if (v.ok()) out.push_back(*std::move(v));
  }
  return out;
}

class TailCliTest : public testutil::SharedDaemonSuite {
 protected:
  static void SetUpTestSuite() {
    testutil::SharedDaemonOptions o =
        testutil::CliSuiteOptions(DWAED_PATH, DWAE_CLI_PATH, "dwae_tail_cli");
    o.replicas = kReplicas;
    StartDaemons(o);
  }

  static std::unique_ptr<Subprocess> StartDwae(
      const std::vector<std::string>& args) {
    return testutil::StartCli(DWAE_CLI_PATH, args);
  }

  static bool WaitForLines(const Subprocess& p, size_t n,
                           absl::Duration timeout = absl::Seconds(10)) {
    return testutil::WaitForStdoutLines(p, n, timeout);
  }

  // records_scored of every replica, from GetModelInfo.
  static std::vector<uint64_t> RecordsScored() {
    std::vector<uint64_t> scored;
    for (int i = 0; i < kReplicas; ++i) {
      absl::StatusOr<std::unique_ptr<DetectorClient>> c =
          DetectorClient::Connect(Address(i), absl::Seconds(5));
      EXPECT_TRUE(c.ok()) << c.status();
      if (!c.ok()) return {};
      grpc::ClientContext context;
      v1::ModelInfo info;
      const grpc::Status s =
          (*c)->stub().GetModelInfo(&context, v1::GetModelInfoRequest(), &info);
      EXPECT_TRUE(s.ok()) << s.error_message();
      scored.push_back(info.records_scored());
    }
    return scored;
  }
};

TEST_F(TailCliTest, WithoutFollowStreamsTheWholeFile) {
  const std::vector<std::string> lines = HeadLines(400);
  const std::string path = dir() + "/whole.txt";
  // The last line has no newline: it still counts.
  WriteText(path, Join(lines, 0, 399) + lines[399]);
  const SubprocessResult r =
      RunDwae({"tail", ServerFlag(), "--all", "--json", "--batch=64", path});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const std::vector<JsonValue> verdicts = JsonLines(r.stdout_text);
  ASSERT_EQ(verdicts.size(), 400u) << r.Describe();
  for (size_t i = 0; i < verdicts.size(); ++i) {
    EXPECT_EQ(verdicts[i]["id"].as_string(), absl::StrCat("whole.txt:", i + 1));
    EXPECT_EQ(verdicts[i]["sensor_id"].as_string(), "tail");
    EXPECT_FALSE(verdicts[i].has("error"));
  }
  EXPECT_THAT(r.stderr_text, HasSubstr("400 records sent"));
}

TEST_F(TailCliTest, FollowHandlesAppendsRotationAndTruncation) {
  const std::vector<std::string> lines = HeadLines(120);
  const std::string path = dir() + "/follow.txt";
  WriteText(path, Join(lines, 0, 40));  // already there: skipped
  std::unique_ptr<Subprocess> tail =
      StartDwae({"tail", "--follow", ServerFlag(), "--all", "--json",
                 "--poll_interval=50ms", "--max_batch_delay=50ms", path});
  ASSERT_NE(tail, nullptr);
  ASSERT_TRUE(tail->WaitForOutput("following", absl::Seconds(10), true))
      << tail->stderr_so_far();

  // Appended in two chunks, the first ending mid-line.
  const std::string chunk = Join(lines, 40, 60);
  const size_t cut = chunk.size() - lines[59].size() / 2;
  WriteText(path, chunk.substr(0, cut), /*append=*/true);
  absl::SleepFor(absl::Milliseconds(200));
  WriteText(path, chunk.substr(cut), /*append=*/true);
  ASSERT_TRUE(WaitForLines(*tail, 20)) << tail->stdout_so_far();

  // Rotation: the old file moves away, a new one takes the path.
  ASSERT_EQ(rename(path.c_str(), (path + ".1").c_str()), 0);
  WriteText(path, Join(lines, 60, 90));
  ASSERT_TRUE(WaitForLines(*tail, 50))
      << tail->stdout_so_far() << tail->stderr_so_far();

  // Truncation: fewer bytes than were read.
  WriteText(path, Join(lines, 90, 100));
  ASSERT_TRUE(WaitForLines(*tail, 60))
      << tail->stdout_so_far() << tail->stderr_so_far();

  tail->Signal(SIGINT);
  const SubprocessResult r = tail->Wait(absl::Seconds(10));
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  const std::vector<JsonValue> verdicts = JsonLines(r.stdout_text);
  ASSERT_EQ(verdicts.size(), 60u) << r.Describe();
  for (const JsonValue& v : verdicts) EXPECT_FALSE(v.has("error"));
  // Labels come back in the order the lines were written.
  for (size_t i = 0; i < verdicts.size(); ++i) {
    const std::vector<std::string> fields = absl::StrSplit(lines[40 + i], ',');
    EXPECT_EQ(verdicts[i]["label"].as_string(), fields[41]) << i;
  }
  EXPECT_THAT(r.stderr_text, HasSubstr("60 records sent"));
  EXPECT_THAT(r.stderr_text, HasSubstr("1 rotations, 1 truncations"));
  EXPECT_THAT(r.stderr_text, HasSubstr("stopped by signal"));
}

TEST_F(TailCliTest, FollowWaitsForAMissingFileAndStopsAfter) {
  const std::string path = dir() + "/later.txt";
  std::unique_ptr<Subprocess> tail = StartDwae(
      {"tail", "--follow", ServerFlag(), "--all", "--json", "--stop_after=25",
       "--poll_interval=50ms", "--max_batch_delay=50ms", path});
  ASSERT_NE(tail, nullptr);
  ASSERT_TRUE(tail->WaitForOutput("waiting for", absl::Seconds(10), true))
      << tail->stderr_so_far();
  WriteText(path, Join(HeadLines(40), 0, 40));
  const SubprocessResult r = tail->Wait(absl::Seconds(15));
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(JsonLines(r.stdout_text).size(), 25u) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr("25 records sent"));
}

TEST_F(TailCliTest, FromStartReadsExistingLines) {
  const std::string path = dir() + "/from_start.txt";
  WriteText(path, Join(HeadLines(30), 0, 30));
  const SubprocessResult r =
      RunDwae({"tail", "--follow", "--from_start", ServerFlag(), "--all",
               "--stop_after=30", "--poll_interval=50ms", path});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  // Readable lines, one per verdict.
  EXPECT_EQ(std::count(r.stdout_text.begin(), r.stdout_text.end(), '\n'), 30)
      << r.Describe();
  EXPECT_THAT(r.stdout_text, HasSubstr("score="));
}

TEST_F(TailCliTest, UsageAndFileErrors) {
  const std::string path = dir() + "/usage.txt";
  WriteText(path, Join(HeadLines(5), 0, 5));
  const SubprocessResult batch =
      RunDwae({"tail", ServerFlag(), "--batch=0", path});
  EXPECT_EQ(batch.exit_code, 2) << batch.Describe();
  EXPECT_THAT(batch.stderr_text, HasSubstr("--batch"));
  const SubprocessResult poll =
      RunDwae({"tail", ServerFlag(), "--poll_interval=0s", path});
  EXPECT_EQ(poll.exit_code, 2) << poll.Describe();
  EXPECT_THAT(poll.stderr_text, HasSubstr("--poll_interval"));
  const std::string missing = dir() + "/missing.txt";
  const SubprocessResult r = RunDwae({"tail", ServerFlag(), missing});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr(missing));
}

TEST_F(TailCliTest, ShardedReplaySpreadsSensorsOverReplicas) {
  constexpr int kLines = 3000;
  constexpr int kSensors = 30;
  const std::string path = dir() + "/sharded.txt";
  WriteText(path, Join(HeadLines(kLines), 0, kLines));
  std::vector<std::string> servers;
  for (int i = 0; i < kReplicas; ++i) servers.push_back(Address(i));
  // The mapping every client computes: line n is sensor "replay-<n mod 30>".
  const ShardRing ring(servers);
  std::vector<uint64_t> expected(kReplicas, 0);
  for (int n = 1; n <= kLines; ++n) {
    ++expected[ring.ShardFor(absl::StrCat("replay-", n % kSensors))];
  }
  const std::string verdicts_path = dir() + "/sharded.jsonl";
  const std::vector<std::string> args = {
      "replay",
      "--json",
      "--servers=" + absl::StrJoin(servers, ","),
      absl::StrCat("--sensors=", kSensors),
      "--learn=off",
      "--batch=128",
      "--verdicts_out=" + verdicts_path,
      path};

  const std::vector<uint64_t> before = RecordsScored();
  for (int round = 1; round <= 2; ++round) {
    const SubprocessResult r = RunDwae(args);
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    absl::StatusOr<JsonValue> doc = testutil::ParseJson(r.stdout_text);
    ASSERT_TRUE(doc.ok()) << doc.status() << r.Describe();
    EXPECT_EQ((*doc)["records"].as_number(), kLines);
    EXPECT_EQ((*doc)["invalid"].as_number(), 0);
    for (int i = 0; i < kReplicas; ++i) {
      EXPECT_EQ((*doc)["per_server"][servers[i]].as_number(),
                double(expected[i]))
          << servers[i];
    }
    const std::vector<uint64_t> after = RecordsScored();
    ASSERT_EQ(after.size(), size_t(kReplicas));
    uint64_t total = 0;
    for (int i = 0; i < kReplicas; ++i) {
      const uint64_t scored = after[i] - before[i];
      EXPECT_GT(scored, 0u) << "replica " << i;
      // Exactly the ring's share, and exactly doubled by the second run:
      // no sensor's records were split over replicas.
      EXPECT_EQ(scored, round * expected[i]) << "replica " << i;
      total += scored;
    }
    EXPECT_EQ(total, uint64_t(round * kLines));

    // Every record answered once; each sensor got its 100 records.
    std::map<std::string, int> per_sensor;
    const std::vector<JsonValue> verdicts =
        JsonLines(testutil::ReadFileOrEmpty(verdicts_path));
    ASSERT_EQ(verdicts.size(), size_t(kLines));
    for (const JsonValue& v : verdicts)
      ++per_sensor[v["sensor_id"].as_string()];
    ASSERT_EQ(per_sensor.size(), size_t(kSensors));
    for (const auto& [sensor, count] : per_sensor) {
      EXPECT_EQ(count, kLines / kSensors) << sensor;
    }
  }
}

TEST_F(TailCliTest, ReplayRateIsPaced) {
  const std::string path = dir() + "/paced.txt";
  WriteText(path, Join(HeadLines(1000), 0, 1000));
  const SubprocessResult r =
      RunDwae({"replay", "--json", ServerFlag(), "--learn=off", "--rate=2000",
               "--progress=never", path});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  absl::StatusOr<JsonValue> doc = testutil::ParseJson(r.stdout_text);
  ASSERT_TRUE(doc.ok()) << doc.status() << r.Describe();
  EXPECT_EQ((*doc)["records"].as_number(), 1000);
  EXPECT_GE((*doc)["seconds"].as_number(), 0.45);
  EXPECT_LE((*doc)["seconds"].as_number(), 0.8);
}

TEST_F(TailCliTest, ProgressAlwaysDrawsOnStderr) {
  const std::string path = dir() + "/progress.txt";
  WriteText(path, Join(HeadLines(600), 0, 600));
  const SubprocessResult r =
      RunDwae({"replay", ServerFlag(), "--learn=off", "--rate=2000",
               "--progress=always", path});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr("\r"));
  EXPECT_THAT(r.stderr_text, HasSubstr("100.0%"));
  EXPECT_THAT(r.stderr_text, HasSubstr("answered 600"));
  EXPECT_EQ(r.stderr_text.back(), '\n');
  EXPECT_THAT(r.stdout_text, HasSubstr("actual normal"));
}

TEST_F(TailCliTest, ShardedReplayFailsWhenOneReplicaIsDown) {
  const std::string path = dir() + "/down.txt";
  WriteText(path, Join(HeadLines(10), 0, 10));
  const std::string closed =
      absl::StrCat("127.0.0.1:", testutil::ClosedLoopbackPort());
  const SubprocessResult r =
      RunDwae({"replay", "--timeout=1s",
               "--servers=" + Address(0) + "," + closed, path});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr("cannot reach " + closed));
  const SubprocessResult dup =
      RunDwae({"replay", "--servers=" + Address(0) + "," + Address(0), path});
  EXPECT_EQ(dup.exit_code, 2) << dup.Describe();
  EXPECT_THAT(dup.stderr_text, HasSubstr("--servers"));
}

}  // namespace
}  // namespace dwae
