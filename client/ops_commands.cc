// Placeholder until the implementations land.
#include "client/ops_commands.h"

namespace dwae {

absl::Status RunScoreCommand(const ScoreCommandOptions&) {
  return absl::UnimplementedError("score: not implemented yet");
}
absl::Status RunAnomaliesCommand(const AnomaliesCommandOptions&) {
  return absl::UnimplementedError("anomalies: not implemented yet");
}
absl::StatusOr<absl::Time> ParseSince(absl::string_view, absl::Time) {
  return absl::UnimplementedError("--since: not implemented yet");
}
absl::Status RunStatusCommand(const StatusCommandOptions&) {
  return absl::UnimplementedError("status: not implemented yet");
}
absl::Status ParseAdminAction(const std::vector<std::string>&,
                              AdminCommandOptions*) {
  return absl::UnimplementedError("admin: not implemented yet");
}
absl::Status RunAdminCommand(const AdminCommandOptions&) {
  return absl::UnimplementedError("admin: not implemented yet");
}
absl::Status RunHealthCommand(const HealthCommandOptions&) {
  return absl::UnimplementedError("health: not implemented yet");
}

}  // namespace dwae
