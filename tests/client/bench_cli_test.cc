// End-to-end tests of `dwae bench`: one real dwaed (DWAED_PATH) is started
// for the whole suite on a free port with a short warm-up; each test runs the
// real dwae binary (DWAE_CLI_PATH) from the repository root against it, with
// the default input file (data/nsl-kdd/KDDTest+.txt).
//
// The suite shares the daemon, so CMake registers this binary as ONE ctest
// test (no gtest_discover_tests, which would run every TEST in its own
// process and start a daemon each time). The load runs last one second each;
// the whole suite takes a few seconds.

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/latency.h"
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

// Keys every `dwae bench --json` object must have.
const char* const kSummaryKeys[] = {
    "records_per_second",
    "p50_ms",
    "p99_ms",
    "p999_ms",
    "records",
    "calls",
    "errors",
    "seconds",
    "mode",
    "streams",
    "batch",
    "learning",
    "servers",
    "rate",
};

// ---- percentiles (no daemon needed) ----------------------------------------

TEST(LatencyTest, NearestRankPercentiles) {
  LatencySamples s;
  for (int i = 1000; i >= 1; --i) s.Add(double(i));  // unsorted on purpose
  const LatencySummary sum = Summarize(s);
  EXPECT_EQ(sum.count, 1000u);
  EXPECT_EQ(sum.min_ms, 1);
  EXPECT_EQ(sum.max_ms, 1000);
  EXPECT_EQ(sum.p50_ms, 500);
  EXPECT_EQ(sum.p99_ms, 990);
  EXPECT_EQ(sum.p999_ms, 999);
  EXPECT_DOUBLE_EQ(sum.mean_ms, 500.5);
}

TEST(LatencyTest, FewSamplesAndNone) {
  LatencySamples one;
  one.Add(2.5);
  const LatencySummary s1 = Summarize(one);
  EXPECT_EQ(s1.p50_ms, 2.5);
  EXPECT_EQ(s1.p999_ms, 2.5);
  const LatencySummary s0 = Summarize(LatencySamples());
  EXPECT_EQ(s0.count, 0u);
  EXPECT_EQ(s0.p99_ms, 0);
  EXPECT_EQ(NearestRank({1, 2, 3}, 0), 1);
  EXPECT_EQ(NearestRank({1, 2, 3}, 1), 3);
}

// ---- the binary against one real daemon ------------------------------------

class BenchCliTest : public testutil::SharedDaemonSuite {
 protected:
  static void SetUpTestSuite() {
    StartDaemons(
        testutil::CliSuiteOptions(DWAED_PATH, DWAE_CLI_PATH, "dwae_bench_cli"));
  }

  // Runs `dwae bench --json ARGS`, expects success and one JSON object with
  // every summary key.
  static JsonValue RunJson(std::vector<std::string> args) {
    args.insert(args.begin(), {"bench", "--json", ServerFlag()});
    const SubprocessResult r = RunDwae(args);
    std::optional<JsonValue> doc = testutil::ParseJsonStdout(r);
    if (!doc.has_value()) return JsonValue();
    for (const char* key : kSummaryKeys) {
      EXPECT_TRUE(doc->has(key)) << "missing key " << key << "\n"
                                 << r.stdout_text;
    }
    // The tests expect no errors; when one happens, the bench's first error
    // messages (on stderr) say which call failed and why.
    if ((*doc)["errors"].as_number() != 0) {
      ADD_FAILURE() << "dwae bench reported errors:\n" << r.stderr_text;
    }
    return *std::move(doc);
  }

  static void ExpectOrderedPercentiles(const JsonValue& doc) {
    const double p50 = doc["p50_ms"].as_number();
    const double p99 = doc["p99_ms"].as_number();
    const double p999 = doc["p999_ms"].as_number();
    EXPECT_GT(p50, 0);
    EXPECT_LE(p50, p99);
    EXPECT_LE(p99, p999);
  }
};

TEST_F(BenchCliTest, StreamModeJson) {
  const JsonValue doc = RunJson({"--duration=1s"});
  EXPECT_EQ(doc["mode"].as_string(), "stream");
  EXPECT_EQ(doc["learning"].as_string(), "gated");
  EXPECT_EQ(doc["streams"].as_number(), 2);
  EXPECT_EQ(doc["batch"].as_number(), 512);
  ASSERT_TRUE(doc["servers"].is_array());
  ASSERT_EQ(doc["servers"].size(), 1u);
  EXPECT_EQ(doc["servers"].at(0).as_string(),
            absl::StrCat("127.0.0.1:", port()));
  EXPECT_GT(doc["records"].as_number(), 0);
  EXPECT_EQ(doc["errors"].as_number(), 0);
  // Every answered batch is a full one.
  EXPECT_EQ(doc["records"].as_number(), doc["calls"].as_number() * 512);
  EXPECT_GE(doc["seconds"].as_number(), 1);
  EXPECT_GT(doc["records_per_second"].as_number(), 0);
  ExpectOrderedPercentiles(doc);
}

TEST_F(BenchCliTest, UnaryModePacedHoldsTheRate) {
  const JsonValue doc =
      RunJson({"--mode=unary", "--batch=1", "--rate=200", "--duration=1s"});
  EXPECT_EQ(doc["mode"].as_string(), "unary");
  EXPECT_EQ(doc["rate"].as_number(), 200);
  const double calls = doc["calls"].as_number();
  EXPECT_GE(calls, 160);
  EXPECT_LE(calls, 240);
  EXPECT_EQ(doc["records"].as_number(), calls);  // one record per call
  EXPECT_EQ(doc["errors"].as_number(), 0);
  ExpectOrderedPercentiles(doc);
}

TEST_F(BenchCliTest, UnaryUnpacedSeveralSensors) {
  const JsonValue doc =
      RunJson({"--mode=unary", "--streams=1", "--batch=16", "--sensors=5",
               "--learn=off", "--duration=300ms"});
  EXPECT_GT(doc["calls"].as_number(), 0);
  EXPECT_EQ(doc["records"].as_number(), doc["calls"].as_number() * 16);
  EXPECT_EQ(doc["errors"].as_number(), 0);
  EXPECT_EQ(doc["learning"].as_string(), "off");
  ExpectOrderedPercentiles(doc);
}

TEST_F(BenchCliTest, SeveralServersShardBySensor) {
  // Two spellings of the one daemon are two replicas to the client: the
  // sensors are sharded over both and each gets its own streams.
  const std::string a = absl::StrCat("127.0.0.1:", port());
  const std::string b = absl::StrCat("localhost:", port());
  const SubprocessResult r =
      RunDwae({"bench", "--json", "--servers=" + a + "," + b, "--sensors=16",
               "--streams=1", "--learn=off", "--duration=300ms"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  absl::StatusOr<JsonValue> doc = testutil::ParseJson(r.stdout_text);
  ASSERT_TRUE(doc.ok()) << doc.status() << "\n" << r.Describe();
  ASSERT_EQ((*doc)["servers"].size(), 2u);
  EXPECT_EQ((*doc)["servers"].at(0).as_string(), a);
  EXPECT_EQ((*doc)["servers"].at(1).as_string(), b);
  EXPECT_GT((*doc)["records"].as_number(), 0);
  EXPECT_EQ((*doc)["errors"].as_number(), 0);
  // 16 sensors cover both replicas: neither is reported idle.
  EXPECT_THAT(r.stderr_text, ::testing::Not(HasSubstr("gets no load")));

  // One sensor lives on one replica only; the other is reported idle.
  const SubprocessResult one =
      RunDwae({"bench", "--servers=" + a + "," + b, "--streams=1",
               "--learn=off", "--duration=200ms"});
  ASSERT_EQ(one.exit_code, 0) << one.Describe();
  EXPECT_THAT(one.stderr_text, HasSubstr("gets no load"));
}

TEST_F(BenchCliTest, OversizedBatchesAreCountedAsErrors) {
  // The daemon refuses batches over serving.max_batch_records (4096) with an
  // error verdict per record: nothing is scored, which fails the bench.
  const SubprocessResult r =
      RunDwae({"bench", ServerFlag(), "--json", "--streams=1", "--batch=5000",
               "--max_in_flight=1", "--duration=200ms"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  absl::StatusOr<JsonValue> doc = testutil::ParseJson(r.stdout_text);
  ASSERT_TRUE(doc.ok()) << doc.status() << "\n" << r.Describe();
  EXPECT_EQ((*doc)["records"].as_number(), 0);
  EXPECT_GT((*doc)["errors"].as_number(), 0);
  EXPECT_THAT(r.stderr_text, HasSubstr("no record was scored"));
}

TEST_F(BenchCliTest, TextSummary) {
  const SubprocessResult r =
      RunDwae({"bench", ServerFlag(), "--streams=1", "--duration=300ms"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  for (const char* text :
       {"stream mode", "records/s", "p50", "p99", "p99.9", "errors"}) {
    EXPECT_THAT(r.stdout_text, HasSubstr(text));
  }
}

TEST_F(BenchCliTest, UsageErrorsExitTwo) {
  struct Case {
    const char* flag;
    const char* message;
  };
  const Case cases[] = {
      {"--mode=bogus", "--mode"},
      {"--streams=0", "--streams"},
      {"--streams=257", "--streams"},
      {"--duration=0s", "--duration"},
      {"--batch=0", "--batch"},
      {"--batch=65537", "--batch"},
      {"--rate=-1", "--rate"},
      {"--sensors=0", "--sensors"},
      {"--max_in_flight=0", "--max_in_flight"},
      {"--learn=sometimes", "--learn"},
  };
  for (const Case& c : cases) {
    const SubprocessResult r = RunDwae({"bench", ServerFlag(), c.flag});
    EXPECT_EQ(r.exit_code, 2) << c.flag << "\n" << r.Describe();
    EXPECT_THAT(r.stderr_text, HasSubstr(c.message)) << c.flag;
  }
  const SubprocessResult two = RunDwae({"bench", ServerFlag(), "a", "b"});
  EXPECT_EQ(two.exit_code, 2) << two.Describe();
}

TEST_F(BenchCliTest, UnreachableServerExitsOne) {
  const std::string address =
      absl::StrCat("127.0.0.1:", testutil::ClosedLoopbackPort());
  const SubprocessResult r = RunDwae(
      {"bench", "--server=" + address, "--timeout=1s", "--duration=1s"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr("cannot reach " + address));
  EXPECT_LT(r.elapsed, absl::Seconds(10)) << r.Describe();
}

TEST_F(BenchCliTest, MissingFileExitsOne) {
  const std::string path = dir() + "/no_such_file.txt";
  const SubprocessResult r = RunDwae({"bench", ServerFlag(), path});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr(path));
}

}  // namespace
}  // namespace dwae
