// kafka_bench: how fast dwaed consumes, scores and learns from Kafka.
//
//   kafka_bench [--records=150000] [--partitions=6] [--daemons=1,2]
//               [--batch=2048] [--kafka_property=KEY=VALUE,...]
//
// For each daemon count: a fresh standalone mock cluster
// (tests/testing/kafka_mock_cluster) holding `records` NSL-KDD lines (the
// shipped files, repeated) spread over the partitions of one topic; then
// that many fresh dwaed processes (default model and learning policy,
// memory only) in one consumer group, started together. The clock starts
// when the first record is consumed (group joins take seconds on the mock
// and are not throughput) and stops when every partition's learned offset
// (ModelInfo.kafka, polled every 10 ms over gRPC) is at its end: every
// record consumed, scored and through the learner. Each daemon count runs
// twice: with fresh models (the time includes the warm-up: 10,000 records
// learned, then 10 epochs over them) and with models restored from a
// checkpoint past its warm-up (steady state). Prints one JSON object.
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "dwae/v1/detector.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/kafka_testing.h"
#include "tests/testing/temp_files.h"

ABSL_FLAG(int, records, 150000, "records in the topic");
ABSL_FLAG(int, partitions, 6, "partitions of the topic");
ABSL_FLAG(std::vector<std::string>, daemons,
          (std::vector<std::string>{"1", "2"}),
          "daemon counts to run, one scenario each");
ABSL_FLAG(int, batch, 2048, "dwaed --kafka_batch");
ABSL_FLAG(std::vector<std::string>, kafka_property, {},
          "KEY=VALUE,... passed to every dwaed as --kafka_property (e.g. "
          "librdkafka fetch settings to compare)");
ABSL_FLAG(bool, fresh, true, "run with fresh models");
ABSL_FLAG(bool, warm, true, "run with models past their warm-up");
ABSL_FLAG(bool, progress, false,
          "print consumed/learned counts to stderr every 0.5 s");
ABSL_FLAG(std::string, dwaed, DWAED_PATH, "dwaed binary");
ABSL_FLAG(std::string, mock, KAFKA_MOCK_PATH, "kafka_mock_cluster binary");

namespace dwae {
namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "kafka_bench: %s\n", message.c_str());
  return 1;
}

std::vector<std::string> Lines(size_t n) {
  std::vector<std::string> shipped;
  for (const char* file : {"KDDTrain+_20Percent.txt", "KDDTest+.txt"}) {
    const std::string text = testutil::ReadFileOrEmpty(
        absl::StrCat(DWAE_SOURCE_DIR, "/data/nsl-kdd/", file));
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (!line.empty()) shipped.emplace_back(line);
    }
  }
  std::vector<std::string> lines;
  for (size_t i = 0; i < n && !shipped.empty(); ++i) {
    lines.push_back(shipped[i % shipped.size()]);
  }
  return lines;
}

// Records the warm model learned before the warm runs (its warm-up is
// 10,000 records by default).
constexpr size_t kWarmupLines = 20000;

struct Run {
  double seconds = 0;
  uint64_t consumed = 0, learned = 0;
};

// Runs one scenario: `lines` in a fresh `partitions`-partition topic, then
// `daemons` dwaed processes in one group; daemon i keeps its state in
// state_dirs[i] when given (memory only otherwise).
absl::StatusOr<Run> RunScenario(const std::vector<std::string>& lines,
                                int partitions, int daemons,
                                const std::vector<std::string>& state_dirs,
                                const std::string& group) {
  absl::StatusOr<testutil::MockKafka> mock = testutil::StartMockKafka(
      absl::GetFlag(FLAGS_mock), {absl::StrCat("conn:", partitions)});
  if (!mock.ok()) return mock.status();
  if (absl::Status s =
          testutil::ProduceLines(mock->bootstrap, "conn", partitions, lines);
      !s.ok()) {
    return s;
  }
  std::vector<testutil::TestDaemon> procs;
  std::vector<std::unique_ptr<v1::Detector::Stub>> stubs;
  for (int i = 0; i < daemons; ++i) {
    std::vector<std::string> args = {
        absl::StrCat("--kafka_brokers=", mock->bootstrap),
        "--kafka_topics=conn", absl::StrCat("--kafka_group=", group),
        absl::StrCat("--kafka_batch=", absl::GetFlag(FLAGS_batch)),
        "--kafka_property=session.timeout.ms=6000"};
    for (const std::string& p : absl::GetFlag(FLAGS_kafka_property)) {
      args.push_back(absl::StrCat("--kafka_property=", p));
    }
    if (size_t(i) < state_dirs.size()) {
      args.push_back(absl::StrCat("--state_dir=", state_dirs[i]));
    }
    absl::StatusOr<testutil::TestDaemon> d =
        testutil::StartTestDaemon(absl::GetFlag(FLAGS_dwaed), "", args);
    if (!d.ok()) return d.status();
    stubs.push_back(v1::Detector::NewStub(
        grpc::CreateChannel(d->address(), grpc::InsecureChannelCredentials())));
    procs.push_back(*std::move(d));
  }
  const uint64_t total = lines.size();
  absl::Time first = absl::InfinitePast();
  absl::Time next_progress = absl::Now();
  Run run;
  const absl::Time deadline = absl::Now() + absl::Minutes(3);
  while (absl::Now() < deadline) {
    uint64_t consumed = 0, learned = 0;
    int assigned = 0;
    for (auto& stub : stubs) {
      grpc::ClientContext context;
      v1::ModelInfo info;
      if (!stub->GetModelInfo(&context, {}, &info).ok()) continue;
      consumed += info.kafka().records_consumed();
      for (const v1::KafkaPartitionStatus& p : info.kafka().partitions()) {
        ++assigned;
        learned += uint64_t(std::max<int64_t>(p.learned_offset(), 0));
      }
    }
    const absl::Time now = absl::Now();
    if (consumed > 0 && first == absl::InfinitePast()) first = now;
    if (absl::GetFlag(FLAGS_progress) && now >= next_progress) {
      std::fprintf(stderr,
                   "kafka_bench: %d daemon(s) t=%.2f s consumed %llu "
                   "learned through %llu\n",
                   daemons,
                   first == absl::InfinitePast()
                       ? 0.0
                       : absl::ToDoubleSeconds(now - first),
                   static_cast<unsigned long long>(consumed),
                   static_cast<unsigned long long>(learned));
      next_progress = now + absl::Milliseconds(500);
    }
    if (assigned == partitions && learned == total) {
      run.seconds = absl::ToDoubleSeconds(now - first);
      run.consumed = consumed;
      run.learned = learned;
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  for (testutil::TestDaemon& d : procs) testutil::StopTestDaemon(&d);
  if (run.seconds <= 0) {
    return absl::DeadlineExceededError(
        "the daemons did not learn every record");
  }
  return run;
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int partitions = absl::GetFlag(FLAGS_partitions);
  const std::vector<std::string> lines =
      Lines(size_t(absl::GetFlag(FLAGS_records)));
  if (lines.empty()) return Fail("no NSL-KDD data under data/nsl-kdd");
  nlohmann::json out;
  out["records"] = lines.size();
  out["partitions"] = partitions;
  out["batch"] = absl::GetFlag(FLAGS_batch);
  out["runs"] = nlohmann::json::array();
  // A model past its warm-up: one daemon learns kWarmupLines records from
  // another topic and group, and its final checkpoint seeds the warm runs
  // (the checkpoint's Kafka offsets belong to that group and are ignored).
  const std::string warm_dir = testutil::MakeTempDir("kafka-bench-warm");
  absl::StatusOr<Run> warming = RunScenario(
      Lines(kWarmupLines), partitions, 1, std::vector<std::string>{warm_dir},
      "bench-warmup");
  if (!warming.ok()) return Fail(std::string(warming.status().message()));
  const std::string warm_checkpoint = testutil::ReadFileOrEmpty(
      absl::StrCat(warm_dir, "/model.ckpt"));
  if (warm_checkpoint.empty()) return Fail("no warm checkpoint written");
  for (const bool warm : {false, true}) {
    if (warm ? !absl::GetFlag(FLAGS_warm) : !absl::GetFlag(FLAGS_fresh)) {
      continue;
    }
    for (const std::string& count : absl::GetFlag(FLAGS_daemons)) {
      const int daemons = std::atoi(count.c_str());
      if (daemons <= 0) return Fail(absl::StrCat("--daemons: bad count ", count));
      std::vector<std::string> dirs;
      for (int i = 0; warm && i < daemons; ++i) {
        dirs.push_back(testutil::MakeTempDir("kafka-bench"));
        if (!testutil::WriteFile(absl::StrCat(dirs.back(), "/model.ckpt"),
                                 warm_checkpoint)) {
          return Fail("cannot copy the warm checkpoint");
        }
      }
      absl::StatusOr<Run> run = RunScenario(
          lines, partitions, daemons, dirs,
          absl::StrCat("bench-", daemons, warm ? "-warm" : "-fresh"));
      if (!run.ok()) return Fail(std::string(run.status().message()));
      out["runs"].push_back({{"daemons", daemons},
                             {"model", warm ? "warm" : "fresh"},
                             {"seconds", run->seconds},
                             {"records_consumed", run->consumed},
                             {"records_learned_through", run->learned},
                             {"records_per_second",
                              double(lines.size()) / run->seconds}});
    }
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace
}  // namespace dwae

int main(int argc, char** argv) { return dwae::Main(argc, argv); }
