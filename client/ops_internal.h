// Helpers shared by the operator commands (ops_commands.cc,
// status_command.cc, admin_command.cc): deadlines, time and threshold
// formatting, enum names and protobuf-to-JSON rendering. Internal to the
// client; not part of the ops_commands.h contract.
#ifndef DWAE_CLIENT_OPS_INTERNAL_H_
#define DWAE_CLIENT_OPS_INTERNAL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "dwae/v1/detector.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace dwae {
namespace ops {

// Sets the per-call deadline `timeout` from now on `context`.
void SetDeadline(grpc::ClientContext* context, absl::Duration timeout);

// "METHOD to ADDR: message" with the gRPC status code kept.
absl::Status RpcError(absl::string_view method, absl::string_view address,
                      const grpc::Status& status);

absl::Time FromTimestamp(const google::protobuf::Timestamp& t);
google::protobuf::Timestamp ToTimestamp(absl::Time t);
// UTC, RFC 3339 with milliseconds, e.g. "2026-11-29T15:00:00.123Z".
std::string FormatRfc3339(absl::Time t);

// "0.002913", or "inf (warming up)" for an infinite threshold.
std::string FormatThreshold(double threshold);

// "auto", "on", "gated", "off" (or "?").
const char* LearningStateName(v1::LearningState state);

// The message as compact JSON with the proto field names; primitive fields
// at their default values are printed too. "{}" if it cannot be rendered.
std::string ProtoToJson(const google::protobuf::Message& message);

}  // namespace ops
}  // namespace dwae

#endif  // DWAE_CLIENT_OPS_INTERNAL_H_
