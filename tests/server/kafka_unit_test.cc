// KafkaPositions (where partitions resume, what checkpoints hold), the
// Kafka record decoder and the verdict JSON, without a cluster.
#include <nlohmann/json.hpp>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/kafka_positions.h"
#include "server/kafka_records.h"
#include "server/kafka_verdicts.h"

namespace dwae::server {
namespace {

const TopicPartition kP0{"conn", 0};
const TopicPartition kP1{"conn", 1};

const v1::KafkaPosition* Find(const v1::KafkaState& s, int partition) {
  for (const v1::KafkaPosition& p : s.positions()) {
    if (p.partition() == partition) return &p;
  }
  return nullptr;
}

// The checkpoint of a replica that learned offsets 0..499 of partition 0.
v1::KafkaState CheckpointAfter500() {
  KafkaPositions k("g");
  k.Assign({kP0}, {kNoOffset});
  k.Consumed(kP0, 0, 500, 500, 0, 500);
  v1::KafkaState saved;
  k.Save(500, &saved);
  return saved;
}

TEST(KafkaPositionsTest, LearnedAdvancesOnlyWithTheLearner) {
  KafkaPositions k("g");
  EXPECT_EQ(k.Assign({kP0}, {kNoOffset}), std::vector<int64_t>{kNoOffset});
  k.Consumed(kP0, 0, 100, 99, 1, /*ticket=*/99);
  k.Consumed(kP0, 100, 200, 100, 0, /*ticket=*/199);
  v1::KafkaState s;
  k.Save(/*processed=*/150, &s);  // the first batch only
  ASSERT_NE(Find(s, 0), nullptr);
  EXPECT_EQ(Find(s, 0)->next_offset(), 100);
  EXPECT_EQ(Find(s, 0)->records_processed(), 99u);
  EXPECT_EQ(Find(s, 0)->bad_messages(), 1u);
  k.Save(199, &s);
  EXPECT_EQ(Find(s, 0)->next_offset(), 200);
  EXPECT_EQ(Find(s, 0)->first_offset(), 0);
}

TEST(KafkaPositionsTest, RestartResumesAtTheCheckpointNotTheOlderCommit) {
  KafkaPositions k("g");
  ASSERT_TRUE(k.Restore(CheckpointAfter500()));
  // Kafka's commit is older (the crash came before the commit).
  EXPECT_EQ(k.Assign({kP0}, {300}), std::vector<int64_t>{500});
  k.Consumed(kP0, 500, 600, 100, 0, 10);
  v1::KafkaState s;
  k.Save(10, &s);
  EXPECT_EQ(Find(s, 0)->first_offset(), 0);
  EXPECT_EQ(Find(s, 0)->records_processed(), 600u);
}

TEST(KafkaPositionsTest, AnotherReplicasNewerCommitWins) {
  KafkaPositions k("g");
  ASSERT_TRUE(k.Restore(CheckpointAfter500()));
  EXPECT_EQ(k.Assign({kP0}, {800}), std::vector<int64_t>{800});
  v1::KafkaState s;
  k.Save(0, &s);
  EXPECT_EQ(Find(s, 0)->first_offset(), 800);
  EXPECT_EQ(Find(s, 0)->records_processed(), 0u);
  EXPECT_EQ(s.released_records_processed(), 500u);
}

TEST(KafkaPositionsTest, KeptPartitionContinuesAcrossARebalance) {
  KafkaPositions k("g");
  k.Assign({kP0, kP1}, {kNoOffset, kNoOffset});
  k.Consumed(kP0, 0, 100, 100, 0, 100);
  k.Consumed(kP1, 0, 50, 50, 0, 150);
  k.Revoke();
  // The group's commit is still 0: our position (100) must win, or the
  // model would learn 0..99 twice. p1 moved away for good.
  EXPECT_EQ(k.Assign({kP0}, {0}), std::vector<int64_t>{100});
  v1::KafkaState s;
  k.Save(150, &s);
  ASSERT_EQ(s.positions_size(), 1);
  EXPECT_EQ(Find(s, 0)->next_offset(), 100);
  EXPECT_EQ(Find(s, 0)->records_processed(), 100u);
  // p1's 50 records were learned after it left: counted as released.
  EXPECT_EQ(s.released_records_processed(), 50u);
}

TEST(KafkaPositionsTest, RedeliveriesAreNotNew) {
  KafkaPositions k("g");
  k.Assign({kP0}, {kNoOffset});
  EXPECT_TRUE(k.IsNew(kP0, 0));
  k.Consumed(kP0, 0, 100, 100, 0, 100);
  EXPECT_FALSE(k.IsNew(kP0, 99));
  EXPECT_TRUE(k.IsNew(kP0, 100));
  k.Revoke();
  k.Assign({kP0}, {50});  // kept: resumes at 100, 0..99 stay scored
  EXPECT_FALSE(k.IsNew(kP0, 60));
  EXPECT_TRUE(k.IsNew(kP1, 0));
}

TEST(KafkaPositionsTest, AnotherGroupsCheckpointIsIgnored) {
  v1::KafkaState saved;
  saved.set_group("other");
  saved.add_positions()->set_next_offset(5);
  KafkaPositions k("g");
  EXPECT_FALSE(k.Restore(saved));
  EXPECT_EQ(k.Assign({kP0}, {kNoOffset}), std::vector<int64_t>{kNoOffset});
}

TEST(KafkaRecordDecoderTest, IdIsTopicPartitionOffsetAndKeyIsSensor) {
  absl::StatusOr<std::unique_ptr<KafkaRecordDecoder>> d =
      KafkaRecordDecoder::Create("nsl-kdd");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ((*d)->schema(), FeatureSchema::kKdd);
  const std::string line =
      "0,tcp,http,SF,181,5450,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,8,8,0,0,0,0,1,0,"
      "0,9,9,1,0,0.11,0,0,0,0,0,normal,21";
  BatchEntry e;
  e.status = absl::InternalError("left from an earlier batch");
  std::string id, sensor;
  ASSERT_TRUE(
      (*d)->Decode({"conn", 3, 42, "sensor-7", line}, &e, &id, &sensor).ok());
  EXPECT_TRUE(e.status.ok());
  EXPECT_FALSE(e.is_connection);
  EXPECT_EQ(e.id, &id);
  EXPECT_EQ(*e.id, "conn:3:42");
  EXPECT_EQ(e.sensor_id, &sensor);
  EXPECT_EQ(*e.sensor_id, "sensor-7");
  EXPECT_EQ(e.record.label, "normal");
  EXPECT_EQ(e.record.numeric[4], 181);
  EXPECT_EQ(e.record.service, "http");
  const absl::Status bad =
      (*d)->Decode({"conn", 0, 1, "", "1,2,3"}, &e, &id, &sensor);
  EXPECT_FALSE(bad.ok());
  // The wire limits of the Stream path hold here too.
  const absl::Status long_key = (*d)->Decode(
      {"conn", 0, 2, std::string(129, 'k'), line}, &e, &id, &sensor);
  EXPECT_EQ(long_key.message(), "sensor_id: 129 bytes, limit is 128");
  EXPECT_FALSE(KafkaRecordDecoder::Create("yaml").ok());
  EXPECT_FALSE(KafkaRecordDecoder::Create("auto").ok());
}

TEST(KafkaRecordDecoderTest, ZeekMessagesBecomeConnections) {
  absl::StatusOr<std::unique_ptr<KafkaRecordDecoder>> json =
      KafkaRecordDecoder::Create("zeek-json");
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ((*json)->schema(), FeatureSchema::kZeek);
  BatchEntry a, b;
  std::string id_a, sensor_a, id_b, sensor_b;
  ASSERT_TRUE((*json)
                  ->Decode({"zeek", 0, 7, "sensor-1",
                            R"({"ts":1591367999.305988,"uid":"CabcDEF1",)"
                            R"("id.orig_h":"192.168.4.76","id.orig_p":36844,)"
                            R"("id.resp_h":"192.168.4.1","id.resp_p":53,)"
                            R"("proto":"udp","conn_state":"SF"})"},
                           &a, &id_a, &sensor_a)
                  .ok());
  // No TSV header in the message: Zeek's default columns apply; no uid.
  absl::StatusOr<std::unique_ptr<KafkaRecordDecoder>> tsv =
      KafkaRecordDecoder::Create("zeek");
  ASSERT_TRUE(tsv.ok()) << tsv.status();
  const std::string line =
      "1591367999.305988\t-\t10.0.0.1\t5353\t10.0.0.2\t80\ttcp\t-\t"
      "0.5\t10\t20\tSF\t-\t-\t0\tShAdDaFf\t5\t300\t4\t400\t-";
  absl::Status s =
      (*tsv)->Decode({"zeek", 1, 9, "sensor-2", line}, &b, &id_b, &sensor_b);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(a.is_connection);
  // A connection's verdict id is its uid, else TOPIC:PARTITION:OFFSET.
  EXPECT_EQ(*a.id, "CabcDEF1");
  EXPECT_EQ(*a.sensor_id, "sensor-1");
  EXPECT_EQ(a.connection.resp_p, 53);
  EXPECT_TRUE(b.is_connection);
  EXPECT_EQ(*b.id, "zeek:1:9");
  EXPECT_EQ(b.connection.resp_p, 80);
  EXPECT_EQ(*b.sensor_id, "sensor-2");
  EXPECT_FALSE(
      (*json)->Decode({"zeek", 0, 8, "", "{"}, &a, &id_a, &sensor_a).ok());
}

TEST(VerdictJsonTest, HasTheDocumentedFields) {
  v1::Verdict v;
  v.set_id("conn:1:2");
  v.set_sensor_id("s");
  v.set_score(0.5);
  v.set_threshold(std::numeric_limits<double>::infinity());
  v.set_anomalous(true);
  v.set_label("neptune");
  v.set_model_version(7);
  v.mutable_scored_at()->set_seconds(1700000000);
  v1::FeatureDeviation* f = v.add_top_features();
  f->set_feature("src_bytes");
  f->set_squared_error(0.25);
  const nlohmann::json j =
      nlohmann::json::parse(VerdictToJson(v, {"conn", 1, 2}));
  EXPECT_EQ(j.at("id"), "conn:1:2");
  EXPECT_EQ(j.at("sensor_id"), "s");
  EXPECT_TRUE(j.at("threshold").is_null());  // warming up
  EXPECT_EQ(j.at("anomalous"), true);
  EXPECT_EQ(j.at("label"), "neptune");
  EXPECT_EQ(j.at("model_version"), 7);
  EXPECT_EQ(j.at("scored_at"), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(j.at("top_features")[0].at("feature"), "src_bytes");
  EXPECT_EQ(j.at("source").at("offset"), 2);
}

// The consumer builds a message only for the verdicts Wants accepts, so
// it must accept exactly what Produce sends.
TEST(VerdictProducerTest, WantsWhatKafkaVerdictsSelects) {
  KafkaOptions options;
  options.brokers = "127.0.0.1:1";  // never reached: nothing is produced
  options.verdicts_topic = "verdicts";
  VerdictRow normal, anomaly, invalid;
  anomaly.anomalous = true;
  invalid.anomalous = true;
  invalid.error_code = 3;
  for (const KafkaVerdicts which :
       {KafkaVerdicts::kAnomalies, KafkaVerdicts::kAll}) {
    options.verdicts = which;
    absl::StatusOr<std::unique_ptr<VerdictProducer>> producer =
        VerdictProducer::Create(options);
    ASSERT_TRUE(producer.ok()) << producer.status();
    EXPECT_EQ((*producer)->Wants(normal), which == KafkaVerdicts::kAll);
    EXPECT_TRUE((*producer)->Wants(anomaly));
    EXPECT_FALSE((*producer)->Wants(invalid));
  }
}

}  // namespace
}  // namespace dwae::server
