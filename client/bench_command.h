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
#include "client/grpc_client.h"
#include "core/record.h"
#include "dwae/v1/detector.pb.h"

namespace dwae {

struct BenchCommandOptions {
  std::vector<std::string> servers = {"127.0.0.1:50051"};
  std::string path = "data/nsl-kdd/KDDTest+.txt";
  RecordFormat format = RecordFormat::kNslKdd;
  enum class Mode { kStream, kUnary };
  Mode mode = Mode::kStream;
  int streams = 2;
  int batch = 512;
  int max_in_flight = 8;
  v1::LearningMode learning = v1::LEARNING_MODE_GATED;
  absl::Duration duration = absl::Seconds(20);
  // Unary mode: total calls per second (0: as fast as possible).
  double rate = 0;
  int sensors = 1;
  bool json = false;
  absl::Duration connect_timeout = absl::Seconds(5);
  // TLS and token of the connections (--tls_ca, --token_file, ...).
  ChannelSecurity security;

  absl::Status Validate() const;
};

absl::Status RunBenchCommand(const BenchCommandOptions& options);

}  // namespace dwae

#endif  // DWAE_CLIENT_BENCH_COMMAND_H_
