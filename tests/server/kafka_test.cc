// dwaed as a Kafka consumer group, end to end: a standalone mock cluster
// (tests/testing/kafka_mock_cluster.cc), two real dwaed processes in one
// group over a 6-partition topic, and the test as sensor and SIEM.
//
// One scenario, in order: both replicas join and split the partitions;
// records (with some bad messages among them) arrive; one replica is killed
// with SIGKILL mid-stream and restarted on its state directory; every
// broker goes down for a few seconds; more records arrive. Then both stop
// (final checkpoints) and the test checks
//   - no record lost: every valid record has a verdict in the verdicts topic
//     (duplicates are allowed: verdicts are at-least-once),
//   - no record learned twice by one model: each checkpoint's offsets cover
//     exactly the records its model learned (records_learned of the model
//     itself = the records in its partitions' [first, next) ranges plus
//     those of partitions it gave away),
//   - the checkpoints' offsets cover every partition to its end,
//   - bad messages are counted where they are, and consumption went on,
//   - the verdicts' JSON content.
#include <signal.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "core/checkpoint.h"
#include "core/file_system.h"
#include "dwae/v1/detector.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/server/http_get.h"
#include "tests/testing/cli.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/kafka_testing.h"
#include "tests/testing/temp_files.h"

namespace dwae {
namespace {

using testutil::TestDaemon;

constexpr int kPartitions = 6;
constexpr size_t kRecords = 12000;
constexpr size_t kBadEvery = 997;  // every 997th message is not a record
constexpr char kConfig[] =
    "learning { warmup_records: 500 warmup_epochs: 2 }\n";

std::vector<std::string> Lines() {
  std::vector<std::string> lines;
  const std::string text = testutil::ReadFileOrEmpty(
      absl::StrCat(DWAE_SOURCE_DIR, "/data/nsl-kdd/KDDTrain+_20Percent.txt"));
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty()) continue;
    lines.push_back(lines.size() % kBadEvery == kBadEvery - 1
                        ? std::string("not,a,record")
                        : std::string(line));
    if (lines.size() == kRecords) break;
  }
  return lines;
}

// A replica: its daemon, state directory and gRPC stub.
struct Replica {
  std::string name;
  std::string state_dir;
  TestDaemon daemon;
  std::unique_ptr<v1::Detector::Stub> stub;
};

class KafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<testutil::MockKafka> mock =
        testutil::StartMockKafka(KAFKA_MOCK_PATH, {"conn:6", "verdicts:6"});
    ASSERT_TRUE(mock.ok()) << mock.status();
    mock_ = *std::move(mock);
    lines_ = Lines();
    ASSERT_EQ(lines_.size(), kRecords);
  }

  void Start(Replica* r) {
    if (r->state_dir.empty()) r->state_dir = testutil::MakeTempDir("kafka");
    absl::StatusOr<TestDaemon> d = testutil::StartTestDaemon(
        DWAED_PATH, kConfig,
        {absl::StrCat("--state_dir=", r->state_dir), "--checkpoint_interval=1",
         absl::StrCat("--kafka_brokers=", mock_.bootstrap),
         "--kafka_topics=conn", "--kafka_group=test",
         absl::StrCat("--kafka_instance_id=", r->name),
         "--kafka_verdicts_topic=verdicts", "--kafka_verdicts=all",
         "--kafka_batch=512", "--kafka_property=session.timeout.ms=6000",
         "--kafka_property=heartbeat.interval.ms=500",
         "--kafka_property=reconnect.backoff.max.ms=500",
         "--kafka_property=topic.metadata.refresh.interval.ms=1000"});
    ASSERT_TRUE(d.ok()) << d.status();
    r->daemon = *std::move(d);
    r->stub = v1::Detector::NewStub(grpc::CreateChannel(
        r->daemon.address(), grpc::InsecureChannelCredentials()));
  }

  static v1::ModelInfo Info(Replica& r) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    v1::ModelInfo info;
    const grpc::Status s =
        r.stub->GetModelInfo(&context, v1::GetModelInfoRequest(), &info);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return info;
  }

  static void LearnEverything(Replica& r) {
    grpc::ClientContext context;
    v1::SetLearningRequest request;
    request.set_state(v1::LEARNING_STATE_ON);
    v1::SetLearningResponse response;
    ASSERT_TRUE(r.stub->SetLearning(&context, request, &response).ok());
  }

  // Waits until `done` holds for the replicas' infos (polling every 100 ms).
  template <typename Pred>
  bool WaitFor(std::vector<Replica*> rs, absl::Duration timeout, Pred done) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      std::vector<v1::ModelInfo> infos;
      for (Replica* r : rs) infos.push_back(Info(*r));
      if (done(infos)) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  // Messages produced so far to partition p.
  int64_t PartitionEnd(int p, size_t produced) const {
    return int64_t(produced / kPartitions +
                   (size_t(p) < produced % kPartitions ? 1 : 0));
  }

  testutil::MockKafka mock_;
  std::vector<std::string> lines_;
};

// The partitions a replica owns.
std::set<int> Owned(const v1::ModelInfo& info) {
  std::set<int> out;
  for (const v1::KafkaPartitionStatus& p : info.kafka().partitions()) {
    out.insert(p.partition());
  }
  return out;
}

// Learned offset of every owned partition, across replicas.
std::map<int, int64_t> Learned(const std::vector<v1::ModelInfo>& infos) {
  std::map<int, int64_t> out;
  for (const v1::ModelInfo& info : infos) {
    for (const v1::KafkaPartitionStatus& p : info.kafka().partitions()) {
      out[p.partition()] = p.learned_offset();
    }
  }
  return out;
}

TEST_F(KafkaTest, GroupSurvivesKillAndBrokerOutageWithoutLossOrDoubleLearning) {
  Replica a, b;
  a.name = "dwaed-a";
  b.name = "dwaed-b";
  Start(&a);
  Start(&b);
  LearnEverything(a);
  LearnEverything(b);
  // Both join; the 6 partitions split 3/3.
  ASSERT_TRUE(WaitFor({&a, &b}, absl::Seconds(40),
                      [](const auto& infos) {
                        return infos[0].kafka().partitions_size() == 3 &&
                               infos[1].kafka().partitions_size() == 3;
                      }))
      << Info(a).kafka().DebugString() << Info(b).kafka().DebugString();
  // dwae status shows the assignment.
  const testutil::SubprocessResult status = testutil::RunCli(
      DWAE_CLI_PATH, {"status", absl::StrCat("--server=", a.daemon.address())});
  EXPECT_THAT(status.stdout_text, ::testing::HasSubstr("conn:"));
  EXPECT_THAT(status.stdout_text, ::testing::HasSubstr("total lag"));

  // First half; kill -9 one replica while it consumes.
  ASSERT_TRUE(testutil::ProduceLines(mock_.bootstrap, "conn", kPartitions,
                                     lines_, 0, kRecords / 2)
                  .ok());
  ASSERT_TRUE(WaitFor({&a}, absl::Seconds(30), [](const auto& infos) {
    return infos[0].kafka().records_consumed() >= 1000;
  }));
  const std::set<int> owned_before_kill = Owned(Info(a));
  const uint64_t b_rebalances_before_kill = Info(b).kafka().rebalances();
  a.daemon.process->Signal(SIGKILL);
  a.daemon.process->Wait(absl::Seconds(10));
  a.daemon.process.reset();
  ASSERT_TRUE(testutil::ProduceLines(mock_.bootstrap, "conn", kPartitions,
                                     lines_, kRecords / 2, kRecords * 3 / 4)
                  .ok());
  Start(&a);  // same state directory and instance id
  LearnEverything(a);
  // The restarted replica (same group.instance.id) gets a balanced share
  // again. On a real broker static membership hands it back its own
  // partitions without a rebalance; Debian's librdkafka 2.0.2 mock does not
  // implement that (it rebalances after the old member's session times out:
  // docs/kafka.md), so the line below reports what happened, for the record.
  const absl::Time restarted = absl::Now();
  ASSERT_TRUE(WaitFor({&a}, absl::Seconds(40), [](const auto& infos) {
    return infos[0].kafka().partitions_size() == 3;
  })) << Info(a).kafka().DebugString();
  std::printf(
      "kafka_test: restarted replica owns 3 partitions %.1f s after its "
      "restart, %s before the kill; the other replica saw %llu rebalance "
      "callback(s) meanwhile\n",
      absl::ToDoubleSeconds(absl::Now() - restarted),
      Owned(Info(a)) == owned_before_kill ? "the same as" : "not those it had",
      static_cast<unsigned long long>(Info(b).kafka().rebalances() -
                                      b_rebalances_before_kill));

  // Every broker down for a few seconds, then the rest.
  ASSERT_TRUE(mock_.SetBrokersDown(true));
  absl::SleepFor(absl::Seconds(3));  // the outage itself
  ASSERT_TRUE(mock_.SetBrokersDown(false));
  ASSERT_TRUE(testutil::ProduceLines(mock_.bootstrap, "conn", kPartitions,
                                     lines_, kRecords * 3 / 4, kRecords)
                  .ok());
  ASSERT_TRUE(WaitFor({&a, &b}, absl::Seconds(90),
                      [&](const auto& infos) {
                        const std::map<int, int64_t> learned = Learned(infos);
                        if (learned.size() != kPartitions) return false;
                        for (const auto& [p, offset] : learned) {
                          if (offset != PartitionEnd(p, kRecords)) return false;
                        }
                        return true;
                      }))
      << Info(a).kafka().DebugString() << Info(b).kafka().DebugString();
  const uint64_t rebalances =
      Info(a).kafka().rebalances() + Info(b).kafka().rebalances();
  // Back-pressure pauses consumption (counted) instead of dropping.
  const uint64_t pauses = Info(a).kafka().pauses() + Info(b).kafka().pauses();
  EXPECT_EQ(Info(a).records_dropped() + Info(b).records_dropped(), 0u);

  // Final checkpoints, then what they hold.
  for (Replica* r : {&a, &b}) {
    const testutil::SubprocessResult stopped = StopTestDaemon(&r->daemon);
    EXPECT_EQ(stopped.exit_code, 0) << stopped.Describe();
  }
  std::set<int> covered;
  uint64_t learned_twice = 0, bad_counted = 0, bad_expected = 0;
  for (Replica* r : {&a, &b}) {
    absl::StatusOr<v1::ModelState> state =
        ReadCheckpoint(DefaultFileSystem(),
                       absl::StrCat(r->state_dir, "/", kCheckpointFileName));
    ASSERT_TRUE(state.ok()) << state.status();
    const v1::KafkaState& k = state->kafka();
    EXPECT_EQ(k.group(), "test");
    // Records in the partitions' [first, next) ranges, known from the data,
    // plus those of partitions given away.
    uint64_t unique = k.released_records_processed();
    for (const v1::KafkaPosition& p : k.positions()) {
      SCOPED_TRACE(absl::StrCat(r->name, " conn:", p.partition()));
      EXPECT_EQ(p.topic(), "conn");
      EXPECT_EQ(p.next_offset(), PartitionEnd(p.partition(), kRecords));
      EXPECT_EQ(p.records_processed() + p.bad_messages(),
                uint64_t(p.next_offset() - p.first_offset()));
      EXPECT_TRUE(covered.insert(p.partition()).second) << "owned twice";
      bad_counted += p.bad_messages();
      for (int64_t o = p.first_offset(); o < p.next_offset(); ++o) {
        const size_t line = size_t(o) * kPartitions + size_t(p.partition());
        const bool bad = line % kBadEvery == kBadEvery - 1;
        bad_expected += bad;
        unique += !bad;
      }
    }
    // The model's own count of what it learned (learning is ON).
    EXPECT_EQ(state->records_learned(), unique) << r->name;
    learned_twice += state->records_learned() > unique
                         ? state->records_learned() - unique
                         : 0;
  }
  EXPECT_EQ(covered.size(), size_t(kPartitions));
  EXPECT_EQ(bad_counted, bad_expected);

  // Every valid record has a verdict; check the JSON of each.
  const size_t valid = kRecords - kRecords / kBadEvery;
  absl::StatusOr<std::vector<testutil::KafkaMessage>> verdicts =
      testutil::ReadTopic(mock_.bootstrap, "verdicts", kPartitions, valid,
                          absl::Seconds(60), absl::Seconds(1));
  ASSERT_TRUE(verdicts.ok()) << verdicts.status();
  std::set<std::string> ids;
  for (const testutil::KafkaMessage& m : *verdicts) {
    const nlohmann::json j = nlohmann::json::parse(m.value, nullptr, false);
    ASSERT_TRUE(j.is_object()) << m.value;
    const std::string id = j.at("id").get<std::string>();
    const std::vector<std::string> parts = absl::StrSplit(id, ':');
    ASSERT_EQ(parts.size(), 3u) << id;
    const int partition = std::stoi(parts[1]);
    const size_t line = std::stoul(parts[2]) * kPartitions + size_t(partition);
    ASSERT_LT(line, lines_.size());
    EXPECT_EQ(m.key, absl::StrCat("sensor-", partition));
    EXPECT_EQ(j.at("sensor_id"), m.key);
    EXPECT_EQ(j.at("source").at("partition"), partition);
    const std::vector<std::string> fields = absl::StrSplit(lines_[line], ',');
    ASSERT_GT(fields.size(), 41u);
    EXPECT_EQ(j.at("label").get<std::string>(), fields[41]);
    EXPECT_TRUE(j.at("score").is_number());
    EXPECT_TRUE(j.at("anomalous").is_boolean());
    EXPECT_TRUE(j.at("top_features").is_array());
    EXPECT_TRUE(j.contains("threshold") && j.contains("model_version") &&
                j.contains("scored_at"));
    ids.insert(id);
  }
  const size_t lost = valid - ids.size();
  EXPECT_EQ(lost, 0u);
  EXPECT_EQ(learned_twice, 0u);
  std::printf(
      "kafka_test: records %zu (valid %zu), lost %zu, learned twice by one "
      "model %llu, duplicate verdicts %zu, bad messages %llu, rebalances "
      "%llu, pauses %llu\n",
      kRecords, valid, lost, static_cast<unsigned long long>(learned_twice),
      verdicts->size() - ids.size(),
      static_cast<unsigned long long>(bad_counted),
      static_cast<unsigned long long>(rebalances),
      static_cast<unsigned long long>(pauses));
}

// Back-pressure: a learn queue of two batches and a long warm-up
// consolidation (during which the learner takes nothing from the queue)
// make the consumer pause its partitions. Pausing must lose nothing and
// learn nothing twice: every record is consumed, the model learns exactly
// as many records as the topic holds, and the pauses show in /metrics.
TEST_F(KafkaTest, FullLearnQueuePausesPartitionsWithoutLossOrDoubleLearning) {
  constexpr size_t kCount = 6000;
  std::vector<std::string> lines;
  for (const std::string& line : lines_) {
    if (line != "not,a,record") lines.push_back(line);
    if (lines.size() == kCount) break;
  }
  ASSERT_EQ(lines.size(), kCount);
  absl::StatusOr<TestDaemon> d = testutil::StartTestDaemon(
      DWAED_PATH,
      // The float rule learns about 3x slower than the consumer scores
      // (about 10 us a record against 3), on top of the warm-up's
      // consolidation: the queue fills whatever the learner kernels' speed.
      // With the default dw-shadow rule (2 us a record) it filled only while
      // the consolidation ran, and a fetch that came late found it empty
      // (no pause: the test failed once under load).
      "model { rule: \"float\" }\n"
      "learning { warmup_records: 2000 warmup_epochs: 20 "
      "queue_capacity: 1024 }\n"
      // Pause as soon as the queue is full (by default the consumer first
      // waits half a second for the learner, which a fast machine may
      // consolidate within).
      "kafka { pause_after_ms: 0 }\n",
      {"--metrics_listen=127.0.0.1:0",
       absl::StrCat("--kafka_brokers=", mock_.bootstrap), "--kafka_topics=conn",
       "--kafka_group=pressure", "--kafka_batch=512",
       "--kafka_property=session.timeout.ms=6000"});
  ASSERT_TRUE(d.ok()) << d.status();
  Replica r;
  r.daemon = *std::move(d);
  r.stub = v1::Detector::NewStub(grpc::CreateChannel(
      r.daemon.address(), grpc::InsecureChannelCredentials()));
  // Learning ON before any record arrives: then records_learned counts
  // every record the model learned, warm-up or not.
  LearnEverything(r);
  ASSERT_TRUE(WaitFor({&r}, absl::Seconds(40), [](const auto& infos) {
    return infos[0].kafka().partitions_size() == kPartitions;
  })) << Info(r).kafka().DebugString();
  ASSERT_TRUE(
      testutil::ProduceLines(mock_.bootstrap, "conn", kPartitions, lines).ok());
  ASSERT_TRUE(WaitFor({&r}, absl::Seconds(60), [&](const auto& infos) {
    const std::map<int, int64_t> learned = Learned(infos);
    if (learned.size() != kPartitions) return false;
    for (const auto& [p, offset] : learned) {
      if (offset != PartitionEnd(p, kCount)) return false;
    }
    return true;
  })) << Info(r).kafka().DebugString();
  const v1::ModelInfo info = Info(r);
  EXPECT_EQ(info.kafka().records_consumed(), kCount);
  EXPECT_EQ(info.records_scored(), kCount);
  EXPECT_EQ(info.records_learned(), kCount);
  EXPECT_EQ(info.records_dropped(), 0u);
  EXPECT_GT(info.kafka().pauses(), 0u);
  const testutil::MetricsScrape metrics = testutil::ParseMetricsText(
      testutil::HttpBody(testutil::HttpGet(r.daemon.metrics_port, "/metrics")));
  EXPECT_EQ(metrics.Value("dwae_kafka_pauses_total"),
            double(info.kafka().pauses()));
  EXPECT_GT(metrics.Value("dwae_kafka_pauses_total"), 0);
  EXPECT_EQ(metrics.Value("dwae_kafka_records_consumed_total"), double(kCount));
  std::printf("kafka_test: back-pressure paused consumption %llu time(s)\n",
              static_cast<unsigned long long>(info.kafka().pauses()));
  const testutil::SubprocessResult stopped = StopTestDaemon(&r.daemon);
  EXPECT_EQ(stopped.exit_code, 0) << stopped.Describe();
}

}  // namespace
}  // namespace dwae
