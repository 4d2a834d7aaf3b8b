// Waiting for dwaed's learner, without sleeping:
//   dwae sync            returns once everything the daemon accepted before
//                        the call is learned and the model published (the
//                        Sync RPC), and prints the model it got to.
// and the two helpers `dwae replay` uses around a stream: wait before it
// while the daemon consolidates a warm-up (verdicts given meanwhile would
// use the warm-up's +inf threshold), and sync after it so that its summary
// describes a daemon that has learned what it was sent.
#ifndef DWAE_CLIENT_SYNC_COMMAND_H_
#define DWAE_CLIENT_SYNC_COMMAND_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/grpc_client.h"
#include "client/ops_commands.h"
#include "dwae/v1/detector.pb.h"

namespace dwae {

struct SyncCommandOptions {
  // connection.timeout bounds the connection and the wait for the learner.
  ConnectionOptions connection;
  bool json = false;
};
// Prints "synced: model version V, threshold T (source), ..." or one JSON
// object. Errors: the daemon cannot be reached, or the learner did not
// catch up within the timeout (DEADLINE_EXCEEDED, saying how many records
// it still had to learn).
absl::Status RunSyncCommand(const SyncCommandOptions& options);

// Calls Sync on `client`, waiting at most `timeout`.
absl::StatusOr<v1::SyncResponse> SyncDaemon(DetectorClient& client,
                                            absl::Duration timeout);

// True when a stream started now would be scored by a model that is about
// to change completely: the daemon is consolidating its warm-up, or the
// records already queued for its learner complete the warm-up.
bool WarmupConsolidationPending(const v1::ModelInfo& info);

// Asks `client`'s daemon for its state and, when WarmupConsolidationPending,
// says so on stderr (prefixed with `who`) and syncs, waiting at most
// `timeout`. Returns whether it waited.
absl::StatusOr<bool> WaitForWarmupConsolidation(DetectorClient& client,
                                                absl::Duration timeout,
                                                const std::string& who);

// The daemons of a streaming command, connected for the waits around its
// stream (the stream itself has its own channels). Thread-compatible.
class LearnerSync {
 public:
  static absl::StatusOr<LearnerSync> Connect(
      const std::vector<std::string>& servers, const ChannelSecurity& security,
      absl::Duration connect_timeout);

  // WaitForWarmupConsolidation on every daemon, `who` prefixing messages.
  absl::Status WaitForWarmups(absl::Duration timeout, const std::string& who);
  // Syncs every daemon; returns the longest wait in seconds.
  absl::StatusOr<double> SyncAll(absl::Duration timeout);

 private:
  std::vector<std::shared_ptr<DetectorClient>> clients_;
};

}  // namespace dwae

#endif  // DWAE_CLIENT_SYNC_COMMAND_H_
