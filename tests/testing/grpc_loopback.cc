#include "tests/testing/grpc_loopback.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/impl/client_unary_call.h"
#include "grpcpp/impl/rpc_method.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "grpcpp/support/sync_stream.h"
#include "gtest/gtest.h"
#include "proto/byte_buffer_bytes.h"

namespace dwae::testutil {

namespace {

// "/dwae.v1.Detector/<name>", the path a generated stub calls.
std::string DetectorMethod(const char* name) {
  return absl::StrCat("/", v1::Detector::service_full_name(), "/", name);
}

// The bytes of `buffer`; false when gRPC cannot give its slices.
bool JoinedBytes(const grpc::ByteBuffer& buffer, std::string* out) {
  grpc::Slice single;
  std::string joined;
  absl::string_view bytes;
  if (!ByteBufferBytes(buffer, &single, &joined, &bytes)) return false;
  out->assign(bytes.data(), bytes.size());
  return true;
}

}  // namespace

LoopbackServer StartLoopbackServer(grpc::Service* service,
                                   int max_message_bytes) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  if (max_message_bytes > 0) {
    builder.SetMaxReceiveMessageSize(max_message_bytes);
    builder.SetMaxSendMessageSize(max_message_bytes);
  }
  builder.RegisterService(service);
  LoopbackServer out;
  out.server = builder.BuildAndStart();
  if (out.server == nullptr || port == 0) {
    ADD_FAILURE() << "no loopback gRPC server (port " << port << ")";
    out.server = nullptr;
    return out;
  }
  out.channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                    grpc::InsecureChannelCredentials());
  return out;
}

std::vector<v1::VerdictBatch> StreamBatches(
    v1::Detector::Stub& stub, const std::vector<v1::RecordBatch>& batches,
    absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  auto stream = stub.Stream(&context);
  std::vector<v1::VerdictBatch> out;
  for (const v1::RecordBatch& batch : batches) {
    if (!stream->Write(batch)) {
      ADD_FAILURE() << "stream write failed after " << out.size() << " batches";
      break;
    }
    v1::VerdictBatch verdicts;
    if (!stream->Read(&verdicts)) {
      ADD_FAILURE() << "stream read failed after " << out.size() << " batches";
      break;
    }
    out.push_back(std::move(verdicts));
  }
  stream->WritesDone();
  const grpc::Status s = stream->Finish();
  EXPECT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
  return out;
}

std::vector<std::string> StreamBytes(grpc::Channel& channel,
                                     const std::vector<std::string>& messages,
                                     absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  const std::string method = DetectorMethod("Stream");
  const grpc::internal::RpcMethod rpc(
      method.c_str(), grpc::internal::RpcMethod::BIDI_STREAMING);
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>>
      stream(grpc::internal::ClientReaderWriterFactory<
             grpc::ByteBuffer, grpc::ByteBuffer>::Create(&channel, rpc,
                                                         &context));
  std::vector<std::string> out;
  for (const std::string& message : messages) {
    grpc::Slice slice(message.data(), message.size());
    if (!stream->Write(grpc::ByteBuffer(&slice, 1))) {
      ADD_FAILURE() << "stream write failed after " << out.size()
                    << " messages";
      break;
    }
    grpc::ByteBuffer answer;
    std::string bytes;
    if (!stream->Read(&answer) || !JoinedBytes(answer, &bytes)) {
      ADD_FAILURE() << "stream read failed after " << out.size() << " messages";
      break;
    }
    out.push_back(std::move(bytes));
  }
  stream->WritesDone();
  const grpc::Status s = stream->Finish();
  EXPECT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
  return out;
}

grpc::Status UnaryScoreBytes(grpc::Channel& channel, const std::string& request,
                             absl::Duration timeout, std::string* response) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  const std::string method = DetectorMethod("Score");
  const grpc::internal::RpcMethod rpc(method.c_str(),
                                      grpc::internal::RpcMethod::NORMAL_RPC);
  grpc::Slice slice(request.data(), request.size());
  const grpc::ByteBuffer in(&slice, 1);
  grpc::ByteBuffer out;
  const grpc::Status status =
      grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
          &channel, rpc, &context, in, &out);
  response->clear();
  if (status.ok() && !JoinedBytes(out, response)) {
    ADD_FAILURE() << "the response's bytes could not be read";
  }
  return status;
}

std::vector<std::string> VerdictsWithoutPlace(const v1::VerdictBatch& batch) {
  std::vector<std::string> out;
  for (v1::Verdict v : batch.verdicts()) {
    v.clear_sequence();
    v.clear_scored_at();
    out.push_back(v.SerializeAsString());
  }
  return out;
}

}  // namespace dwae::testutil
