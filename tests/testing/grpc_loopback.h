// gRPC helpers shared by the server tests: an in-process server on a free
// loopback port, and the Detector Stream RPC driven one batch at a time.
#ifndef DWAE_TESTS_TESTING_GRPC_LOOPBACK_H_
#define DWAE_TESTS_TESTING_GRPC_LOOPBACK_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "dwae/v1/detector.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/impl/service_type.h"
#include "grpcpp/server.h"

namespace dwae::testutil {

// A started server and a channel to it. The server serves until Shutdown
// (or its destruction); the services must outlive it.
struct LoopbackServer {
  std::unique_ptr<grpc::Server> server;
  std::shared_ptr<grpc::Channel> channel;
};

// Serves `service` without TLS on 127.0.0.1, on a port the system picks.
// `max_message_bytes` > 0: the server's send and receive limits (as dwaed's
// --max_message_bytes sets them: server/daemon.cc); else gRPC's defaults.
// The channel keeps gRPC's client defaults (4 MB received at most), as a
// client that sets nothing has. On failure: a test failure and a null
// server.
LoopbackServer StartLoopbackServer(grpc::Service* service,
                                   int max_message_bytes = 0);

// Opens one Stream, writes each batch and reads its verdict batch before
// writing the next, then closes the stream; expects status OK (a test
// failure otherwise, and when the stream breaks: the batches answered
// until then). `timeout` bounds the whole stream.
std::vector<v1::VerdictBatch> StreamBatches(
    v1::Detector::Stub& stub, const std::vector<v1::RecordBatch>& batches,
    absl::Duration timeout);

// The same with the messages as bytes both ways (dwae.v1.Detector/Stream
// called as the generated stub calls it): sends each of `messages` (a
// serialized RecordBatch, or any bytes) and reads its answer before the
// next. A batch-level refusal must come back as a small message: the
// answers' bytes, expecting status OK as StreamBatches does.
std::vector<std::string> StreamBytes(grpc::Channel& channel,
                                     const std::vector<std::string>& messages,
                                     absl::Duration timeout);

// Calls dwae.v1.Detector/Score with `request`'s bytes (a serialized
// ScoreRequest, or any bytes) as the generated stub would send them; the
// call's status, and the response's bytes in *response when OK. `timeout`
// bounds the call.
grpc::Status UnaryScoreBytes(grpc::Channel& channel, const std::string& request,
                             absl::Duration timeout, std::string* response);

// The verdicts of `batch`, serialized, without their place in the window
// (sequence, scored_at): what two paths that score the same batch agree on.
std::vector<std::string> VerdictsWithoutPlace(const v1::VerdictBatch& batch);

}  // namespace dwae::testutil

#endif  // DWAE_TESTS_TESTING_GRPC_LOOPBACK_H_
