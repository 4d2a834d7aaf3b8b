#include "tests/server/engine_testing.h"

#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/dataset.h"
#include "core/file_system.h"
#include "core/record_proto.h"
#include "gtest/gtest.h"

namespace dwae::server::testing_engine {

const std::vector<Record>& NormalTrainRows() {
  static const std::vector<Record>* const rows = [] {
    absl::StatusOr<std::vector<Record>> all =
        LoadRecords(DWAE_SOURCE_DIR "/data/nsl-kdd/KDDTrain+_20Percent.txt",
                    RecordFormat::kNslKdd);
    if (!all.ok()) {
      ADD_FAILURE() << all.status();
      return new std::vector<Record>();
    }
    return new std::vector<Record>(NormalRows(*all));
  }();
  return *rows;
}

// Wire records of normal rows [begin, begin + n), ids "<prefix>-<i>".
google::protobuf::RepeatedPtrField<v1::Record> Batch(
    size_t begin, size_t n, const std::string& prefix) {
  google::protobuf::RepeatedPtrField<v1::Record> out;
  const std::vector<Record>& rows = NormalTrainRows();
  for (size_t i = begin; i < begin + n; ++i) {
    *out.Add() = RecordToProto(rows[i % rows.size()],
                               absl::StrCat(prefix, "-", i), "sensor-engine");
  }
  return out;
}

EngineOptions SmallOptions(const std::string& state_dir) {
  EngineOptions o;
  o.detector.model.shape.hidden = {8};
  o.detector.learning.warmup_records = 200;
  o.detector.learning.warmup_epochs = 1;
  o.state_dir = state_dir;
  o.checkpoint_interval_seconds = 0;
  return o;
}

std::unique_ptr<Metrics> MakeMetrics() {
  MetricsOptions o;
  o.listen = "";  // no HTTP listener
  o.num_layers = 2;
  absl::StatusOr<std::unique_ptr<Metrics>> m = Metrics::Create(o);
  EXPECT_TRUE(m.ok()) << m.status();
  return m.ok() ? *std::move(m) : nullptr;
}

std::unique_ptr<Engine> MakeEngine(const EngineOptions& options,
                                   Metrics* metrics) {
  absl::StatusOr<std::unique_ptr<Engine>> engine =
      Engine::Create(options, metrics, DefaultFileSystem());
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? *std::move(engine) : nullptr;
}

}  // namespace dwae::server::testing_engine
