// kafka_bench: how fast dwaed consumes, scores and learns from Kafka.
//
//   kafka_bench [--records=150000] [--partitions=6] [--daemons=1,2]
//               [--batch=2048] [--kafka_property=KEY=VALUE,...]
//               [--dwaed=PATH] [--baseline_dwaed=PATH] [--rounds=1]
//
// For each daemon count: a fresh standalone mock cluster
// (tests/testing/kafka_mock_cluster) holding `records` NSL-KDD lines (the
// shipped files, repeated) spread over the partitions of one topic; then
// that many fresh dwaed processes (default model and learning policy,
// memory only) in one consumer group, started together. Each daemon count
// runs twice: with fresh models (the time includes the warm-up: 10,000
// records learned, then 10 epochs over them) and with models restored from
// a checkpoint past its warm-up (steady state). Prints one JSON object.
//
// What is timed: every daemon's ModelInfo is polled over gRPC, every 10 ms
// until a record is consumed and again once 80% are learned, every 40 ms
// in between (the daemons' gRPC threads answer the polls on the cores
// being measured).
// The clock starts at the first poll that sees a record consumed (group
// joins take seconds on the mock and are not throughput) and stops at the
// first poll that sees every partition's learned offset at its end: every
// record consumed, scored and through the learner, so that a checkpoint
// taken then would hold it. Records already consumed at the first poll
// were consumed before the clock started and are not counted:
// records_per_second = (records - consumed at the first poll) / seconds.
// daemon_cpu_us_per_record is the daemons' CPU time (every thread, from
// /proc) over the same interval per record counted: on a shared machine
// it moves less than the rate does. The mock cluster's CPU is reported
// beside it (mock_cpu_us_per_record): on one machine it competes with the
// daemons for the same cores.
//
// With --baseline_dwaed, both binaries run every scenario of every round,
// in alternating order (bench::PairedOrder: ABBA), and the JSON
// adds each binary's medians and the candidate/baseline ratios.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "bench/paired_rounds.h"
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
ABSL_FLAG(std::string, dwaed, DWAED_PATH, "dwaed binary (the candidate)");
ABSL_FLAG(std::string, baseline_dwaed, "",
          "a second dwaed binary run alternately with --dwaed in every "
          "round, for ratios within one run");
ABSL_FLAG(int, rounds, 1, "rounds of every scenario (per binary)");
ABSL_FLAG(bool, daemon_logs, false,
          "print each daemon's stderr to stderr when it stops");
ABSL_FLAG(std::string, mock, KAFKA_MOCK_PATH, "kafka_mock_cluster binary");

namespace dwae {
namespace {

using bench::Median;

using json = nlohmann::json;

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
  // Records counted: the topic's, less those consumed before the clock.
  uint64_t counted = 0;
  uint64_t consumed = 0, learned = 0, pauses = 0;
  double daemon_cpu_seconds = 0, mock_cpu_seconds = 0;
  // The largest peak resident set (VmHWM) of the daemons, read when the
  // clock stops: what the prefetched messages and the model cost.
  double daemon_peak_rss_mb = 0;
  // The daemons' CPU seconds per thread name (dwae-kafka, dwae-learner,
  // rdk:broker1, grpcpp_sync_ser, ...), summed over the daemons.
  std::map<std::string, double> thread_cpu_seconds;
};

// What the daemons report in one poll.
struct Poll {
  uint64_t consumed = 0, learned = 0, pauses = 0;
  int assigned = 0;
};

Poll PollDaemons(
    const std::vector<std::unique_ptr<v1::Detector::Stub>>& stubs) {
  Poll poll;
  for (const auto& stub : stubs) {
    grpc::ClientContext context;
    v1::ModelInfo info;
    if (!stub->GetModelInfo(&context, {}, &info).ok()) continue;
    poll.consumed += info.kafka().records_consumed();
    poll.pauses += info.kafka().pauses();
    for (const v1::KafkaPartitionStatus& p : info.kafka().partitions()) {
      ++poll.assigned;
      poll.learned += uint64_t(std::max<int64_t>(p.learned_offset(), 0));
    }
  }
  return poll;
}

double CpuSeconds(const std::vector<testutil::TestDaemon>& daemons) {
  double sum = 0;
  for (const testutil::TestDaemon& d : daemons) {
    sum += d.process->CpuSeconds();
  }
  return sum;
}

// A process's peak resident set in MB (VmHWM in /proc/PID/status), 0 if
// unreadable.
double PeakRssMb(pid_t pid) {
  const std::string status =
      testutil::ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/status"));
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (!absl::ConsumePrefix(&line, "VmHWM:")) continue;
    int64_t kb = 0;
    if (absl::SimpleAtoi(
            absl::StripSuffix(absl::StripAsciiWhitespace(line), " kB"), &kb)) {
      return double(kb) / 1024;
    }
  }
  return 0;
}

std::map<std::string, double> ThreadCpuSeconds(
    const std::vector<testutil::TestDaemon>& daemons) {
  std::map<std::string, double> sum;
  for (const testutil::TestDaemon& d : daemons) {
    for (const auto& [name, cpu] : d.process->ThreadCpuSeconds()) {
      sum[name] += cpu;
    }
  }
  return sum;
}

// Runs one scenario: `lines` in a fresh `partitions`-partition topic, then
// `daemons` processes of `dwaed` in one group; daemon i keeps its state in
// state_dirs[i] when given (memory only otherwise).
absl::StatusOr<Run> RunScenario(const std::string& dwaed,
                                const std::vector<std::string>& lines,
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
        testutil::StartTestDaemon(dwaed, "", args);
    if (!d.ok()) return d.status();
    stubs.push_back(v1::Detector::NewStub(
        grpc::CreateChannel(d->address(), grpc::InsecureChannelCredentials())));
    procs.push_back(*std::move(d));
  }
  const uint64_t total = lines.size();
  absl::Time first = absl::InfinitePast();
  absl::Time next_progress = absl::Now();
  double daemon_cpu = 0, mock_cpu = 0;
  std::map<std::string, double> thread_cpu;
  Run run;
  const absl::Time deadline = absl::Now() + absl::Minutes(3);
  while (absl::Now() < deadline) {
    const Poll poll = PollDaemons(stubs);
    const absl::Time now = absl::Now();
    if (poll.consumed > 0 && first == absl::InfinitePast()) {
      first = now;
      run.counted = total - std::min(poll.consumed, total);
      daemon_cpu = CpuSeconds(procs);
      thread_cpu = ThreadCpuSeconds(procs);
      mock_cpu = mock->process->CpuSeconds();
    }
    if (absl::GetFlag(FLAGS_progress) && now >= next_progress) {
      std::fprintf(stderr,
                   "kafka_bench: %d daemon(s) t=%.2f s consumed %llu "
                   "learned through %llu pauses %llu\n",
                   daemons,
                   first == absl::InfinitePast()
                       ? 0.0
                       : absl::ToDoubleSeconds(now - first),
                   static_cast<unsigned long long>(poll.consumed),
                   static_cast<unsigned long long>(poll.learned),
                   static_cast<unsigned long long>(poll.pauses));
      next_progress = now + absl::Milliseconds(500);
    }
    if (poll.assigned == partitions && poll.learned == total) {
      run.seconds = absl::ToDoubleSeconds(now - first);
      run.daemon_cpu_seconds = CpuSeconds(procs) - daemon_cpu;
      run.mock_cpu_seconds = mock->process->CpuSeconds() - mock_cpu;
      run.thread_cpu_seconds = ThreadCpuSeconds(procs);
      for (auto& [name, cpu] : run.thread_cpu_seconds) cpu -= thread_cpu[name];
      run.consumed = poll.consumed;
      run.learned = poll.learned;
      run.pauses = poll.pauses;
      for (const testutil::TestDaemon& d : procs) {
        run.daemon_peak_rss_mb =
            std::max(run.daemon_peak_rss_mb, PeakRssMb(d.process->pid()));
      }
      break;
    }
    const bool near_an_end =
        first == absl::InfinitePast() || poll.learned >= total * 8 / 10;
    absl::SleepFor(absl::Milliseconds(near_an_end ? 10 : 40));
  }
  for (testutil::TestDaemon& d : procs) {
    const testutil::SubprocessResult stopped = testutil::StopTestDaemon(&d);
    if (absl::GetFlag(FLAGS_daemon_logs)) {
      std::fprintf(stderr, "%s", stopped.stderr_text.c_str());
    }
  }
  if (run.seconds <= 0 || run.counted == 0) {
    return absl::DeadlineExceededError(
        "the daemons did not learn every record within the clock");
  }
  return run;
}

json RunJson(const Run& run) {
  const double n = double(run.counted);
  json threads = json::object();
  for (const auto& [name, cpu] : run.thread_cpu_seconds) {
    if (cpu > 0) threads[name] = cpu * 1e6 / n;
  }
  return {{"thread_cpu_us_per_record", threads},
          {"seconds", run.seconds},
          {"records_counted", run.counted},
          {"records_consumed", run.consumed},
          {"records_learned_through", run.learned},
          {"records_per_second", n / run.seconds},
          {"daemon_cpu_us_per_record", run.daemon_cpu_seconds * 1e6 / n},
          {"mock_cpu_us_per_record", run.mock_cpu_seconds * 1e6 / n},
          {"daemon_peak_rss_mb", run.daemon_peak_rss_mb},
          {"pauses", run.pauses}};
}

// Per scenario ("1-warm", ...): each binary's medians and their ratios.
json Summary(const json& runs, bool with_baseline) {
  json out = json::object();
  for (const json& r : runs) {
    const std::string scenario = absl::StrCat(r["daemons"].get<int>(), "-",
                                              r["model"].get<std::string>());
    json& b = out[scenario][r["binary"].get<std::string>()];
    for (const char* key : {"records_per_second", "daemon_cpu_us_per_record",
                            "daemon_peak_rss_mb"}) {
      b[key].push_back(r[key]);
    }
    for (const auto& [thread, us] : r["thread_cpu_us_per_record"].items()) {
      b["thread_cpu_us_per_record"][thread].push_back(us);
    }
  }
  for (auto& [scenario, binaries] : out.items()) {
    for (auto& [binary, keys] : binaries.items()) {
      for (auto& [key, values] : keys.items()) {
        if (values.is_array()) {
          values = Median(values.get<std::vector<double>>());
          continue;
        }
        for (auto& [thread, us] : values.items()) {
          us = Median(us.get<std::vector<double>>());
        }
      }
    }
    if (!with_baseline || !binaries.contains("baseline")) continue;
    for (const char* key : {"records_per_second", "daemon_cpu_us_per_record"}) {
      binaries["ratio"][key] = binaries["candidate"][key].get<double>() /
                               binaries["baseline"][key].get<double>();
    }
  }
  return out;
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int partitions = absl::GetFlag(FLAGS_partitions);
  const std::vector<std::string> lines =
      Lines(size_t(absl::GetFlag(FLAGS_records)));
  if (lines.empty()) return Fail("no NSL-KDD data under data/nsl-kdd");
  const std::string candidate = absl::GetFlag(FLAGS_dwaed);
  const std::string baseline = absl::GetFlag(FLAGS_baseline_dwaed);
  json out;
  out["records"] = lines.size();
  out["partitions"] = partitions;
  out["batch"] = absl::GetFlag(FLAGS_batch);
  out["runs"] = json::array();
  // A model past its warm-up: one daemon learns kWarmupLines records from
  // another topic and group, and its final checkpoint seeds the warm runs
  // (the checkpoint's Kafka offsets belong to that group and are ignored).
  // The candidate writes it; both binaries read it.
  const std::string warm_dir = testutil::MakeTempDir("kafka-bench-warm");
  absl::StatusOr<Run> warming =
      RunScenario(candidate, Lines(kWarmupLines), partitions, 1,
                  std::vector<std::string>{warm_dir}, "bench-warmup");
  if (!warming.ok()) return Fail(std::string(warming.status().message()));
  const std::string warm_checkpoint =
      testutil::ReadFileOrEmpty(absl::StrCat(warm_dir, "/model.ckpt"));
  if (warm_checkpoint.empty()) return Fail("no warm checkpoint written");
  const int rounds = std::max(1, absl::GetFlag(FLAGS_rounds));
  for (int round = 0; round < rounds; ++round) {
    const std::vector<std::pair<std::string, std::string>> binaries =
        bench::PairedOrder(candidate, baseline, round);
    for (const bool warm : {false, true}) {
      if (warm ? !absl::GetFlag(FLAGS_warm) : !absl::GetFlag(FLAGS_fresh)) {
        continue;
      }
      for (const std::string& count : absl::GetFlag(FLAGS_daemons)) {
        const int daemons = std::atoi(count.c_str());
        if (daemons <= 0) {
          return Fail(absl::StrCat("--daemons: bad count ", count));
        }
        for (const auto& [name, binary] : binaries) {
          std::vector<std::string> dirs;
          for (int i = 0; warm && i < daemons; ++i) {
            dirs.push_back(testutil::MakeTempDir("kafka-bench"));
            if (!testutil::WriteFile(absl::StrCat(dirs.back(), "/model.ckpt"),
                                     warm_checkpoint)) {
              return Fail("cannot copy the warm checkpoint");
            }
          }
          absl::StatusOr<Run> run = RunScenario(
              binary, lines, partitions, daemons, dirs,
              absl::StrCat("bench-", daemons, warm ? "-warm" : "-fresh"));
          if (!run.ok()) {
            return Fail(absl::StrCat(name, ": ", run.status().message()));
          }
          json r = RunJson(*run);
          r["binary"] = name;
          r["round"] = round;
          r["daemons"] = daemons;
          r["model"] = warm ? "warm" : "fresh";
          std::fprintf(stderr, "kafka_bench: %s\n", r.dump().c_str());
          out["runs"].push_back(std::move(r));
        }
      }
    }
  }
  out["summary"] = Summary(out["runs"], !baseline.empty());
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace
}  // namespace dwae

int main(int argc, char** argv) { return dwae::Main(argc, argv); }
