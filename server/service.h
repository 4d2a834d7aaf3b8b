// DetectorService: the dwae.v1.Detector gRPC service, a thin adapter that
// converts between the wire and the Engine, times every call into
// dwae_rpc_duration_seconds{method} and counts errors.
//
// The admin RPCs (Checkpoint, SetLearning, SetThreshold, ResetModel) first
// pass AdminAuth (server/auth.h): a bearer token, or loopback peers when no
// token is configured. Score, Stream, QueryVerdicts, GetModelInfo and Sync
// are the read path of sensors and services and are not checked.
//
// Thread-safety: gRPC calls the handlers from its thread pool; the Engine
// and Metrics are thread-safe.
#ifndef DWAE_SERVER_SERVICE_H_
#define DWAE_SERVER_SERVICE_H_

#include <string>
#include <vector>

#include "dwae/v1/detector.grpc.pb.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/sync_stream.h"
#include "server/auth.h"
#include "server/engine.h"
#include "server/metrics.h"

namespace dwae::server {

class DetectorService final : public v1::Detector::Service {
 public:
  // The method names, for MetricsOptions::rpc_methods.
  static std::vector<std::string> MethodNames();

  // `engine` and `metrics` must outlive the service. `admin_token` empty:
  // admin RPCs are allowed from loopback peers only.
  DetectorService(Engine* engine, Metrics* metrics,
                  std::string admin_token = "");

  // The Score RPC, with its request as bytes: the constructor installs it
  // in place of the generated handler (the wire is unchanged), so that a
  // request over the engine's batch limit is refused from a count of its
  // entries (CountBatchEntries) before protobuf builds a message for each
  // (16 MiB of empty records took 800 MB so). Bytes that are not a
  // ScoreRequest: INVALID_ARGUMENT.
  grpc::Status Score(
      grpc::ServerContext* context,
      grpc::ServerUnaryStreamer<grpc::ByteBuffer, v1::ScoreResponse>* call);
  // The Stream RPC, with its messages as bytes (RecordBatch in,
  // VerdictBatch out): the constructor installs it in place of the
  // generated handler, so that the verdicts are written straight to the
  // wire (Engine::ScoreToWire) instead of built as messages first.
  grpc::Status Stream(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>* stream);
  grpc::Status QueryVerdicts(grpc::ServerContext* context,
                             const v1::QueryVerdictsRequest* request,
                             v1::QueryVerdictsResponse* response) override;
  grpc::Status GetModelInfo(grpc::ServerContext* context,
                            const v1::GetModelInfoRequest* request,
                            v1::ModelInfo* response) override;
  grpc::Status Sync(grpc::ServerContext* context,
                    const v1::SyncRequest* request,
                    v1::SyncResponse* response) override;
  grpc::Status Checkpoint(grpc::ServerContext* context,
                          const v1::CheckpointRequest* request,
                          v1::CheckpointResponse* response) override;
  grpc::Status SetLearning(grpc::ServerContext* context,
                           const v1::SetLearningRequest* request,
                           v1::SetLearningResponse* response) override;
  grpc::Status SetThreshold(grpc::ServerContext* context,
                            const v1::SetThresholdRequest* request,
                            v1::SetThresholdResponse* response) override;
  grpc::Status ResetModel(grpc::ServerContext* context,
                          const v1::ResetModelRequest* request,
                          v1::ResetModelResponse* response) override;

 private:
  // Score's work once the request is parsed.
  absl::Status ScoreParsed(const v1::ScoreRequest& request,
                           v1::ScoreResponse* response);
  // OK when the call may use an admin RPC.
  absl::Status CheckAdmin(const grpc::ServerContext* context) const;

  Engine* const engine_;
  Metrics* const metrics_;
  const AdminAuth admin_auth_;
};

}  // namespace dwae::server

#endif  // DWAE_SERVER_SERVICE_H_
