// `dwae replay`: streams a record file (NSL-KDD or KDD Cup 99 text) to a
// running dwaed over one bidirectional Stream RPC and reports what came back:
// records sent, invalid records, anomalies, and, when the file carries
// labels, the confusion matrix with accuracy, precision, recall and F1, plus
// the throughput.
//
// The file is read line by line while the stream runs (never loaded whole):
// a line that does not parse is counted invalid here, reported on stderr as
// FILE:LINE and not sent; the others go out in batches, at most
// `max_in_flight` of them unanswered at a time (grpc_client.h).
#ifndef DWAE_CLIENT_REPLAY_COMMAND_H_
#define DWAE_CLIENT_REPLAY_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/grpc_client.h"
#include "core/record.h"
#include "dwae/v1/detector.pb.h"

namespace dwae {

struct ReplayCommandOptions {
  // dwaed replicas (host:port); with several, records are sharded by
  // sensor_id with a consistent hash (sharding.h), one stream per replica.
  std::vector<std::string> servers = {"127.0.0.1:50051"};
  // The record file to replay.
  std::string path;
  RecordFormat format = RecordFormat::kNslKdd;
  // Only rows with this label are sent; empty: every row.
  std::string filter_label;
  // The learning mode every batch asks for.
  v1::LearningMode learning = v1::LEARNING_MODE_DEFAULT;
  // Records per RecordBatch, in [1, kMaxReplayBatch]. The daemon refuses
  // batches above its serving.max_batch_records (default 4,096): their
  // records come back as error verdicts and count as invalid.
  int batch = 512;
  // Batches sent but not yet answered, at most.
  int max_in_flight = 8;
  // Sent as every record's sensor_id (at most 128 bytes). With `sensors`
  // > 1, line n goes out as sensor "<sensor_id>-<n mod sensors>", which
  // simulates that many sensors (and spreads them over --servers).
  std::string sensor_id = "replay";
  int sensors = 1;
  // Pace the replay to this many records per second (0: as fast as dwaed
  // takes them).
  double rate = 0;
  // Progress bar on stderr (records/s, anomalies, ETA): kAuto shows it only
  // when stderr is a terminal.
  enum class Progress { kAuto, kAlways, kNever };
  Progress progress = Progress::kAuto;
  // Print one JSON object instead of the summary.
  bool json = false;
  // One JSON line per verdict goes here; empty: none.
  std::string verdicts_out;
  // How long to wait for the daemon to accept the connection.
  absl::Duration connect_timeout = absl::Seconds(5);
  // TLS and token of the connections (--tls_ca, --token_file, ...).
  ChannelSecurity security;

  // Checks the values (not the files): InvalidArgument naming the flag.
  absl::Status Validate() const;
};

inline constexpr int kMaxReplayBatch = 65536;

// Parses a --learn value: default, all, gated, off or labeled-normal.
absl::StatusOr<v1::LearningMode> ParseLearningMode(absl::string_view name);
// The --learn spelling of `mode`.
const char* LearningModeName(v1::LearningMode mode);

// Runs the replay and prints the summary (or JSON) to stdout; per-line
// problems go to stderr. Errors: the file cannot be opened or read, the
// verdicts file cannot be written, the daemon cannot be reached ("cannot
// reach ADDR ..."), or the RPC fails (its status message).
absl::Status RunReplayCommand(const ReplayCommandOptions& options);

}  // namespace dwae

#endif  // DWAE_CLIENT_REPLAY_COMMAND_H_
