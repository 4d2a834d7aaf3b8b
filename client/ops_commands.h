// The operator's and services' commands that each make a few unary calls:
//   dwae score [LINE]          verdicts for record lines (stdin when no LINE)
//   dwae anomalies             the recent anomalies, optionally followed
//   dwae status                model, device, threshold, learning, counters
//   dwae admin ACTION ...      checkpoint | learning STATE | threshold X |
//   reset dwae health                exit 0 when dwaed's gRPC health is SERVING
// Each prints readable text, or JSON with `json` (one object; JSON lines for
// score and anomalies). A failure is returned as a Status with a one-line
// reason (the caller exits 1).
#ifndef DWAE_CLIENT_OPS_COMMANDS_H_
#define DWAE_CLIENT_OPS_COMMANDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/grpc_client.h"
#include "core/record_reader.h"
#include "dwae/v1/detector.pb.h"

namespace dwae {

// What every one of these commands needs to reach dwaed.
struct ConnectionOptions {
  std::string server = "127.0.0.1:50051";
  // Connection and per-call deadline.
  absl::Duration timeout = absl::Seconds(5);
  // TLS and admin token (--tls_ca, --tls_cert, --tls_key, --tls_server_name,
  // --token_file); see client/grpc_client.h.
  ChannelSecurity security;
};

struct ScoreCommandOptions {
  ConnectionOptions connection;
  // Record lines to score; empty: read lines from stdin until EOF (blank
  // lines skipped), sending them in batches of `batch`. Zeek header lines
  // (from stdin) are taken in and not scored.
  std::vector<std::string> lines;
  // kAuto: detected from the first line (core/record_reader.h).
  InputFormat format = InputFormat::kAuto;
  // Score only by default; any other mode asks dwaed to learn too.
  v1::LearningMode learning = v1::LEARNING_MODE_OFF;
  uint32_t top_k = 3;
  int batch = 256;
  bool json = false;
};
// Prints one verdict per line: score, threshold, NORMAL/ANOMALY and the top
// deviating features (name, value, reconstruction). A line that does not
// parse is reported (on stdout, as an error verdict) and does not stop the
// others; the Status is an error only if nothing could be scored or dwaed
// failed.
absl::Status RunScoreCommand(const ScoreCommandOptions& options);

struct AnomaliesCommandOptions {
  ConnectionOptions connection;
  // Only anomalies scored at or after this time (InfinitePast: all in the
  // daemon's window).
  absl::Time since = absl::InfinitePast();
  uint32_t limit = 20;
  // Keep polling and print new anomalies as they come, until SIGINT.
  bool follow = false;
  absl::Duration poll_interval = absl::Seconds(1);
  bool json = false;
};
absl::Status RunAnomaliesCommand(const AnomaliesCommandOptions& options);

// Parses --since: a duration before now ("90s", "10m", "2h") or an RFC 3339
// time ("2026-11-29T15:00:00Z").
absl::StatusOr<absl::Time> ParseSince(absl::string_view value, absl::Time now);

struct StatusCommandOptions {
  ConnectionOptions connection;
  bool json = false;
};
absl::Status RunStatusCommand(const StatusCommandOptions& options);

struct AdminCommandOptions {
  ConnectionOptions connection;
  enum class Action { kCheckpoint, kLearning, kThreshold, kReset };
  Action action = Action::kCheckpoint;
  // kLearning: the state to set.
  v1::LearningState learning = v1::LEARNING_STATE_AUTO;
  // kThreshold: exactly one of a fixed value (> 0) or an automatic mode.
  double fixed_threshold = 0;
  v1::ThresholdMode automatic = v1::THRESHOLD_MODE_UNSPECIFIED;
  // kReset needs --yes (forgets everything learned).
  bool yes = false;
  bool json = false;
};
// Parses the words after "admin": "checkpoint", "learning on|off|gated|auto",
// "threshold VALUE|auto|quantile|adaptive" ("auto" = adaptive), "reset".
// InvalidArgument with a usage hint otherwise.
absl::Status ParseAdminAction(const std::vector<std::string>& words,
                              AdminCommandOptions* options);
absl::Status RunAdminCommand(const AdminCommandOptions& options);

struct HealthCommandOptions {
  ConnectionOptions connection;
  // The gRPC health service name; "" is the whole server.
  std::string service;
};
// OK when the status is SERVING (prints "SERVING"); otherwise an error
// saying what was seen (NOT_SERVING, unreachable, ...).
absl::Status RunHealthCommand(const HealthCommandOptions& options);

}  // namespace dwae

#endif  // DWAE_CLIENT_OPS_COMMANDS_H_
