// StreamingOptions: what every command that streams records to dwaed
// shares: `dwae replay`, `dwae tail` and `dwae bench`. client/main.cc builds
// one from the flags (--server/--servers, --format, --learn, --batch,
// --max_in_flight, --sensor_id, --sensors, --json, --timeout and the TLS and
// token flags) and each command's options embed it as `stream`, so a flag
// shared by the streaming commands is read, defaulted and checked in one
// place.
//
// A plain value type; thread-compatible.
#ifndef DWAE_CLIENT_STREAMING_OPTIONS_H_
#define DWAE_CLIENT_STREAMING_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/grpc_client.h"
#include "client/record_stream.h"
#include "core/record_reader.h"
#include "dwae/v1/detector.pb.h"

namespace dwae {

// Records per batch and batches in flight a streaming command accepts. The
// daemon refuses batches above its serving.max_batch_records (default
// 4,096) as a whole, with one batch-level error: the client reports each
// of their records as an error verdict with that message
// (DetectorClient::StreamBatches).
inline constexpr int kMaxStreamBatch = 65536;
inline constexpr int kMaxStreamInFlight = 1024;

struct StreamingOptions {
  // dwaed replicas (host:port, ParseServerList); with several, records are
  // sharded by sensor_id with a consistent hash (sharding.h), one stream
  // per replica.
  std::vector<std::string> servers = {"127.0.0.1:50051"};
  // How the command's input lines are parsed (core/record_reader.h); kAuto
  // detects the format from the first line.
  InputFormat format = InputFormat::kAuto;
  // The learning mode every batch asks for (the command chooses the
  // default: replay and tail learn by default, bench gated).
  v1::LearningMode learning = v1::LEARNING_MODE_DEFAULT;
  // Records per batch, in [1, kMaxStreamBatch].
  int batch = 512;
  // Batches sent but not yet answered, per stream, in
  // [1, kMaxStreamInFlight].
  int max_in_flight = 8;
  // Sent as every record's sensor_id (1 to 128 bytes); the command's name
  // by default. With `sensors` > 1, records are spread over the sensor ids
  // "<sensor_id>-<n mod sensors>" (replay, bench), which simulates that
  // many sensors and spreads them over the servers.
  std::string sensor_id = "dwae";
  int sensors = 1;
  // Print one JSON object (or JSON lines) instead of text.
  bool json = false;
  // How long to wait for a daemon to accept the connection.
  absl::Duration connect_timeout = absl::Seconds(5);
  // TLS and token of the connections (--tls_ca, --token_file, ...).
  ChannelSecurity security;

  // Checks the values: InvalidArgument naming the flag.
  absl::Status Validate() const;
  // The ShardedStream options these give (max_batch_delay left infinite).
  ShardedStreamOptions ToShardedStreamOptions() const;
  // The sensor id of the record numbered `n` (0-based or 1-based, as the
  // command numbers them) when spread over `sensors`.
  std::string SensorFor(uint64_t n) const;
};

// Parses a --learn value: default, all, gated, off or labeled-normal.
absl::StatusOr<v1::LearningMode> ParseLearningMode(absl::string_view name);
// The --learn spelling of `mode`.
const char* LearningModeName(v1::LearningMode mode);

}  // namespace dwae

#endif  // DWAE_CLIENT_STREAMING_OPTIONS_H_
