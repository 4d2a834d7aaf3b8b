// `dwae tail --follow FILE`: the path from a live sensor to dwaed. Follows a
// file that a sensor appends NSL-KDD / KDD Cup 99 lines to, as `tail -F`
// does, and streams every new complete line to dwaed as it arrives.
//
// Following: the file is polled every `poll_interval`; a partial last line
// waits for its newline. Rotation (the path now names another inode, e.g.
// after `mv f f.1` and a new `f`) is handled by finishing the old file's
// remaining lines and then reading the new file from its start; truncation
// (the size dropped below the read offset) restarts from the start of the
// file. A path that does not exist yet (or disappears for a while) is
// waited for. A partial batch is sent after `max_batch_delay` so verdicts
// stay live at low rates.
//
// Output: one line per anomalous verdict (all verdicts with `all_verdicts`),
// or JSON lines with `json`; a summary on stderr at the end. Without
// `follow` it streams what the file holds and stops at its end. With
// `follow` it runs until SIGINT/SIGTERM (then drains in-flight batches and
// prints the summary) or until `stop_after` records, for tests.
#ifndef DWAE_CLIENT_TAIL_COMMAND_H_
#define DWAE_CLIENT_TAIL_COMMAND_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/streaming_options.h"
#include "core/record.h"
#include "dwae/v1/detector.pb.h"

namespace dwae {

struct TailCommandOptions {
  // Servers, format, learning mode (default: default), batch, sensor id
  // (default "tail"), JSON lines, TLS. `sensors` and `max_in_flight` are
  // not used: one sensor, and tail has few batches in flight.
  StreamingOptions stream;
  std::string path;
  bool follow = false;
  // Start at the beginning of the file instead of its current end (only
  // meaningful with follow; without follow the whole file is read).
  bool from_start = false;
  absl::Duration poll_interval = absl::Milliseconds(200);
  absl::Duration max_batch_delay = absl::Milliseconds(200);
  bool all_verdicts = false;
  // Stop after this many records were sent (0: never). For tests.
  int64_t stop_after = 0;

  absl::Status Validate() const;
};

absl::Status RunTailCommand(const TailCommandOptions& options);

}  // namespace dwae

#endif  // DWAE_CLIENT_TAIL_COMMAND_H_
