// Placeholder until the sharding implementation lands.
#include "client/sharding.h"

namespace dwae {

ShardRing::ShardRing(std::vector<std::string> servers, int)
    : servers_(std::move(servers)) {}

int ShardRing::ShardFor(absl::string_view) const { return 0; }

absl::StatusOr<std::vector<std::string>> ParseServerList(
    absl::string_view servers_flag, absl::string_view server_flag) {
  if (!servers_flag.empty()) {
    return absl::UnimplementedError("--servers: not implemented yet");
  }
  return std::vector<std::string>{std::string(server_flag)};
}

}  // namespace dwae
