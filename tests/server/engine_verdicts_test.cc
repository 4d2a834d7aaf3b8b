// The verdicts a stream sends as bytes: AppendVerdictBatchWire must write
// exactly the bytes of the VerdictBatch that VerdictRowToProto's messages
// serialize to (the oracle), and Engine::ScoreToWire must answer what
// Engine::Score answers.
#include "server/engine_verdicts.h"

#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/encoder.h"
#include "core/file_system.h"
#include "gtest/gtest.h"
#include "server/engine.h"
#include "tests/server/engine_testing.h"

namespace dwae::server {
namespace {

using testing_engine::Batch;
using testing_engine::MakeMetrics;
using testing_engine::SmallOptions;

// The oracle: the rows as messages, serialized by protobuf.
std::string ProtoBytes(const std::vector<VerdictRow>& rows,
                       FeatureSchema schema) {
  v1::VerdictBatch batch;
  for (const VerdictRow& row : rows) {
    VerdictRowToProto(row, schema, batch.add_verdicts());
  }
  return batch.SerializeAsString();
}

// Doubles that exercise proto3's presence rule: zero is left out, -0.0 and
// everything else is written.
double RandomDouble(std::mt19937_64& rng) {
  switch (rng() % 6) {
    case 0:
      return 0.0;
    case 1:
      return -0.0;
    case 2:
      return std::numeric_limits<double>::infinity();
    case 3:
      return std::nan("");
    default:
      return std::uniform_real_distribution<double>(-10, 10)(rng);
  }
}

std::string RandomString(std::mt19937_64& rng, const char* stem) {
  const size_t n = rng() % 4;
  if (n == 0) return "";
  if (n == 3) return std::string(200, 'x');  // a two-byte length
  return absl::StrCat(stem, rng() % 100000);
}

TEST(VerdictWireTest, BytesAreTheSerializedMessages) {
  std::mt19937_64 rng(13);
  for (FeatureSchema schema : {FeatureSchema::kKdd, FeatureSchema::kZeek}) {
    const int dims = InputDim(schema);
    for (int trial = 0; trial < 200; ++trial) {
      SCOPED_TRACE(trial);
      const size_t n = rng() % 40;
      std::vector<std::string> ids(n), sensors(n);
      std::vector<VerdictRow> rows(n);
      for (size_t i = 0; i < n; ++i) {
        VerdictRow& r = rows[i];
        ids[i] = RandomString(rng, "KDDTest+.txt:");
        sensors[i] = RandomString(rng, "sensor-");
        r.id = &ids[i];
        r.sensor_id = &sensors[i];
        if (rng() % 5 == 0) {
          r.error_code = rng() % 3 == 0 ? -int32_t(rng() % 7) - 1
                                        : int32_t(1 + rng() % 16);
          r.error_message = RandomString(rng, "features.duration: ");
          r.score = 1;  // ignored for an invalid row
          continue;
        }
        r.score = RandomDouble(rng);
        r.threshold = RandomDouble(rng);
        r.anomalous = rng() % 2;
        r.learned = rng() % 2;
        r.warming_up = rng() % 2;
        r.label = RandomString(rng, "label");
        r.model_version = rng() % 3 == 0 ? 0 : rng() >> (rng() % 64);
        r.sequence = rng() % 3 == 0 ? 0 : rng() >> (rng() % 64);
        // Before and after 1970, whole seconds, sub-second.
        r.scored_at_ns =
            int64_t(rng() % 4 == 0 ? 0 : rng() >> 2) * (rng() % 2 ? 1 : -1);
        if (rng() % 5 == 0) r.scored_at_ns -= r.scored_at_ns % 1000000000;
        r.num_top = int(rng() % (kMaxTopK + 1));
        for (int t = 0; t < r.num_top; ++t) {
          r.top[t] = {int(rng() % dims), float(RandomDouble(rng)),
                      float(RandomDouble(rng)), float(RandomDouble(rng))};
        }
      }
      std::string wire = "prefix";  // appended to, not overwritten
      AppendVerdictBatchWire(rows.data(), rows.size(), schema, &wire);
      ASSERT_EQ(wire.substr(0, 6), "prefix");
      EXPECT_EQ(wire.substr(6), ProtoBytes(rows, schema));
    }
  }
}

// ScoreToWire and Score on the same batch, learning off (the model does not
// change between them): the same verdicts but for their place in the
// window (sequence, scored_at).
TEST(VerdictWireTest, ScoreToWireAnswersWhatScoreAnswers) {
  std::unique_ptr<Metrics> metrics = MakeMetrics();
  ASSERT_NE(metrics, nullptr);
  absl::StatusOr<std::unique_ptr<Engine>> engine =
      Engine::Create(SmallOptions(), metrics.get(), DefaultFileSystem());
  ASSERT_TRUE(engine.ok()) << engine.status();
  google::protobuf::RepeatedPtrField<v1::Record> batch = Batch(0, 40, "row");
  batch[7].set_id(batch[3].id());  // an invalid entry: a duplicate id
  batch[9].mutable_features()->set_duration(-1);  // and a bad feature
  for (uint32_t top_k : {0u, 1u, 5u}) {
    SCOPED_TRACE(top_k);
    google::protobuf::RepeatedPtrField<v1::Verdict> messages;
    ASSERT_TRUE((*engine)
                    ->Score(batch, {}, v1::LEARNING_MODE_OFF, top_k, &messages)
                    .ok());
    std::string wire;
    int allocations = 0;
    ASSERT_TRUE((*engine)
                    ->ScoreToWire(batch, {}, v1::LEARNING_MODE_OFF, top_k,
                                  [&](size_t size) {
                                    ++allocations;
                                    wire.resize(size);
                                    return wire.data();
                                  })
                    .ok());
    EXPECT_EQ(allocations, 1);
    v1::VerdictBatch parsed;
    ASSERT_TRUE(parsed.ParseFromString(wire));
    ASSERT_EQ(parsed.verdicts_size(), messages.size());
    for (int i = 0; i < messages.size(); ++i) {
      SCOPED_TRACE(i);
      v1::Verdict a = messages[i];
      v1::Verdict b = parsed.verdicts(i);
      EXPECT_EQ(a.error_code() != 0, i == 7 || i == 9);
      if (a.error_code() == 0) {
        // Later in the window, by one batch of valid verdicts.
        EXPECT_EQ(b.sequence(), a.sequence() + 38);
        EXPECT_TRUE(b.has_scored_at());
        EXPECT_EQ(a.top_features_size(), top_k == 0 ? 3 : int(top_k));
      }
      a.clear_sequence();
      a.clear_scored_at();
      b.clear_sequence();
      b.clear_scored_at();
      EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString())
          << a.DebugString() << " vs " << b.DebugString();
    }
  }
  // The window has the wire path's verdicts (the latest of each id).
  v1::QueryVerdictsRequest query;
  query.add_ids(batch[0].id());
  v1::QueryVerdictsResponse found;
  ASSERT_TRUE((*engine)->QueryVerdicts(query, &found).ok());
  ASSERT_EQ(found.verdicts_size(), 1);
  EXPECT_EQ(found.verdicts(0).sequence(), found.last_sequence() - 37);
}

}  // namespace
}  // namespace dwae::server
