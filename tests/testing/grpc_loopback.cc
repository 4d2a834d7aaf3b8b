#include "tests/testing/grpc_loopback.h"

#include <utility>

#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace dwae::testutil {

LoopbackServer StartLoopbackServer(grpc::Service* service) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
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
