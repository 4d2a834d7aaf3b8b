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
  JsonWriter w;
  w.BeginObject();
  w.Key("mode");
  w.String(ModeName(o.mode));
  w.Key("servers");
  w.BeginArray();
  for (const std::string& s : o.stream.servers) w.String(s);
  w.EndArray();
  w.Key("file");
  w.String(o.path);
  w.Key("streams");
  w.Int(o.streams);
  w.Key("batch");
  w.Int(o.stream.batch);
  w.Key("max_in_flight");
  w.Int(o.stream.max_in_flight);
  w.Key("learning");
  w.String(LearningModeName(o.stream.learning));
  w.Key("rate");
  w.Number(o.rate);
  w.Key("sensors");
  w.Int(o.stream.sensors);
  w.Key("seconds");
  w.Number(b.seconds);
  w.Key("records");
  w.Int(static_cast<long long>(b.records));
  w.Key("records_per_second");
  w.Number(b.records_per_second());
  w.Key("calls");
  w.Int(static_cast<long long>(b.calls));
  w.Key("errors");
  w.Int(static_cast<long long>(b.errors()));
  w.Key("invalid");
  w.Int(static_cast<long long>(b.invalid));
  w.Key("failed_calls");
  w.Int(static_cast<long long>(b.failed));
  w.Key("latency_samples");
  w.Int(static_cast<long long>(b.latency.count));
  w.Key("mean_ms");
  w.Number(b.latency.mean_ms);
  w.Key("p50_ms");
  w.Number(b.latency.p50_ms);
  w.Key("p90_ms");
  w.Number(b.latency.p90_ms);
  w.Key("p99_ms");
  w.Number(b.latency.p99_ms);
  w.Key("p999_ms");
  w.Number(b.latency.p999_ms);
  w.Key("max_ms");
  w.Number(b.latency.max_ms);
  if (o.mode == BenchCommandOptions::Mode::kUnary && o.rate > 0) {
    // Client side: how late the calls left against their schedule (already
    // included in the latencies above).
    w.Key("send_lag_p99_ms");
    w.Number(b.send_lag.p99_ms);
    w.Key("send_lag_max_ms");
    w.Number(b.send_lag.max_ms);
  }
  w.Key("warming_up");
  w.Bool(!b.warming_up.empty());
  w.EndObject();
  std::printf("%s\n", w.str().c_str());
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
