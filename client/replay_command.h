// `dwae replay`: streams a record file (NSL-KDD or KDD Cup 99 text) to a
// running dwaed over one bidirectional Stream RPC and reports what came back:
// records sent, invalid records, anomalies, and, when the file carries
// labels, the confusion matrix with accuracy, precision, recall and F1, plus
// the throughput.
//
// The file is read line by line while the stream runs (never loaded whole):
// a line that does not parse is counted invalid here, reported on stderr as
// FILE:LINE and not sent; the others go out in batches, at most
// `max_in_flight` of them unanswered at a time (grpc_client.h). Verdicts
// given while a daemon still warmed up (threshold +inf: always normal) are
// counted apart in the summary.
#ifndef DWAE_CLIENT_REPLAY_COMMAND_H_
#define DWAE_CLIENT_REPLAY_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/streaming_options.h"
#include "core/record.h"
#include "dwae/v1/detector.pb.h"

namespace dwae {

struct ReplayCommandOptions {
  // Servers, format, learning mode (default: default), batch, in-flight
  // limit, sensor id (default "replay"; with `sensors` > 1, line n goes out
  // as sensor "<sensor_id>-<n mod sensors>"), JSON output, TLS.
  StreamingOptions stream;
  // The record file to replay.
  std::string path;
  // Only rows with this label are sent; empty: every row.
  std::string filter_label;
  // Pace the replay to this many records per second (0: as fast as dwaed
  // takes them).
  double rate = 0;
  // Progress bar on stderr (records/s, anomalies, ETA): kAuto shows it only
  // when stderr is a terminal.
  enum class Progress { kAuto, kAlways, kNever };
  Progress progress = Progress::kAuto;
  // One JSON line per verdict goes here; empty: none.
  std::string verdicts_out;
  // Wait for the daemons' learners (sync_command.h): before streaming while
  // a daemon consolidates its warm-up, and after streaming with learning
  // (any mode but off) until everything sent is learned, so that the next
  // command meets a model that has learned it. --no_sync: neither wait.
  bool sync = true;
  // Bound on each of those waits (--sync_timeout).
  absl::Duration sync_timeout = absl::Minutes(5);

  // Checks the values (not the files): InvalidArgument naming the flag.
  absl::Status Validate() const;
};

// Runs the replay and prints the summary (or JSON) to stdout; per-line
// problems go to stderr. Errors: the file cannot be opened or read, the
// verdicts file cannot be written, the daemon cannot be reached ("cannot
// reach ADDR ..."), or the RPC fails (its status message).
absl::Status RunReplayCommand(const ReplayCommandOptions& options);

}  // namespace dwae

#endif  // DWAE_CLIENT_REPLAY_COMMAND_H_
