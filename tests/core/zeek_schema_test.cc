// The feature schema as a property of encoders, detectors and checkpoints.
#include <memory>
#include <string>
#include <vector>

#include "core/checkpoint.h"
#include "core/config.h"
#include "core/dataset.h"
#include "core/detector.h"
#include "core/encoder.h"
#include "core/zeek_features.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

using ::testing::HasSubstr;

constexpr char kDay[] = "data/zeek/ctu-normal-42-day2.conn.log.labeled";

const std::vector<Record>& ZeekRows() {
  static const std::vector<Record>* const kRows = [] {
    auto rows = LoadFeatureRows(kDay, InputFormat::kAuto);
    EXPECT_TRUE(rows.ok()) << rows.status();
    return new std::vector<Record>(rows.ok() ? *rows : std::vector<Record>{});
  }();
  return *kRows;
}

Record KddRecord() {
  Record r;
  r.protocol_type = "tcp";
  r.service = "http";
  r.flag = "SF";
  return r;
}

TEST(ZeekSchemaTest, EncoderLayoutAndNames) {
  EXPECT_EQ(InputDim(FeatureSchema::kKdd), 125);
  EXPECT_EQ(InputDim(FeatureSchema::kZeek), 147);
  FeatureEncoder encoder(FeatureSchema::kZeek);
  EXPECT_EQ(encoder.input_dim(), kZeekInputDim);
  EXPECT_EQ(encoder.num_numeric(), kZeekNumNumeric);
  const auto name = [](int d) {
    return FeatureEncoder::DimensionName(FeatureSchema::kZeek, d);
  };
  EXPECT_EQ(name(0), "duration");
  EXPECT_EQ(name(3), "land");
  EXPECT_EQ(name(4), "count");
  EXPECT_EQ(name(22), "dst_host_srv_rerror_rate");
  EXPECT_EQ(name(23), "orig_pkts");
  EXPECT_EQ(name(23 + kExtraHistoryFirst), "history_S");
  EXPECT_EQ(name(57), "resp_port_dynamic");
  EXPECT_EQ(name(58), "protocol_type=tcp");
  EXPECT_EQ(name(62 + 24), "service=http");
  EXPECT_EQ(name(133 + 12), "flag=SHR");
  EXPECT_EQ(name(146), "flag=<unknown>");
  EXPECT_EQ(name(147), "?");
  // The kdd names are unchanged.
  EXPECT_EQ(FeatureEncoder::DimensionName(124), "flag=<unknown>");
}

TEST(ZeekSchemaTest, FixedScalesSurviveFitting) {
  // Normal rows only: no SYN errors among them (checked below).
  std::vector<Record> normal = NormalRows(ZeekRows());
  ASSERT_GT(normal.size(), 1000u);
  FeatureEncoder encoder(FeatureSchema::kZeek);
  encoder.Fit(normal);
  Record scan = normal.front();
  scan.numeric[24] = 1.0;                  // serror_rate
  scan.numeric[22] = 511;                  // count
  scan.extra[kExtraHistoryFirst + 1] = 1;  // 's'
  scan.flag = "RSTRH";
  std::vector<float> v(encoder.input_dim());
  encoder.Encode(scan, v.data());
  EXPECT_FLOAT_EQ(v[6], 1.0f);  // serror_rate, fixed [0, 1]
  EXPECT_FLOAT_EQ(v[4], 1.0f);  // count at its cap
  EXPECT_FLOAT_EQ(v[23 + kExtraHistoryFirst + 1], 1.0f);
  EXPECT_FLOAT_EQ(v[133 + 5], 1.0f);  // flag=RSTRH
  float sum = 0;
  for (int d = kZeekNumNumeric; d < kZeekInputDim; ++d) sum += v[d];
  EXPECT_EQ(sum, 3.0f);  // three one-hots
}

TEST(ZeekSchemaTest, RestoreNamesTheSchemaOnASizeMismatch) {
  FeatureEncoder encoder(FeatureSchema::kZeek);
  EXPECT_THAT(encoder.Restore(std::vector<double>(38), std::vector<double>(38))
                  .message(),
              HasSubstr("expected 58 mins and 58 maxs (schema zeek)"));
}

DetectorConfig ZeekConfig() {
  DetectorConfig config;
  config.SetSchema(FeatureSchema::kZeek);
  config.learning.warmup_records = 200;
  config.learning.warmup_epochs = 2;
  return config;
}

TEST(ZeekSchemaTest, MismatchErrorsNameBothSchemas) {
  auto detector = Detector::Create(ZeekConfig());
  ASSERT_TRUE(detector.ok()) << detector.status();
  EXPECT_EQ((*detector)->schema(), FeatureSchema::kZeek);
  const absl::Status s = (*detector)->CheckRecord(KddRecord());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "record has feature schema 'kdd' but the model was trained on "
            "schema 'zeek'");
  EXPECT_FALSE(
      (*detector)->Process(KddRecord(), Detector::LearnDecision::kYes));
  EXPECT_EQ((*detector)->records_learned(), 0u);
  EXPECT_TRUE((*detector)->CheckRecord(ZeekRows().front()).ok());

  auto kdd = Detector::Create(DetectorConfig());
  ASSERT_TRUE(kdd.ok());
  auto model = (*kdd)->Publish();
  EXPECT_EQ(model->schema(), FeatureSchema::kKdd);
  EXPECT_EQ(model->CheckRecord(ZeekRows().front()).message(),
            "record has feature schema 'zeek' but the model was trained on "
            "schema 'kdd'");
}

TEST(ZeekSchemaTest, ConfigCarriesTheSchema) {
  v1::DaemonConfig proto = DetectorConfigToProto(ZeekConfig());
  EXPECT_EQ(proto.model().feature_schema(), "zeek");
  auto back = DetectorConfigFromProto(proto);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->schema, FeatureSchema::kZeek);
  EXPECT_EQ(back->model.shape.input_dim, kZeekInputDim);
  // A config (or checkpoint) from before schemas: kdd.
  proto.mutable_model()->clear_feature_schema();
  proto.mutable_model()->clear_hidden();
  back = DetectorConfigFromProto(proto);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->schema, FeatureSchema::kKdd);
  proto.mutable_model()->set_feature_schema("netflow");
  EXPECT_THAT(DetectorConfigFromProto(proto).status().message(),
              HasSubstr("model.feature_schema: unknown feature schema"));
}

// Learns `n` normal rows and round-trips the checkpoint.
void LearnAndRoundTrip(size_t n) {
  auto detector = Detector::Create(ZeekConfig());
  ASSERT_TRUE(detector.ok());
  std::vector<Record> normal = NormalRows(ZeekRows());
  for (size_t i = 0; i < n; ++i) (*detector)->Learn(normal[i]);
  v1::ModelState state;
  (*detector)->Save(&state);
  if ((*detector)->warming_up()) {
    EXPECT_EQ(state.feature_warmup_buffer_size(), static_cast<int>(n));
    EXPECT_EQ(state.warmup_buffer_size(), 0);
  }
  auto decoded = DecodeCheckpoint(EncodeCheckpoint(state));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  auto restored = Detector::Restore(*decoded);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ((*restored)->schema(), FeatureSchema::kZeek);
  auto a = (*detector)->Publish();
  auto b = (*restored)->Publish();
  ScoringScratch sa = a->MakeScratch(), sb = b->MakeScratch();
  for (size_t i = 0; i < 50; ++i) {
    ScoreResult ra, rb;
    a->Score(ZeekRows()[i], 3, &sa, &ra);
    b->Score(ZeekRows()[i], 3, &sb, &rb);
    EXPECT_EQ(ra.score, rb.score);
    EXPECT_EQ(ra.anomalous, rb.anomalous);
  }
  ScoreResult r;
  b->Score(ZeekRows()[0], 1, &sb, &r);
  EXPECT_NE(b->DimensionName(r.top[0].dimension), "?");
}

TEST(ZeekSchemaTest, CheckpointRoundTripDuringWarmup) { LearnAndRoundTrip(50); }

TEST(ZeekSchemaTest, CheckpointRoundTripAfterWarmup) { LearnAndRoundTrip(300); }

}  // namespace
}  // namespace dwae
