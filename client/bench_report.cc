// Output of `dwae bench`: see bench_report.h for what the figures mean and
// the thread-safety.
#include "client/bench_report.h"

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/strings/str_join.h"
#include "client/json.h"
#include "client/replay_command.h"

namespace dwae {
namespace bench {
namespace {

const char* ModeName(BenchCommandOptions::Mode mode) {
  return mode == BenchCommandOptions::Mode::kStream ? "stream" : "unary";
}

}  // namespace

void PrintJson(const BenchCommandOptions& o, const BenchResult& b) {
  Json doc;
  doc["mode"] = ModeName(o.mode);
  doc["servers"] = o.stream.servers;
  doc["file"] = o.path;
  doc["streams"] = o.streams;
  doc["batch"] = o.stream.batch;
  doc["max_in_flight"] = o.stream.max_in_flight;
  doc["learning"] = LearningModeName(o.stream.learning);
  doc["rate"] = o.rate;
  doc["sensors"] = o.stream.sensors;
  doc["seconds"] = b.seconds;
  doc["records"] = b.records;
  doc["records_per_second"] = b.records_per_second();
  doc["calls"] = b.calls;
  doc["errors"] = b.errors();
  doc["invalid"] = b.invalid;
  doc["failed_calls"] = b.failed;
  doc["latency_samples"] = b.latency.count;
  doc["mean_ms"] = b.latency.mean_ms;
  doc["p50_ms"] = b.latency.p50_ms;
  doc["p90_ms"] = b.latency.p90_ms;
  doc["p99_ms"] = b.latency.p99_ms;
  doc["p999_ms"] = b.latency.p999_ms;
  doc["max_ms"] = b.latency.max_ms;
  if (o.mode == BenchCommandOptions::Mode::kUnary && o.rate > 0) {
    // Client side: how late the calls left against their schedule (already
    // included in the latencies above).
    doc["send_lag_p99_ms"] = b.send_lag.p99_ms;
    doc["send_lag_max_ms"] = b.send_lag.max_ms;
  }
  doc["warming_up"] = !b.warming_up.empty();
  std::printf("%s\n", DumpJson(doc).c_str());
}

void PrintSummary(const BenchCommandOptions& o, const BenchResult& b) {
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  const bool stream = o.mode == BenchCommandOptions::Mode::kStream;
  std::printf("dwae bench: %s mode -> %s\n", ModeName(o.mode),
              absl::StrJoin(o.stream.servers, ",").c_str());
  std::printf("  options          %d %s per server, batch %d, ", o.streams,
              stream ? "streams" : "callers", o.stream.batch);
  if (stream) {
    std::printf("%d in flight, ", o.stream.max_in_flight);
  } else if (o.rate > 0) {
    std::printf("%.0f calls/s, ", o.rate);
  } else {
    std::printf("unpaced, ");
  }
  std::printf("learning %s, %d sensor%s\n", LearningModeName(o.stream.learning),
              o.stream.sensors, o.stream.sensors == 1 ? "" : "s");
  std::printf("  input            %s (%llu records, %zu prebuilt batches)\n",
              o.path.c_str(), u(b.file_records), b.prebuilt_batches);
  std::printf("  seconds          %.3f\n", b.seconds);
  std::printf("  records          %llu\n", u(b.records));
  std::printf("  records/s        %.0f\n", b.records_per_second());
  std::printf("  calls            %llu (%s)\n", u(b.calls),
              stream ? "batches answered" : "Score calls answered");
  std::printf(
      "  errors           %llu (%llu invalid verdicts, %llu failed "
      "calls)\n",
      u(b.errors()), u(b.invalid), u(b.failed));
  const LatencySummary& l = b.latency;
  std::printf(
      "  latency ms       p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  "
      "max %.3f  (mean %.3f, %zu samples)\n",
      l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms, l.mean_ms, l.count);
  if (stream) {
    std::printf("                   per batch: its write to its verdicts\n");
  } else if (o.rate > 0) {
    std::printf(
        "                   per call, from its scheduled send time (fixed "
        "schedule: no coordinated omission)\n");
    std::printf(
        "  send lag ms      p99 %.3f  max %.3f  (client side: calls sent late "
        "against the schedule)\n",
        b.send_lag.p99_ms, b.send_lag.max_ms);
  } else {
    std::printf("                   per call, send to answer\n");
  }
}

}  // namespace bench
}  // namespace dwae
