#include "client/sharding.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace dwae {
namespace {

// 64-bit FNV-1a of the bytes, then the SplitMix64 finalizer: FNV-1a alone
// mixes the last bytes poorly ("s#1", "s#2" land close together), the
// finalizer spreads them over the whole ring. Fixed forever: every client
// must agree on the mapping.
uint64_t RingHash(absl::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

}  // namespace

ShardRing::ShardRing(std::vector<std::string> servers, int virtual_nodes)
    : servers_(std::move(servers)) {
  if (virtual_nodes < 1) virtual_nodes = 1;
  ring_.reserve(servers_.size() * size_t(virtual_nodes));
  for (int s = 0; s < int(servers_.size()); ++s) {
    for (int i = 0; i < virtual_nodes; ++i) {
      ring_.emplace_back(RingHash(absl::StrCat(servers_[s], "#", i)), s);
    }
  }
  // Ties (astronomically unlikely) are broken by the server's name, not its
  // position in the list, so the mapping does not depend on the flag order.
  std::sort(ring_.begin(), ring_.end(),
            [this](const std::pair<uint64_t, int>& a,
                   const std::pair<uint64_t, int>& b) {
              if (a.first != b.first) return a.first < b.first;
              return servers_[a.second] < servers_[b.second];
            });
}

int ShardRing::ShardFor(absl::string_view sensor_id) const {
  if (ring_.size() <= 1 || servers_.size() == 1) return 0;
  const uint64_t h = RingHash(sensor_id);
  auto it =
      std::lower_bound(ring_.begin(), ring_.end(), h,
                       [](const std::pair<uint64_t, int>& point,
                          uint64_t value) { return point.first < value; });
  if (it == ring_.end()) it = ring_.begin();  // wrap around
  return it->second;
}

absl::StatusOr<std::vector<std::string>> ParseServerList(
    absl::string_view servers_flag, absl::string_view server_flag) {
  if (servers_flag.empty()) {
    if (server_flag.empty()) {
      return absl::InvalidArgumentError("--server: empty");
    }
    return std::vector<std::string>{std::string(server_flag)};
  }
  std::vector<std::string> servers;
  std::set<std::string> seen;
  for (absl::string_view entry : absl::StrSplit(servers_flag, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--servers: empty entry in '", servers_flag, "'"));
    }
    const size_t colon = entry.rfind(':');
    int port = 0;
    if (colon == std::string::npos || colon == 0 ||
        !absl::SimpleAtoi(entry.substr(colon + 1), &port) || port < 1 ||
        port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--servers: '", entry, "' is not host:port (missing \":port\")"));
    }
    if (!seen.insert(std::string(entry)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("--servers: duplicate entry '", entry, "'"));
    }
    servers.emplace_back(entry);
  }
  return servers;
}

}  // namespace dwae
