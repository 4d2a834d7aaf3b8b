// daemon_bench: steady-state throughput, latency and memory of a real dwaed,
// in one command that prints one JSON object.
//
//   daemon_bench [--dwaed=PATH] [--baseline_dwaed=PATH] [--rounds=1]
//                [--stream_seconds=15] [--unary_seconds=10]
//                [--unary_rate=1000] [--perf_record=PREFIX]
//
// Per daemon binary and round:
//   1. a fresh dwaed (default settings, a temporary --state_dir, free
//      loopback ports for gRPC and /metrics);
//   2. warm-up: `dwae replay --filter_label=normal --learn=all
//      data/nsl-kdd/KDDTrain+_20Percent.txt` (13,449 normal records; the
//      default warm-up is 10,000), then `dwae sync --json`, which returns
//      once everything sent is learned and published: the bench refuses to
//      measure a model that is still warming up (never a sleep);
//   3. stream: `dwae bench --mode=stream --learn=gated --streams=2
//      --batch=512` on KDDTest+ for --stream_seconds; the daemon's CPU time
//      (/proc/PID/stat) over the scenario gives CPU microseconds per record,
//      which a loaded machine distorts less than records/s;
//   4. `dwae sync` again (the stream leaves the learner a backlog; the unary
//      scenario starts from an idle learner, as in steady state), then
//      process_resident_memory_bytes from /metrics;
//   5. unary: `dwae bench --mode=unary --batch=1 --rate=--unary_rate`
//      (paced; latencies from the scheduled send, see client/bench_workers.cc)
//      for --unary_seconds, then RSS again. Beside the client's figures: the
//      daemon's CPU time per call, and from
//      dwae_rpc_duration_seconds{method="Score"} the handler's own share of
//      calls over 1 ms, which separates the daemon's tail from the
//      client's and the machine's (the client's send_lag).
// With --baseline_dwaed, both binaries run every round, in alternating order
// (ABBA), with the same dwae client, and `ratios` compares the medians over
// rounds (candidate / baseline): the machine's load changes within minutes,
// so only ratios from one run mean anything. --perf_record=PREFIX records
// the daemon with `perf record -e cpu-clock -F 999 --call-graph=dwarf`
// during each stream scenario into PREFIX-<binary>-<round>.data (DWARF call
// chains: libc, protobuf and gRPC have no frame pointers; see
// scripts/perf-costs for the breakdown).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "bench/paired_rounds.h"
#include "tests/server/http_get.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_files.h"

ABSL_FLAG(std::string, dwaed, DWAED_PATH, "dwaed binary to measure");
ABSL_FLAG(std::string, baseline_dwaed, "",
          "a second dwaed binary (e.g. a copy built from main) measured in "
          "the same run; ratios are candidate / baseline");
ABSL_FLAG(std::string, dwae, DWAE_CLI_PATH, "dwae client binary");
ABSL_FLAG(int, rounds, 1, "rounds per binary; figures are medians");
ABSL_FLAG(int, stream_seconds, 15, "duration of the stream scenario");
ABSL_FLAG(int, unary_seconds, 10, "duration of the unary scenario");
ABSL_FLAG(int, unary_rate, 1000, "unary calls per second");
ABSL_FLAG(std::string, perf_record, "",
          "record the daemon with perf during the stream scenario into "
          "PREFIX-<binary>-<round>.data");

namespace dwae {
namespace {

using bench::Median;

using nlohmann::json;

constexpr char kWarmupFile[] = "data/nsl-kdd/KDDTrain+_20Percent.txt";
constexpr char kTestFile[] = "data/nsl-kdd/KDDTest+.txt";

// Runs the dwae client from the source tree; its stdout parsed as JSON when
// `json_out` is set. Errors carry both output streams.
absl::Status RunClient(const std::vector<std::string>& args,
                       absl::Duration timeout, json* json_out = nullptr) {
  std::vector<std::string> argv = {absl::GetFlag(FLAGS_dwae)};
  argv.insert(argv.end(), args.begin(), args.end());
  testutil::SubprocessOptions options;
  options.working_dir = DWAE_SOURCE_DIR;
  options.timeout = timeout;
  absl::StatusOr<testutil::SubprocessResult> r =
      testutil::RunSubprocess(argv, options);
  if (!r.ok()) return r.status();
  if (!r->exited_ok()) {
    return absl::InternalError(
        absl::StrCat("dwae ", args[0], " failed: ", r->Describe()));
  }
  if (json_out != nullptr) {
    *json_out =
        json::parse(r->stdout_text, nullptr, /*allow_exceptions=*/false);
    if (!json_out->is_object()) {
      return absl::InternalError(absl::StrCat(
          "dwae ", args[0], ": no JSON object on stdout: ", r->stdout_text));
    }
  }
  return absl::OkStatus();
}

// Waits for the learner and checks that the model is past its warm-up.
absl::Status Sync(const std::string& server) {
  json synced;
  if (absl::Status s = RunClient({"sync", "--server=" + server, "--json"},
                                 absl::Minutes(5), &synced);
      !s.ok()) {
    return s;
  }
  if (synced.value("warming_up", true)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the model is still warming up after sync: ", synced.dump()));
  }
  return absl::OkStatus();
}

testutil::MetricsScrape Scrape(int metrics_port) {
  return testutil::ParseMetricsText(
      testutil::HttpBody(testutil::HttpGet(metrics_port, "/metrics")));
}

// The Score handler's own time (dwae_rpc_duration_seconds{method="Score"})
// between two scrapes: the share of calls over 1 ms and the bucket bound
// that holds the 99th percentile. It leaves out what the client and gRPC's
// transport add, so next to the client's p99 it tells where a tail is.
json HandlerLatency(const testutil::MetricsScrape& before,
                    const testutil::MetricsScrape& after) {
  const std::string prefix =
      "dwae_rpc_duration_seconds_bucket{method=\"Score\",le=\"";
  std::vector<std::pair<double, double>> buckets;  // (le, calls <= le)
  for (const auto& [series, value] : after.samples) {
    if (!absl::StartsWith(series, prefix)) continue;
    const std::string le = series.substr(
        prefix.size(), series.size() - prefix.size() - 2);  // drop "}
    const double bound = le == "+Inf" ? HUGE_VAL : std::stod(le);
    const double earlier = before.Has(series) ? before.Value(series) : 0;
    buckets.emplace_back(bound, value - earlier);
  }
  std::sort(buckets.begin(), buckets.end());
  if (buckets.empty() || buckets.back().second <= 0) return json::object();
  const double calls = buckets.back().second;
  double p99_bound = HUGE_VAL, within_1ms = 0;
  for (const auto& [bound, n] : buckets) {
    if (bound <= 1e-3 * 1.0001) within_1ms = n;
    if (n >= 0.99 * calls && p99_bound == HUGE_VAL) p99_bound = bound;
  }
  return {{"calls", calls},
          {"share_over_1ms", 1 - within_1ms / calls},
          {"p99_at_most_ms", p99_bound * 1e3}};
}

// Starts `perf record` on `pid` when --perf_record is set (else null).
std::unique_ptr<testutil::Subprocess> StartPerf(pid_t pid,
                                                const std::string& name,
                                                int round) {
  const std::string prefix = absl::GetFlag(FLAGS_perf_record);
  if (prefix.empty()) return nullptr;
  absl::StatusOr<std::unique_ptr<testutil::Subprocess>> perf =
      testutil::Subprocess::Start(
          {"perf", "record", "-e", "cpu-clock", "-F", "999",
           "--call-graph=dwarf,8192", "-p", absl::StrCat(pid), "-o",
           absl::StrCat(prefix, "-", name, "-", round, ".data")});
  if (!perf.ok()) {
    std::fprintf(stderr, "daemon_bench: perf: %s\n",
                 std::string(perf.status().message()).c_str());
    return nullptr;
  }
  return *std::move(perf);
}

// One round of one binary: steps 1-5 of the file comment.
absl::StatusOr<json> RunRound(const std::string& dwaed, const std::string& name,
                              int round) {
  const std::string state_dir = testutil::MakeTempDir("daemon-bench");
  absl::StatusOr<testutil::TestDaemon> daemon = testutil::StartTestDaemon(
      dwaed, "", {"--metrics_listen=127.0.0.1:0", "--state_dir=" + state_dir});
  if (!daemon.ok()) return daemon.status();
  const std::string server = "--server=" + daemon->address();
  const pid_t pid = daemon->process->pid();
  json out = {{"binary", name}, {"dwaed", dwaed}, {"round", round}};
  absl::Status status = RunClient(
      {"replay", server, "--filter_label=normal", "--learn=all", kWarmupFile},
      absl::Minutes(5));
  if (status.ok()) status = Sync(daemon->address());
  if (status.ok()) {
    std::unique_ptr<testutil::Subprocess> perf = StartPerf(pid, name, round);
    const double cpu_before = daemon->process->CpuSeconds();
    json stream;
    status = RunClient(
        {"bench", server,
         absl::StrCat("--duration=", absl::GetFlag(FLAGS_stream_seconds), "s"),
         "--mode=stream", "--learn=gated", "--streams=2", "--batch=512",
         "--json", kTestFile},
        absl::Seconds(absl::GetFlag(FLAGS_stream_seconds) + 120), &stream);
    const double cpu = daemon->process->CpuSeconds() - cpu_before;
    if (perf != nullptr) {
      perf->Signal(SIGINT);
      perf->Wait(absl::Seconds(60));
    }
    if (status.ok()) {
      const double records = stream.value("records", 0.0);
      stream["daemon_cpu_seconds"] = cpu;
      stream["daemon_cpu_us_per_record"] =
          records > 0 ? cpu * 1e6 / records : 0.0;
      out["stream"] = stream;
    }
  }
  if (status.ok()) status = Sync(daemon->address());
  if (status.ok()) {
    testutil::MetricsScrape scrape = Scrape(daemon->metrics_port);
    out["rss_bytes_after_stream"] =
        scrape.Value("process_resident_memory_bytes");
    const double cpu_before = daemon->process->CpuSeconds();
    json unary;
    status = RunClient(
        {"bench", server,
         absl::StrCat("--duration=", absl::GetFlag(FLAGS_unary_seconds), "s"),
         "--mode=unary", "--batch=1",
         absl::StrCat("--rate=", absl::GetFlag(FLAGS_unary_rate)), "--json",
         kTestFile},
        absl::Seconds(absl::GetFlag(FLAGS_unary_seconds) + 120), &unary);
    const double cpu = daemon->process->CpuSeconds() - cpu_before;
    const testutil::MetricsScrape after = Scrape(daemon->metrics_port);
    if (status.ok()) {
      const double calls = std::max(1.0, unary.value("calls", 0.0));
      unary["daemon_cpu_us_per_call"] = cpu * 1e6 / calls;
      unary["handler"] = HandlerLatency(scrape, after);
      out["unary"] = unary;
    }
    out["rss_bytes_after_unary"] = after.Value("process_resident_memory_bytes");
  }
  const testutil::SubprocessResult stopped = testutil::StopTestDaemon(&*daemon);
  if (!status.ok()) return status;
  if (stopped.exit_code != 0) {
    return absl::InternalError(
        absl::StrCat("dwaed did not stop cleanly: ", stopped.Describe()));
  }
  return out;
}

// The headline figures of one binary: medians over its rounds.
json Summary(const json& runs, const std::string& name) {
  std::vector<double> rps, cpu, p50, p99, p999, lag, rss, over_1ms, call_cpu;
  for (const json& run : runs) {
    if (run["binary"] != name) continue;
    rps.push_back(run["stream"]["records_per_second"].get<double>());
    cpu.push_back(run["stream"]["daemon_cpu_us_per_record"].get<double>());
    p50.push_back(run["unary"]["p50_ms"].get<double>());
    p99.push_back(run["unary"]["p99_ms"].get<double>());
    p999.push_back(run["unary"]["p999_ms"].get<double>());
    lag.push_back(run["unary"].value("send_lag_p99_ms", 0.0));
    over_1ms.push_back(run["unary"]["handler"].value("share_over_1ms", 0.0));
    call_cpu.push_back(run["unary"]["daemon_cpu_us_per_call"]);
    rss.push_back(std::max(run["rss_bytes_after_stream"].get<double>(),
                           run["rss_bytes_after_unary"].get<double>()));
  }
  return {{"stream_records_per_second", Median(rps)},
          {"stream_daemon_cpu_us_per_record", Median(cpu)},
          {"unary_p50_ms", Median(p50)},
          {"unary_p99_ms", Median(p99)},
          {"unary_p999_ms", Median(p999)},
          {"unary_send_lag_p99_ms", Median(lag)},
          {"unary_handler_share_over_1ms", Median(over_1ms)},
          {"unary_daemon_cpu_us_per_call", Median(call_cpu)},
          {"rss_bytes", Median(rss)}};
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const std::string candidate = absl::GetFlag(FLAGS_dwaed);
  const std::string baseline = absl::GetFlag(FLAGS_baseline_dwaed);
  const int rounds = std::max(1, absl::GetFlag(FLAGS_rounds));
  json runs = json::array();
  for (int round = 0; round < rounds; ++round) {
    const std::vector<std::pair<std::string, std::string>> order =
        bench::PairedOrder(candidate, baseline, round);
    for (const auto& [name, binary] : order) {
      absl::StatusOr<json> run = RunRound(binary, name, round);
      if (!run.ok()) {
        std::fprintf(stderr, "daemon_bench: %s round %d: %s\n", name.c_str(),
                     round, std::string(run.status().message()).c_str());
        return 1;
      }
      std::fprintf(stderr, "daemon_bench: %s round %d: %s\n", name.c_str(),
                   round, Summary(json::array({*run}), name).dump().c_str());
      runs.push_back(*std::move(run));
    }
  }
  json out = {{"stream",
               {{"seconds", absl::GetFlag(FLAGS_stream_seconds)},
                {"streams", 2},
                {"batch", 512},
                {"learning", "gated"}}},
              {"unary",
               {{"seconds", absl::GetFlag(FLAGS_unary_seconds)},
                {"rate", absl::GetFlag(FLAGS_unary_rate)},
                {"batch", 1}}},
              {"rounds", rounds},
              {"candidate", Summary(runs, "candidate")}};
  if (!baseline.empty()) {
    const json base = Summary(runs, "baseline");
    json ratios;
    for (const auto& [key, value] : out["candidate"].items()) {
      const double b = base[key].get<double>();
      ratios[key] = b != 0 ? value.get<double>() / b : 0.0;
    }
    out["baseline"] = base;
    out["ratios"] = ratios;
  }
  out["runs"] = runs;
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

}  // namespace
}  // namespace dwae

int main(int argc, char** argv) { return dwae::Main(argc, argv); }
