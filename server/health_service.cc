#include "server/health_service.h"

#include <algorithm>
#include <utility>

namespace dwae::server {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

HealthService::HealthService(std::vector<std::string> services,
                             absl::Duration cancel_poll)
    : services_(std::move(services)), cancel_poll_(cancel_poll) {}

void HealthService::SetServing(bool serving) {
  absl::MutexLock lock(&mu_);
  if (!shut_down_) serving_ = serving;
}

void HealthService::Shutdown() {
  absl::MutexLock lock(&mu_);
  serving_ = false;
  shut_down_ = true;
}

bool HealthService::Known(const std::string& service) const {
  return service.empty() || std::find(services_.begin(), services_.end(),
                                      service) != services_.end();
}

grpc::Status HealthService::Check(grpc::ServerContext*,
                                  const HealthCheckRequest* request,
                                  HealthCheckResponse* response) {
  if (!Known(request->service())) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "unknown service: " + request->service());
  }
  absl::MutexLock lock(&mu_);
  response->set_status(StatusLocked(/*known=*/true));
  return grpc::Status::OK;
}

HealthService::ServingStatus HealthService::StatusLocked(bool known) const {
  if (!known) return HealthCheckResponse::SERVICE_UNKNOWN;
  return serving_ ? HealthCheckResponse::SERVING
                  : HealthCheckResponse::NOT_SERVING;
}

grpc::Status HealthService::Watch(
    grpc::ServerContext* context, const HealthCheckRequest* request,
    grpc::ServerWriter<HealthCheckResponse>* writer) {
  const bool known = Known(request->service());
  int sent = -1;  // the status last written; none yet
  for (;;) {
    ServingStatus status;
    bool done;
    {
      absl::MutexLock lock(&mu_);
      // Returns at once with something to send (the first reply, a change,
      // shutdown), else after cancel_poll_ to see whether the client left.
      auto pending = [&] { return shut_down_ || StatusLocked(known) != sent; };
      mu_.AwaitWithTimeout(absl::Condition(&pending), cancel_poll_);
      status = StatusLocked(known);
      done = shut_down_;
    }
    if (context->IsCancelled()) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "watch cancelled");
    }
    if (status != sent) {
      HealthCheckResponse response;
      response.set_status(status);
      if (!writer->Write(response)) return grpc::Status::OK;  // client gone
      sent = status;
    }
    if (done) return grpc::Status::OK;
  }
}

}  // namespace dwae::server
