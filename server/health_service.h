// HealthService: the standard grpc.health.v1.Health service
// (proto/grpc/health/v1/health.proto), served by dwaed's synchronous server.
//
// Why not gRPC's default health service
// (grpc::EnableDefaultHealthCheckService): in gRPC 1.51 it is a callback
// service, and a server that has one starts callback completion-queue threads
// that poll the same epoll set as the synchronous server's threads, so a unary
// Score call could be read on one thread and answered on another; 27 % of the
// daemon's samples under unary load ran on those threads (docs/performance.md).
// Served here, every call is read, handled and answered by one synchronous
// thread.
//
// Known services: "" (the whole server) and the names given to the
// constructor; all share one status. Check answers NOT_FOUND for another
// name; Watch answers SERVICE_UNKNOWN and keeps the call open, as the
// protocol says.
//
// Thread-safety: every method may be called from any thread. A Watch call
// holds one of the server's synchronous threads until the client cancels or
// Shutdown is called.
#ifndef DWAE_SERVER_HEALTH_SERVICE_H_
#define DWAE_SERVER_HEALTH_SERVICE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace dwae::server {

class HealthService final : public grpc::health::v1::Health::Service {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  // `services`: the fully qualified service names besides "" that Check and
  // Watch know. Starts NOT_SERVING. `cancel_poll` bounds how long a Watch
  // call takes to notice that its client went away.
  explicit HealthService(std::vector<std::string> services,
                         absl::Duration cancel_poll = absl::Seconds(1));

  // SERVING or NOT_SERVING for every known service; Watch calls send the
  // change. Ignored after Shutdown.
  void SetServing(bool serving);

  // NOT_SERVING for good, sent to every Watch call, which then ends with OK:
  // a server shutting down does not wait for its watchers' deadline.
  void Shutdown();

  grpc::Status Check(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override;
  grpc::Status Watch(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>*
                         writer) override;

 private:
  bool Known(const std::string& service) const;
  // SERVICE_UNKNOWN for an unknown service, else SERVING or NOT_SERVING.
  ServingStatus StatusLocked(bool known) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const std::vector<std::string> services_;
  const absl::Duration cancel_poll_;
  mutable absl::Mutex mu_;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace dwae::server

#endif  // DWAE_SERVER_HEALTH_SERVICE_H_
