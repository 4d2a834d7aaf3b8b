// dwae admin (Checkpoint, SetLearning, SetThreshold, ResetModel) and
// dwae health (grpc.health.v1.Health/Check, proto/grpc/health/v1/health.proto).
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/grpc_client.h"
#include "client/json.h"
#include "client/ops_commands.h"
#include "client/ops_internal.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace dwae {
namespace {

constexpr char kAdminUsage[] =
    "usage: dwae admin checkpoint | learning on|off|gated|auto | "
    "threshold VALUE|auto|quantile|adaptive | reset --yes";

absl::Status AdminUsage(absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(problem, " (", kAdminUsage, ")"));
}

void PrintThreshold(const v1::SetThresholdResponse& r) {
  std::printf("threshold %s (source %s)\n",
              ops::FormatThreshold(r.threshold()).c_str(),
              r.threshold_source().c_str());
}

}  // namespace

absl::Status ParseAdminAction(const std::vector<std::string>& words,
                              AdminCommandOptions* o) {
  if (words.empty()) return AdminUsage("admin: missing ACTION");
  const std::string& action = words[0];
  auto want_args = [&](size_t n) -> absl::Status {
    if (words.size() == n + 1) return absl::OkStatus();
    return AdminUsage(absl::StrCat("admin ", action, ": expected ", n,
                                   n == 1 ? " argument" : " arguments",
                                   ", got ", words.size() - 1));
  };
  if (action == "checkpoint") {
    o->action = AdminCommandOptions::Action::kCheckpoint;
    return want_args(0);
  }
  if (action == "learning") {
    if (absl::Status s = want_args(1); !s.ok()) return s;
    o->action = AdminCommandOptions::Action::kLearning;
    const std::string& state = words[1];
    if (state == "on") {
      o->learning = v1::LEARNING_STATE_ON;
    } else if (state == "off") {
      o->learning = v1::LEARNING_STATE_OFF;
    } else if (state == "gated") {
      o->learning = v1::LEARNING_STATE_GATED;
    } else if (state == "auto") {
      o->learning = v1::LEARNING_STATE_AUTO;
    } else {
      return AdminUsage(absl::StrCat("admin learning: unknown state '", state,
                                     "' (on, off, gated or auto)"));
    }
    return absl::OkStatus();
  }
  if (action == "threshold") {
    if (absl::Status s = want_args(1); !s.ok()) return s;
    o->action = AdminCommandOptions::Action::kThreshold;
    const std::string& value = words[1];
    o->fixed_threshold = 0;
    o->automatic = v1::THRESHOLD_MODE_UNSPECIFIED;
    if (value == "auto" || value == "adaptive") {
      o->automatic = v1::THRESHOLD_MODE_ADAPTIVE;
      return absl::OkStatus();
    }
    if (value == "quantile") {
      o->automatic = v1::THRESHOLD_MODE_QUANTILE;
      return absl::OkStatus();
    }
    double x = 0;
    if (!absl::SimpleAtod(value, &x) || !std::isfinite(x) || !(x > 0)) {
      return AdminUsage(absl::StrCat(
          "admin threshold: '", value,
          "' is not a finite number > 0, auto, quantile or adaptive"));
    }
    o->fixed_threshold = x;
    return absl::OkStatus();
  }
  if (action == "reset") {
    if (absl::Status s = want_args(0); !s.ok()) return s;
    o->action = AdminCommandOptions::Action::kReset;
    if (!o->yes) {
      return absl::InvalidArgumentError(
          "reset forgets everything learned; pass --yes");
    }
    return absl::OkStatus();
  }
  return AdminUsage(absl::StrCat("admin: unknown action '", action, "'"));
}

absl::Status RunAdminCommand(const AdminCommandOptions& o) {
  using Action = AdminCommandOptions::Action;
  if (o.action == Action::kReset && !o.yes) {
    return absl::InvalidArgumentError(
        "reset forgets everything learned; pass --yes");
  }
  absl::StatusOr<std::unique_ptr<DetectorClient>> client =
      DetectorClient::Connect(o.connection.server, o.connection.timeout,
                              o.connection.security);
  if (!client.ok()) return client.status();
  v1::Detector::Stub& stub = (*client)->stub();
  const std::string& address = (*client)->address();
  grpc::ClientContext context;
  ops::SetDeadline(&context, o.connection.timeout);
  switch (o.action) {
    case Action::kCheckpoint: {
      v1::CheckpointResponse r;
      const grpc::Status s =
          stub.Checkpoint(&context, v1::CheckpointRequest(), &r);
      if (!s.ok()) return ops::RpcError("Checkpoint", address, s);
      if (o.json) {
        std::printf("%s\n", ops::ProtoToJson(r).c_str());
      } else {
        std::printf("checkpoint written: %s (%llu bytes, %.3f s)\n",
                    r.path().c_str(),
                    static_cast<unsigned long long>(r.bytes()), r.seconds());
      }
      return absl::OkStatus();
    }
    case Action::kLearning: {
      v1::SetLearningRequest request;
      request.set_state(o.learning);
      v1::SetLearningResponse r;
      const grpc::Status s = stub.SetLearning(&context, request, &r);
      if (!s.ok()) return ops::RpcError("SetLearning", address, s);
      if (o.json) {  // the state named as `dwae status` names it
        Json doc;
        doc["state"] = ops::LearningStateName(r.state());
        std::printf("%s\n", DumpJson(doc).c_str());
      } else {
        std::printf("learning %s\n", ops::LearningStateName(r.state()));
      }
      return absl::OkStatus();
    }
    case Action::kThreshold: {
      v1::SetThresholdRequest request;
      if (o.automatic != v1::THRESHOLD_MODE_UNSPECIFIED) {
        request.set_automatic(o.automatic);
      } else if (o.fixed_threshold > 0 && std::isfinite(o.fixed_threshold)) {
        request.set_fixed(o.fixed_threshold);
      } else {
        return AdminUsage("admin threshold: the value must be finite and > 0");
      }
      v1::SetThresholdResponse r;
      const grpc::Status s = stub.SetThreshold(&context, request, &r);
      if (!s.ok()) return ops::RpcError("SetThreshold", address, s);
      if (o.json) {
        // +inf (warming up) is written as null, as score does.
        Json doc;
        doc["threshold"] = r.threshold();
        doc["threshold_source"] = r.threshold_source();
        std::printf("%s\n", DumpJson(doc).c_str());
      } else {
        PrintThreshold(r);
      }
      return absl::OkStatus();
    }
    case Action::kReset: {
      v1::ResetModelRequest request;
      request.set_confirm(true);
      v1::ResetModelResponse r;
      const grpc::Status s = stub.ResetModel(&context, request, &r);
      if (!s.ok()) return ops::RpcError("ResetModel", address, s);
      if (o.json) {
        std::printf("{\"reset\":true}\n");
      } else {
        std::printf("model reset: warming up again\n");
      }
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("admin: unknown action");
}

absl::Status RunHealthCommand(const HealthCommandOptions& o) {
  const std::string& address = o.connection.server;
  if (address.empty()) {
    return absl::InvalidArgumentError("no server address given");
  }
  const absl::Time deadline = absl::Now() + o.connection.timeout;
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      OpenChannel(address, o.connection.security, grpc::ChannelArguments(),
                  o.connection.timeout);
  if (!channel.ok()) return channel.status();
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(o.service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status =
      grpc::health::v1::Health::NewStub(*channel)->Check(&context, request,
                                                         &response);
  const std::string what =
      o.service.empty()
          ? address
          : absl::StrCat("service '", o.service, "' at ", address);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
    return absl::NotFoundError(absl::StrCat("SERVICE_UNKNOWN: ", what));
  }
  if (!status.ok()) return ops::RpcError("health check", address, status);
  switch (response.status()) {
    case grpc::health::v1::HealthCheckResponse::SERVING:
      std::printf("SERVING\n");
      return absl::OkStatus();
    case grpc::health::v1::HealthCheckResponse::NOT_SERVING:
      return absl::UnavailableError(absl::StrCat("NOT_SERVING: ", what));
    case grpc::health::v1::HealthCheckResponse::SERVICE_UNKNOWN:
      return absl::NotFoundError(absl::StrCat("SERVICE_UNKNOWN: ", what));
    default:
      return absl::UnavailableError(absl::StrCat(
          "UNKNOWN (status ", int(response.status()), "): ", what));
  }
}

}  // namespace dwae
