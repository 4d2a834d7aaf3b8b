// The Detector service as the service tests (service_stream_test,
// service_refusal_test) talk to it: a real Engine (testing_engine's small
// configuration) behind a DetectorService on a loopback gRPC server.
#ifndef DWAE_TESTS_SERVER_SERVICE_TESTING_H_
#define DWAE_TESTS_SERVER_SERVICE_TESTING_H_

#include <cstddef>
#include <memory>
#include <string>

#include "server/engine.h"
#include "server/metrics.h"
#include "server/service.h"
#include "tests/testing/grpc_loopback.h"

namespace dwae::server::testing_engine {

struct LoopbackDetectorOptions {
  // The engine's serving.max_batch_records.
  size_t max_batch_records = 50;
  // Starts the engine's learner (which takes scored records off the learn
  // queue: needed when a test scores more than the queue holds).
  bool start_engine = false;
  // The server's message limits (StartLoopbackServer); 0: gRPC's defaults.
  int max_message_bytes = 0;
};

// Owns the parts in the order they must stop: the server first, then the
// engine (stopped, if it was started), the service and the metrics.
struct LoopbackDetector {
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<DetectorService> service;
  testutil::LoopbackServer loopback;

  LoopbackDetector() = default;
  LoopbackDetector(const LoopbackDetector&) = delete;
  LoopbackDetector& operator=(const LoopbackDetector&) = delete;
  ~LoopbackDetector();
};

// Null (with a test failure) when a part fails to start.
std::unique_ptr<LoopbackDetector> StartLoopbackDetector(
    const LoopbackDetectorOptions& options);

// The answer the tests expect to a batch refused as a whole with `code` and
// `message`: a serialized VerdictBatch without verdicts and with the
// batch-level error (detector.proto), built here rather than by the
// server's BatchRefusalBytes, which it checks.
std::string RefusalBytes(int code, const std::string& message);

}  // namespace dwae::server::testing_engine

#endif  // DWAE_TESTS_SERVER_SERVICE_TESTING_H_
