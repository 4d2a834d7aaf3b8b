#include "server/daemon.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "core/file_system.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace dwae::server {
namespace {

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(
    const TlsOptions& tls) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl(
      tls.client_ca.empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = tls.client_ca;
  ssl.pem_key_cert_pairs.push_back({tls.private_key, tls.cert_chain});
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Create(
    const ServerOptions& options) {
  std::unique_ptr<Daemon> d(new Daemon(options));
  MetricsOptions m;
  m.listen = options.metrics_listen;
  m.build_version = options.build_version;
  m.rule = RuleName(options.engine.detector.model.rule.kind);
  m.rpc_methods = DetectorService::MethodNames();
  m.num_layers = int(options.engine.detector.model.shape.hidden.size()) + 1;
  absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Create(m);
  if (!metrics.ok()) return metrics.status();
  d->metrics_ = *std::move(metrics);
  absl::StatusOr<std::unique_ptr<Engine>> engine =
      Engine::Create(options.engine, d->metrics_.get(), DefaultFileSystem());
  if (!engine.ok()) return engine.status();
  d->engine_ = *std::move(engine);
  if (options.kafka.enabled()) {
    absl::StatusOr<std::unique_ptr<KafkaConsumer>> kafka =
        KafkaConsumer::Create(options.kafka, d->engine_.get(),
                              d->metrics_.get(),
                              !options.engine.state_dir.empty());
    if (!kafka.ok()) return kafka.status();
    d->kafka_ = *std::move(kafka);
  }
  d->service_ = std::make_unique<DetectorService>(
      d->engine_.get(), d->metrics_.get(), options.admin_token);
  d->health_ = std::make_unique<HealthService>(
      std::vector<std::string>{v1::Detector::service_full_name()});
  return d;
}

Daemon::~Daemon() { GracefulStop(); }

absl::Status Daemon::Start() {
  // grpc.health.v1 is our synchronous HealthService, not gRPC's default
  // (a callback service: see server/health_service.h).
  grpc::EnableDefaultHealthCheckService(false);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.listen, ServerCredentials(options_.tls),
                           &grpc_port_);
  builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
  builder.SetMaxSendMessageSize(options_.max_message_bytes);
  grpc::ResourceQuota quota("dwaed");
  quota.Resize(static_cast<size_t>(options_.grpc_memory_bytes));
  builder.SetResourceQuota(quota);
  builder.RegisterService(service_.get());
  builder.RegisterService(health_.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || grpc_port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("listen: cannot serve gRPC on ", options_.listen,
                     options_.tls.enabled()
                         ? " (with TLS: do --tls_cert and --tls_key match?)"
                         : ""));
  }
  engine_->Start();
  if (kafka_ != nullptr) {
    if (absl::Status s = kafka_->Start(); !s.ok()) return s;
  }
  if (engine_->ready()) health_->SetServing(true);
  return absl::OkStatus();
}

void Daemon::GracefulStop() {
  if (stopped_) return;
  stopped_ = true;
  if (server_ != nullptr) {
    health_->Shutdown();
    const auto deadline = std::chrono::system_clock::now() +
                          std::chrono::milliseconds(static_cast<int64_t>(
                              options_.drain_deadline_seconds * 1000));
    server_->Shutdown(deadline);
    server_->Wait();
  }
  // Kafka: no more scoring, then the final checkpoint, then its offsets.
  if (kafka_ != nullptr) kafka_->StopConsuming();
  if (engine_ != nullptr) engine_->Stop();
  if (kafka_ != nullptr) kafka_->Close();
}

}  // namespace dwae::server
