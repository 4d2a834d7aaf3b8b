// Daemon: dwaed's process-level lifecycle: metrics listener, engine, gRPC
// server with health checking and reflection. Create -> Start -> Wait for a
// signal -> GracefulStop (stop accepting, drain streams until the deadline,
// stop the engine, which writes the final checkpoint). The gRPC port speaks
// TLS, or mutual TLS, when ServerOptions::tls says so; the admin RPCs check
// ServerOptions::admin_token (server/auth.h).
//
// Thread-safety: Create/Start/GracefulStop from one thread (main).
#ifndef DWAE_SERVER_DAEMON_H_
#define DWAE_SERVER_DAEMON_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/server.h"
#include "server/engine.h"
#include "server/health_service.h"
#include "server/kafka_consumer.h"
#include "server/metrics.h"
#include "server/options.h"
#include "server/service.h"

namespace dwae::server {

class Daemon {
 public:
  static absl::StatusOr<std::unique_ptr<Daemon>> Create(
      const ServerOptions& options);
  ~Daemon();

  // Starts the engine and the gRPC server; health turns SERVING.
  absl::Status Start();
  // Idempotent.
  void GracefulStop();

  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_->port(); }
  Engine& engine() { return *engine_; }

 private:
  explicit Daemon(const ServerOptions& options) : options_(options) {}

  ServerOptions options_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<KafkaConsumer> kafka_;  // null unless options_.kafka is on
  std::unique_ptr<DetectorService> service_;
  std::unique_ptr<HealthService> health_;
  std::unique_ptr<grpc::Server> server_;
  int grpc_port_ = 0;
  bool stopped_ = false;
};

}  // namespace dwae::server

#endif  // DWAE_SERVER_DAEMON_H_
