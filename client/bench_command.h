// `dwae bench`: a load generator that replays records (from a file, by
// default the shipped KDDTest+, repeated) into dwaed as fast as it takes
// them, for a fixed duration, and reports throughput and latency:
//   records_per_second  records answered / wall time
//   p50_ms, p99_ms, p999_ms
//                       latency per batch (stream mode: from a batch's
//                       write to its VerdictBatch) or per call (unary mode)
// plus calls, records, errors (invalid verdicts and failed calls) and the
// options used, as one JSON object with `json`.
//
// Stream mode runs `streams` concurrent Stream RPCs (each its own thread,
// `max_in_flight` batches outstanding); unary mode runs `streams` threads
// each making Score calls of `batch` records back to back, or, with `rate`
// > 0, paced to that many calls per second in total (a moderate load for
// latency measurements). Records are parsed and converted to protos once,
// before the clock starts, so the client measures the daemon, not itself.
// With several servers, records are sharded by sensor_id (sharding.h);
// `sensors` > 1 spreads the records over that many sensor ids.
#ifndef DWAE_CLIENT_BENCH_COMMAND_H_
#define DWAE_CLIENT_BENCH_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/streaming_options.h"
#include "core/record.h"
#include "dwae/v1/detector.pb.h"

namespace dwae {

struct BenchCommandOptions {
  // Servers, format, learning mode (default: gated), batch, in-flight
  // limit, sensor ids "<sensor_id>-<n>" (default "bench"), JSON, TLS.
  StreamingOptions stream;
  std::string path = "data/nsl-kdd/KDDTest+.txt";
  enum class Mode { kStream, kUnary };
  Mode mode = Mode::kStream;
  int streams = 2;
  absl::Duration duration = absl::Seconds(20);
  // Unary mode: total calls per second (0: as fast as possible).
  double rate = 0;

  absl::Status Validate() const;
};

absl::Status RunBenchCommand(const BenchCommandOptions& options);

}  // namespace dwae

#endif  // DWAE_CLIENT_BENCH_COMMAND_H_
