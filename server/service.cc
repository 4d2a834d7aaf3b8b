#include "server/service.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "grpc/slice.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/method_handler.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "grpcpp/support/slice.h"
#include "server/grpc_status.h"
#include "server/service_wire.h"

namespace dwae::server {
namespace {

// A stream's request arena block: a batch of 512 KDD records takes about
// 320 KiB; larger batches spill into further blocks, freed at each reset.
constexpr size_t kStreamArenaBlockBytes = 512 * 1024;

// Runs `handler`, observing its duration and counting a failure.
template <typename Handler>
grpc::Status Timed(Metrics* metrics, const char* method, Handler&& handler) {
  const absl::Time start = absl::Now();
  const absl::Status status = handler();
  if (const RpcMetrics* rpc = metrics->rpc(method)) {
    rpc->duration.Observe(absl::ToDoubleSeconds(absl::Now() - start));
    if (!status.ok()) rpc->errors.Increment();
  }
  return ToGrpcStatus(status);
}

// The index of the Detector service's method `name` (the generated
// service registers its methods in the proto's order).
int MethodIndex(const char* name) {
  return v1::RecordBatch::descriptor()
      ->file()
      ->FindServiceByName("Detector")
      ->FindMethodByName(name)
      ->index();
}

}  // namespace

std::vector<std::string> DetectorService::MethodNames() {
  return {"Score",      "Stream",      "QueryVerdicts", "GetModelInfo", "Sync",
          "Checkpoint", "SetLearning", "SetThreshold",  "ResetModel"};
}

DetectorService::DetectorService(Engine* engine, Metrics* metrics,
                                 std::string admin_token)
    : engine_(engine), metrics_(metrics), admin_auth_(std::move(admin_token)) {
  // Score and Stream take bytes: their generated handlers are replaced by
  // ones with grpc::ByteBuffer messages (the wire is unchanged). Score as a
  // "streamed unary" method: one message in, one out, as a unary call.
  MarkMethodStreamed(
      MethodIndex("Score"),
      new grpc::internal::StreamedUnaryHandler<grpc::ByteBuffer,
                                               v1::ScoreResponse>(
          [this](grpc::ServerContext* context,
                 grpc::ServerUnaryStreamer<grpc::ByteBuffer, v1::ScoreResponse>*
                     call) { return Score(context, call); }));
  MarkMethodStreamed(
      MethodIndex("Stream"),
      new grpc::internal::BidiStreamingHandler<
          DetectorService, grpc::ByteBuffer, grpc::ByteBuffer>(
          [](DetectorService* service, grpc::ServerContext* context,
             grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>*
                 stream) { return service->Stream(context, stream); },
          this));
}

absl::Status DetectorService::CheckAdmin(
    const grpc::ServerContext* context) const {
  std::optional<absl::string_view> authorization;
  const auto& metadata = context->client_metadata();
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    authorization = absl::string_view(it->second.data(), it->second.size());
  }
  return admin_auth_.Check(authorization, context->peer());
}

grpc::Status DetectorService::Score(
    grpc::ServerContext*,
    grpc::ServerUnaryStreamer<grpc::ByteBuffer, v1::ScoreResponse>* call) {
  v1::ScoreResponse response;
  const grpc::Status status = Timed(metrics_, "Score", [&]() -> absl::Status {
    grpc::ByteBuffer in;
    if (!call->Read(&in)) return absl::CancelledError("no request");
    // Over the limit (or of both kinds): refused on the count, before
    // protobuf builds a message per entry. Those checks come before the
    // mode's, which the count does not know (the default passes it).
    size_t records = 0, connections = 0;
    {
      grpc::ProtoBufferReader bytes(&in);
      google::protobuf::io::CodedInputStream coded(&bytes);
      if (bytes.status().ok() &&
          CountBatchEntries(&coded, &records, &connections)) {
        absl::Status refused = engine_->CheckBatch(records, connections,
                                                   v1::LEARNING_MODE_DEFAULT);
        if (!refused.ok()) return refused;
      }
    }
    google::protobuf::Arena arena;
    auto* request =
        google::protobuf::Arena::CreateMessage<v1::ScoreRequest>(&arena);
    grpc::ProtoBufferReader bytes(&in);
    if (!bytes.status().ok() || !request->ParseFromZeroCopyStream(&bytes)) {
      return absl::InvalidArgumentError(
          "the request is not a dwae.v1.ScoreRequest");
    }
    return ScoreParsed(*request, &response);
  });
  // As the last message: sent with the status, in one batch of operations
  // as a unary handler sends them, not in a round of its own.
  if (status.ok() &&
      !call->Write(response, grpc::WriteOptions().set_last_message())) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "client went away");
  }
  return status;
}

absl::Status DetectorService::ScoreParsed(const v1::ScoreRequest& request,
                                          v1::ScoreResponse* response) {
  const v1::LearningMode mode = request.learning() == v1::LEARNING_MODE_DEFAULT
                                    ? v1::LEARNING_MODE_OFF
                                    : request.learning();
  return engine_->Score(request.records(), request.connections(), mode,
                        request.top_k(), response->mutable_verdicts());
}

grpc::Status DetectorService::Stream(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>* stream) {
  return Timed(metrics_, "Stream", [&]() -> absl::Status {
    // Most batches are read straight from their bytes (service_wire.h).
    // The others are parsed into a message on an arena reset before each
    // such parse: a heap-allocated message would free and reallocate every
    // record's Features (proto3 Clear deletes sub-messages) and their
    // strings each time; on the arena they are bump-allocated in a block
    // that the stream keeps. A batch refused as a whole, on either path,
    // is answered with one small VerdictBatch carrying the batch-level
    // error (BatchRefusalBytes), never one verdict per record: a message of
    // empty records would make an answer ~32 times its size.
    std::vector<char> block(kStreamArenaBlockBytes);
    google::protobuf::ArenaOptions arena_options;
    arena_options.initial_block = block.data();
    arena_options.initial_block_size = block.size();
    arena_options.max_block_size = kStreamArenaBlockBytes;
    google::protobuf::Arena arena(arena_options);
    StreamBatchReader reader(engine_->max_batch_records());
    grpc::ByteBuffer in;
    while (stream->Read(&in)) {
      if (context->IsCancelled()) return absl::CancelledError("cancelled");
      // The engine writes the answer's bytes straight into the slice that
      // gRPC sends (Engine::ScoreToWire).
      grpc::Slice slice;
      auto allocate = [&slice](size_t size) {
        grpc_slice bytes = grpc_slice_malloc(size);
        slice = grpc::Slice(bytes, grpc::Slice::STEAL_REF);
        return reinterpret_cast<char*>(GRPC_SLICE_START_PTR(bytes));
      };
      // The histogram times the engine's calls, as before the wire reader.
      absl::Duration scoring;
      // Not OK: the batch is refused as a whole with this status.
      absl::Status refused;
      // Answered (scored or refused) without protobuf.
      bool answered = false;
      const bool read = reader.Read(in);
      size_t records = 0, connections = 0;
      const bool counted = !read && reader.over_limit() == 0 &&
                           reader.CountEntries(&records, &connections);
      const absl::Time start = absl::Now();
      if (read) {
        // The engine's only errors here are CheckBatch's, before any
        // record is scored (the mode, as the size is within the limit).
        refused = engine_->ScoreEntriesToWire(
            reader.entries(), reader.learning(), reader.top_k(), allocate);
        answered = true;
      } else if (reader.over_limit() > 0) {
        // Too many records, all of them readable: refused on the count,
        // as the engine refuses it after protobuf parsed it.
        refused = engine_->CheckBatch(reader.over_limit(), reader.learning());
        answered = !refused.ok();
      } else if (counted) {
        // Declined for another reason (an unknown field, a connection): a
        // batch over the limit (or of both kinds) is refused on the count,
        // before protobuf builds a message per record. Those checks come
        // before the mode's, which the count does not know (the default
        // passes it).
        refused = engine_->CheckBatch(records, connections,
                                      v1::LEARNING_MODE_DEFAULT);
        answered = !refused.ok();
      }
      scoring = absl::Now() - start;
      if (!answered) {
        arena.Reset();
        auto* batch =
            google::protobuf::Arena::CreateMessage<v1::RecordBatch>(&arena);
        grpc::ProtoBufferReader proto_reader(&in);
        if (!proto_reader.status().ok() ||
            !batch->ParseFromZeroCopyStream(&proto_reader)) {
          return absl::InvalidArgumentError(
              "a message of the stream is not a dwae.v1.RecordBatch");
        }
        const absl::Time parsed = absl::Now();
        refused =
            engine_->ScoreToWire(batch->records(), batch->connections(),
                                 batch->learning(), batch->top_k(), allocate);
        scoring += absl::Now() - parsed;
      }
      if (!refused.ok()) {
        const std::string bytes = BatchRefusalBytes(refused);
        slice = grpc::Slice(bytes.data(), bytes.size());
      }
      in.Clear();
      metrics_->stream_batch_duration().Observe(absl::ToDoubleSeconds(scoring));
      if (!stream->Write(grpc::ByteBuffer(&slice, 1))) {
        return absl::UnavailableError("client went away");
      }
    }
    return absl::OkStatus();
  });
}

grpc::Status DetectorService::QueryVerdicts(
    grpc::ServerContext*, const v1::QueryVerdictsRequest* request,
    v1::QueryVerdictsResponse* response) {
  return Timed(metrics_, "QueryVerdicts",
               [&] { return engine_->QueryVerdicts(*request, response); });
}

grpc::Status DetectorService::GetModelInfo(grpc::ServerContext*,
                                           const v1::GetModelInfoRequest*,
                                           v1::ModelInfo* response) {
  return Timed(metrics_, "GetModelInfo", [&] {
    engine_->GetModelInfo(response);
    return absl::OkStatus();
  });
}

grpc::Status DetectorService::Sync(grpc::ServerContext* context,
                                   const v1::SyncRequest*,
                                   v1::SyncResponse* response) {
  return Timed(metrics_, "Sync", [&]() -> absl::Status {
    // Without a client deadline gRPC reports time_point::max() (the year
    // 2262): no bound in practice, cancellation still ends the wait.
    const absl::Time deadline = absl::FromChrono(context->deadline());
    absl::StatusOr<v1::SyncResponse> r =
        engine_->Sync(deadline, [context] { return context->IsCancelled(); });
    if (!r.ok()) return r.status();
    *response = *std::move(r);
    return absl::OkStatus();
  });
}

grpc::Status DetectorService::Checkpoint(grpc::ServerContext* context,
                                         const v1::CheckpointRequest*,
                                         v1::CheckpointResponse* response) {
  return Timed(metrics_, "Checkpoint", [&]() -> absl::Status {
    if (absl::Status s = CheckAdmin(context); !s.ok()) return s;
    absl::StatusOr<v1::CheckpointResponse> r = engine_->Checkpoint();
    if (!r.ok()) return r.status();
    *response = *std::move(r);
    return absl::OkStatus();
  });
}

grpc::Status DetectorService::SetLearning(grpc::ServerContext* context,
                                          const v1::SetLearningRequest* request,
                                          v1::SetLearningResponse* response) {
  return Timed(metrics_, "SetLearning", [&]() -> absl::Status {
    if (absl::Status s = CheckAdmin(context); !s.ok()) return s;
    absl::StatusOr<v1::LearningState> state =
        engine_->SetLearning(request->state());
    if (!state.ok()) return state.status();
    response->set_state(*state);
    return absl::OkStatus();
  });
}

grpc::Status DetectorService::SetThreshold(
    grpc::ServerContext* context, const v1::SetThresholdRequest* request,
    v1::SetThresholdResponse* response) {
  return Timed(metrics_, "SetThreshold", [&]() -> absl::Status {
    if (absl::Status s = CheckAdmin(context); !s.ok()) return s;
    absl::StatusOr<v1::SetThresholdResponse> r =
        engine_->SetThreshold(*request);
    if (!r.ok()) return r.status();
    *response = *std::move(r);
    return absl::OkStatus();
  });
}

grpc::Status DetectorService::ResetModel(grpc::ServerContext* context,
                                         const v1::ResetModelRequest* request,
                                         v1::ResetModelResponse*) {
  return Timed(metrics_, "ResetModel", [&]() -> absl::Status {
    if (absl::Status s = CheckAdmin(context); !s.ok()) return s;
    if (!request->confirm()) {
      return absl::FailedPreconditionError(
          "confirm: must be true; a reset forgets everything learned");
    }
    return engine_->ResetModel();
  });
}

}  // namespace dwae::server
