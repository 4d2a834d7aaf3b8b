// Options of the daemon, built once in main() from flags and the --config
// file, then handed to the components. Plain values; no flags here.
#ifndef DWAE_SERVER_OPTIONS_H_
#define DWAE_SERVER_OPTIONS_H_

#include <cstdint>
#include <string>

#include "core/config.h"
#include "core/zeek_sensors.h"
#include "server/kafka_options.h"

namespace dwae::server {

struct EngineOptions {
  DetectorConfig detector;
  // Where the checkpoint lives; empty keeps everything in memory.
  std::string state_dir;
  // Seconds between periodic checkpoints (0: only on shutdown and on
  // request).
  double checkpoint_interval_seconds = 60;
  // Start with a fresh model when the checkpoint cannot be used, instead of
  // refusing to start. The unusable file is renamed aside, never deleted.
  bool start_fresh = false;
  // detector.schema was chosen by the operator (--schema, or
  // model.feature_schema in --config): a fresh daemon keeps it instead of
  // taking the schema of the first valid entry, and a checkpoint of
  // another schema is refused.
  bool schema_pinned = false;
  // Zeek connections: window options and the bound on sensors
  // (max_sensors, the least recently seen evicted).
  ZeekSensorOptions zeek;
};

// TLS on the gRPC port, as PEM text (main.cc reads the files). Empty
// cert_chain: plaintext.
struct TlsOptions {
  std::string cert_chain;   // --tls_cert
  std::string private_key;  // --tls_key
  // --tls_client_ca: non-empty requires every client to present a
  // certificate signed by one of these CAs (mutual TLS).
  std::string client_ca;

  bool enabled() const { return !cert_chain.empty(); }
};

struct ServerOptions {
  // gRPC address, host:port (port 0 picks a free one).
  std::string listen = "127.0.0.1:50051";
  // Prometheus /metrics address; empty disables the listener.
  std::string metrics_listen = "127.0.0.1:9464";
  TlsOptions tls;
  // Bearer token the admin RPCs require (server/auth.h); empty: admin RPCs
  // are allowed from loopback peers only.
  std::string admin_token;
  // Largest gRPC message accepted, bytes.
  int max_message_bytes = 16 << 20;
  // Memory gRPC may use for its buffers (a grpc::ResourceQuota): bounds what
  // fast senders can make the daemon hold.
  int64_t grpc_memory_bytes = 32 << 20;
  // On SIGTERM/SIGINT: time given to in-flight RPCs and streams to finish.
  double drain_deadline_seconds = 10;
  std::string build_version;
  EngineOptions engine;
  // Consuming Kafka (docs/kafka.md); off unless kafka.brokers is set.
  KafkaOptions kafka;
};

}  // namespace dwae::server

#endif  // DWAE_SERVER_OPTIONS_H_
