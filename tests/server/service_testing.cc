#include "tests/server/service_testing.h"

#include <utility>

#include "dwae/v1/detector.pb.h"
#include "tests/server/engine_testing.h"

namespace dwae::server::testing_engine {

LoopbackDetector::~LoopbackDetector() {
  if (loopback.server != nullptr) loopback.server->Shutdown();
  if (engine != nullptr) engine->Stop();  // a no-op if never started
}

std::unique_ptr<LoopbackDetector> StartLoopbackDetector(
    const LoopbackDetectorOptions& options) {
  auto d = std::make_unique<LoopbackDetector>();
  d->metrics = MakeMetrics();
  if (d->metrics == nullptr) return nullptr;
  EngineOptions engine_options = SmallOptions();
  engine_options.detector.serving.max_batch_records = options.max_batch_records;
  d->engine = MakeEngine(engine_options, d->metrics.get());
  if (d->engine == nullptr) return nullptr;
  if (options.start_engine) d->engine->Start();
  d->service =
      std::make_unique<DetectorService>(d->engine.get(), d->metrics.get());
  d->loopback = testutil::StartLoopbackServer(d->service.get(),
                                              options.max_message_bytes);
  if (d->loopback.server == nullptr) return nullptr;
  return d;
}

std::string RefusalBytes(int code, const std::string& message) {
  v1::VerdictBatch refusal;
  refusal.set_error_code(code);
  refusal.set_error_message(message);
  return refusal.SerializeAsString();
}

}  // namespace dwae::server::testing_engine
