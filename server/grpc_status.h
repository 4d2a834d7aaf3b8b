// The one place where an absl::Status becomes a grpc::Status. The canonical
// codes are the same numbers in both.
#ifndef DWAE_SERVER_GRPC_STATUS_H_
#define DWAE_SERVER_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace dwae::server {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

}  // namespace dwae::server

#endif  // DWAE_SERVER_GRPC_STATUS_H_
