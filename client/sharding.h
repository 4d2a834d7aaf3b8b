// Spreading sensors over several dwaed replicas (--servers=a,b,c).
//
// ShardRing is a consistent-hash ring: each server owns `virtual_nodes`
// points on a 64-bit ring (hashes of "server#i"); a sensor belongs to the
// first point at or after the hash of its sensor_id. Every record of one
// sensor therefore always reaches the same replica (its model sees all of
// that sensor's traffic), and adding or removing a replica moves only about
// 1/N of the sensors. The hash is a fixed function (not std::hash), so
// every client process, on every machine, agrees on the mapping.
//
// Thread-safety: immutable after construction; share freely.
#ifndef DWAE_CLIENT_SHARDING_H_
#define DWAE_CLIENT_SHARDING_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dwae {

class ShardRing {
 public:
  // `servers` non-empty, no duplicates (ParseServerList guarantees both).
  explicit ShardRing(std::vector<std::string> servers, int virtual_nodes = 128);

  // Index into servers() of the replica that owns `sensor_id`.
  int ShardFor(absl::string_view sensor_id) const;
  const std::vector<std::string>& servers() const { return servers_; }

 private:
  std::vector<std::string> servers_;
  std::vector<std::pair<uint64_t, int>> ring_;  // sorted by point
};

// The replicas a command talks to: --servers (comma-separated host:port
// list) when set, otherwise the single --server. Errors name the flag: an
// empty entry, a duplicate, an entry without ":port".
absl::StatusOr<std::vector<std::string>> ParseServerList(
    absl::string_view servers_flag, absl::string_view server_flag);

}  // namespace dwae

#endif  // DWAE_CLIENT_SHARDING_H_
