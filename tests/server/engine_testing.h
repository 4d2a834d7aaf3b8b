// Helpers of the in-process Engine tests (engine_test, engine_sync_test):
// NSL-KDD normal rows as wire records, a small engine configuration and a
// Metrics without HTTP listener.
#ifndef DWAE_TESTS_SERVER_ENGINE_TESTING_H_
#define DWAE_TESTS_SERVER_ENGINE_TESTING_H_

#include <memory>
#include <string>
#include <vector>

#include "core/record.h"
#include "dwae/v1/record.pb.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "server/engine.h"
#include "server/metrics.h"
#include "server/options.h"

namespace dwae::server::testing_engine {

// The normal rows of data/nsl-kdd/KDDTrain+_20Percent.txt (loaded once).
const std::vector<Record>& NormalTrainRows();

// Wire records of normal rows [begin, begin + n) (wrapping around), ids
// "<prefix>-<i>", sensor "sensor-engine".
google::protobuf::RepeatedPtrField<v1::Record> Batch(size_t begin, size_t n,
                                                     const std::string& prefix);

// A small model (hidden {8}), warm-up of 200 records and 1 epoch, no
// periodic checkpoints; `state_dir` empty keeps everything in memory.
EngineOptions SmallOptions(const std::string& state_dir = "");

// Metrics without an HTTP listener; null (with a test failure) on error.
std::unique_ptr<Metrics> MakeMetrics();

// Engine::Create on the real file system, not started; null (with a test
// failure) on error. `metrics` must outlive the engine.
std::unique_ptr<Engine> MakeEngine(const EngineOptions& options,
                                   Metrics* metrics);

}  // namespace dwae::server::testing_engine

#endif  // DWAE_TESTS_SERVER_ENGINE_TESTING_H_
