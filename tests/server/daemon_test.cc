// End-to-end tests of dwaed: a real daemon process (DWAED_PATH) on loopback,
// driven over gRPC with real NSL-KDD rows and scraped over HTTP /metrics.
//
// Every test starts its own daemon with a small warm-up (500 records, 2
// epochs) on a fresh state directory and kills it (SIGKILL) at the end;
// only the tests about shutdown and restarts stop it with SIGTERM, because a
// graceful stop waits about 2 s for the Prometheus exposer.
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/checkpoint.h"
#include "core/dataset.h"
#include "core/file_system.h"
#include "core/record.h"
#include "core/record_proto.h"
#include "dwae/v1/detector.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/server/http_get.h"
#include "tests/testing/grpc_loopback.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_files.h"

namespace dwae {
namespace {

namespace fs = std::filesystem;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using testutil::Subprocess;
using testutil::SubprocessResult;

constexpr uint64_t kWarmupRecords = 500;
constexpr uint32_t kMaxBatch = 1000;
constexpr double kDrainDeadlineSeconds = 2;
constexpr char kConfigText[] =
    "learning { warmup_records: 500 warmup_epochs: 2 }\n"
    "serving { max_batch_records: 1000 }\n";

// Time a SIGTERM'ed daemon may take beyond its drain deadline: stopping the
// engine, the final checkpoint and the Prometheus exposer (about 2 s).
constexpr absl::Duration kStopSlack = absl::Seconds(6);

// ---------------------------------------------------------------------------
// Data, loaded once.

struct Data {
  std::vector<Record> train_normal;  // KDDTrain+_20Percent normal rows
  std::vector<Record> test_normal;   // KDDTest+ normal rows
  std::vector<Record> test_neptune;  // KDDTest+ neptune rows
};

const Data& GetData() {
  static const Data* const data = [] {
    auto* d = new Data;
    const std::string dir = absl::StrCat(DWAE_SOURCE_DIR, "/data/nsl-kdd/");
    absl::StatusOr<std::vector<Record>> train = LoadRecords(
        absl::StrCat(dir, "KDDTrain+_20Percent.txt"), RecordFormat::kNslKdd);
    absl::StatusOr<std::vector<Record>> test =
        LoadRecords(absl::StrCat(dir, "KDDTest+.txt"), RecordFormat::kNslKdd);
    if (!train.ok() || !test.ok()) {
      ADD_FAILURE() << "cannot load NSL-KDD: " << train.status() << " "
                    << test.status();
      return d;
    }
    d->train_normal = NormalRows(*train);
    for (const Record& r : *test) {
      if (r.is_normal()) d->test_normal.push_back(r);
      if (r.label == "neptune") d->test_neptune.push_back(r);
    }
    return d;
  }();
  return *data;
}

// Wire records from rows [begin, end) of `rows`, ids "<prefix>-<index>".
std::vector<v1::Record> ToProtos(const std::vector<Record>& rows, size_t begin,
                                 size_t end, const std::string& prefix,
                                 bool keep_label = true) {
  std::vector<v1::Record> out;
  for (size_t i = begin; i < end && i < rows.size(); ++i) {
    out.push_back(
        RecordToProto(rows[i], absl::StrCat(prefix, "-", i), "sensor-test"));
    if (!keep_label) out.back().clear_label();
  }
  return out;
}

v1::RecordBatch MakeBatch(const std::vector<v1::Record>& records,
                          v1::LearningMode mode, uint32_t top_k = 0) {
  v1::RecordBatch batch;
  for (const v1::Record& r : records) *batch.add_records() = r;
  batch.set_learning(mode);
  batch.set_top_k(top_k);
  return batch;
}

v1::ScoreRequest MakeScoreRequest(const std::vector<v1::Record>& records,
                                  v1::LearningMode mode) {
  v1::ScoreRequest request;
  for (const v1::Record& r : records) *request.add_records() = r;
  request.set_learning(mode);
  return request;
}

double AnomalousFraction(
    const google::protobuf::RepeatedPtrField<v1::Verdict>& verdicts) {
  if (verdicts.empty()) return 0;
  int anomalous = 0;
  for (const v1::Verdict& v : verdicts) anomalous += v.anomalous() ? 1 : 0;
  return double(anomalous) / verdicts.size();
}

// Polls `done` every 20 ms until it returns true or `timeout` passes.
bool PollUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    if (done()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

void SetDeadline(grpc::ClientContext* context,
                 absl::Duration timeout = absl::Seconds(20)) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

// The port number printed after `marker` as "... (port N)", or 0.
int ParsePort(const std::string& out, const std::string& marker) {
  const size_t at = out.find(marker);
  if (at == std::string::npos) return 0;
  const size_t port = out.find("(port ", at);
  if (port == std::string::npos) return 0;
  return std::atoi(out.c_str() + port + 6);
}

// grpc.health.v1.Health/Check for service "": the status code and the
// serving status (UNKNOWN when the call failed).
using grpc::health::v1::HealthCheckResponse;
std::pair<grpc::Status, HealthCheckResponse::ServingStatus> HealthCheck(
    const std::shared_ptr<grpc::Channel>& channel) {
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(5));
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = grpc::health::v1::Health::NewStub(channel)->Check(
      &context, grpc::health::v1::HealthCheckRequest(), &response);
  return {status, response.status()};
}

// ---------------------------------------------------------------------------
// The fixture: one daemon per test on a fresh state directory.

class DaemonTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { GetData(); }

  void SetUp() override {
    const Data& data = GetData();
    ASSERT_GT(data.train_normal.size(), 5000u);
    ASSERT_GT(data.test_neptune.size(), 1000u);
    std::string tmpl =
        (fs::temp_directory_path() / "dwae_daemon_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    state_dir_ = dir_ + "/state";
    config_path_ = dir_ + "/dwae.conf";
    std::ofstream(config_path_) << kConfigText;
    ASSERT_NO_FATAL_FAILURE(StartDaemon());
  }

  void TearDown() override {
    KillDaemon();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::vector<std::string> DaemonArgs(
      const std::vector<std::string>& extra) const {
    std::vector<std::string> argv = {
        DWAED_PATH,
        "--listen=127.0.0.1:0",
        "--metrics_listen=127.0.0.1:0",
        "--state_dir=" + state_dir_,
        "--config=" + config_path_,
        "--checkpoint_interval=0",
        absl::StrCat("--drain_deadline=", kDrainDeadlineSeconds)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  // Starts dwaed on state_dir_, parses both ports, connects the stub.
  void StartDaemon(const std::vector<std::string>& extra = {}) {
    auto started = Subprocess::Start(DaemonArgs(extra));
    ASSERT_TRUE(started.ok()) << started.status();
    daemon_ = *std::move(started);
    ASSERT_TRUE(daemon_->WaitForOutput("dwaed: state in", absl::Seconds(20)))
        << "stdout: " << daemon_->stdout_so_far()
        << "\nstderr: " << daemon_->stderr_so_far();
    const std::string out = daemon_->stdout_so_far();
    grpc_port_ = ParsePort(out, "dwaed: serving gRPC on");
    metrics_port_ = ParsePort(out, "dwaed: metrics on");
    ASSERT_GT(grpc_port_, 0) << out;
    ASSERT_GT(metrics_port_, 0) << out;
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port_),
                                   grpc::InsecureChannelCredentials());
    ASSERT_TRUE(channel_->WaitForConnected(
        absl::ToChronoTime(absl::Now() + absl::Seconds(10))));
    stub_ = v1::Detector::NewStub(channel_);
  }

  // SIGTERM and wait; the daemon is gone afterwards.
  SubprocessResult StopDaemon(absl::Duration timeout = absl::Seconds(30)) {
    stub_.reset();
    channel_.reset();
    daemon_->Signal(SIGTERM);
    SubprocessResult result = daemon_->Wait(timeout);
    daemon_.reset();
    return result;
  }

  void KillDaemon() {
    stub_.reset();
    channel_.reset();
    daemon_.reset();  // SIGKILLs the group if still running
  }

  void RestartDaemon(const std::vector<std::string>& extra = {}) {
    const SubprocessResult stopped = StopDaemon();
    ASSERT_EQ(stopped.exit_code, 0) << stopped.Describe();
    ASSERT_NO_FATAL_FAILURE(StartDaemon(extra));
  }

  std::string checkpoint_path() const {
    return state_dir_ + "/" + kCheckpointFileName;
  }

  v1::ModelInfo Info() {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::ModelInfo info;
    const grpc::Status s =
        stub_->GetModelInfo(&context, v1::GetModelInfoRequest(), &info);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return info;
  }

  v1::ScoreResponse Score(const std::vector<v1::Record>& records,
                          v1::LearningMode mode = v1::LEARNING_MODE_DEFAULT) {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::ScoreResponse response;
    const grpc::Status s =
        stub_->Score(&context, MakeScoreRequest(records, mode), &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(response.verdicts_size(), int(records.size()));
    return response;
  }

  // Opens one stream, writes each batch and reads its verdict batch before
  // writing the next, then closes the stream; expects status OK.
  std::vector<v1::VerdictBatch> StreamBatches(
      const std::vector<v1::RecordBatch>& batches) {
    return testutil::StreamBatches(*stub_, batches, absl::Seconds(60));
  }

  // Waits until records_learned reaches `n` and the published model has
  // caught up with the learner (model_version stable for 200 ms).
  void WaitForLearned(uint64_t n) {
    uint64_t learned = 0;
    ASSERT_TRUE(PollUntil(
        [&] {
          learned = Info().records_learned();
          return learned >= n;
        },
        absl::Seconds(20)))
        << "records_learned " << learned << " never reached " << n;
    uint64_t version = Info().model_version();
    ASSERT_TRUE(PollUntil(
        [&] {
          absl::SleepFor(absl::Milliseconds(200));
          const uint64_t now = Info().model_version();
          const bool stable = now == version;
          version = now;
          return stable;
        },
        absl::Seconds(20)));
  }

  // Streams 600 normal training rows with LEARNING_MODE_ALL and waits for
  // the warm-up to end. Rows [0, 600) of train_normal are thereby learned.
  void WarmUp() {
    std::vector<v1::RecordBatch> batches;
    for (size_t b = 0; b < 3; ++b) {
      batches.push_back(MakeBatch(
          ToProtos(GetData().train_normal, b * 200, (b + 1) * 200, "warm"),
          v1::LEARNING_MODE_ALL));
    }
    const std::vector<v1::VerdictBatch> out = StreamBatches(batches);
    ASSERT_EQ(out.size(), 3u);
    ASSERT_NO_FATAL_FAILURE(WaitForLearned(600));
    ASSERT_TRUE(
        PollUntil([&] { return !Info().warming_up(); }, absl::Seconds(20)));
  }

  testutil::MetricsScrape ScrapeMetrics() {
    const std::string response = testutil::HttpGet(metrics_port_, "/metrics");
    EXPECT_THAT(response, HasSubstr(" 200 "));
    return testutil::ParseMetricsText(testutil::HttpBody(response));
  }

  // Held-out normal rows: never learned by any test.
  static std::vector<v1::Record> HeldOutNormal(size_t n) {
    return ToProtos(GetData().train_normal, 5000, 5000 + n, "heldout");
  }
  static std::vector<v1::Record> Neptune(size_t n) {
    return ToProtos(GetData().test_neptune, 0, n, "neptune");
  }

  std::string dir_, state_dir_, config_path_;
  std::unique_ptr<Subprocess> daemon_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Detector::Stub> stub_;
};

// ---------------------------------------------------------------------------
// Lifecycle and health.

TEST_F(DaemonTest, HealthIsServingAndSigtermExitsZero) {
  const auto [status, serving] = HealthCheck(channel_);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": "
                           << status.error_message();
  EXPECT_EQ(serving, HealthCheckResponse::SERVING);

  const absl::Time start = absl::Now();
  const SubprocessResult result = StopDaemon();
  EXPECT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_FALSE(result.timed_out);
  EXPECT_LT(absl::Now() - start,
            absl::Seconds(kDrainDeadlineSeconds) + kStopSlack);
  EXPECT_THAT(result.stdout_text, HasSubstr("dwaed: stopped"));
  // A final checkpoint is written on shutdown even with no traffic.
  EXPECT_TRUE(fs::exists(checkpoint_path()));
}

// ---------------------------------------------------------------------------
// Streaming and detection.

TEST_F(DaemonTest, StreamReturnsOrderedVerdictsThroughWarmupAndDetects) {
  const Data& data = GetData();
  std::vector<v1::RecordBatch> batches;
  std::vector<std::vector<v1::Record>> sent;
  for (size_t b = 0; b < 3; ++b) {
    sent.push_back(ToProtos(data.train_normal, b * 100, (b + 1) * 100, "s"));
    batches.push_back(MakeBatch(sent.back(), v1::LEARNING_MODE_ALL));
  }
  const std::vector<v1::VerdictBatch> out = StreamBatches(batches);
  ASSERT_EQ(out.size(), 3u);
  uint64_t last_sequence = 0;
  for (size_t b = 0; b < 3; ++b) {
    ASSERT_EQ(out[b].verdicts_size(), int(sent[b].size()));
    for (int i = 0; i < out[b].verdicts_size(); ++i) {
      const v1::Verdict& v = out[b].verdicts(i);
      EXPECT_EQ(v.id(), sent[b][i].id());
      EXPECT_EQ(v.sensor_id(), "sensor-test");
      EXPECT_EQ(v.error_code(), 0) << v.error_message();
      EXPECT_EQ(v.label(), "normal");
      // Warm-up: the threshold is +inf and nothing is anomalous.
      EXPECT_TRUE(std::isinf(v.threshold()) && v.threshold() > 0)
          << v.threshold();
      EXPECT_FALSE(v.anomalous());
      EXPECT_TRUE(v.learned());
      EXPECT_TRUE(std::isfinite(v.score()) && v.score() >= 0) << v.score();
      EXPECT_GT(v.sequence(), last_sequence);
      last_sequence = v.sequence();
      EXPECT_GT(v.scored_at().seconds(), 0);
    }
  }
  v1::ModelInfo info = Info();
  EXPECT_TRUE(info.warming_up());
  EXPECT_EQ(info.threshold_source(), "warmup");

  // 300 more (600 in all) end the warm-up.
  std::vector<v1::RecordBatch> more;
  for (size_t b = 3; b < 6; ++b) {
    more.push_back(
        MakeBatch(ToProtos(data.train_normal, b * 100, (b + 1) * 100, "s"),
                  v1::LEARNING_MODE_ALL));
  }
  ASSERT_EQ(StreamBatches(more).size(), 3u);
  ASSERT_NO_FATAL_FAILURE(WaitForLearned(600));
  ASSERT_TRUE(
      PollUntil([&] { return !Info().warming_up(); }, absl::Seconds(20)));
  info = Info();
  EXPECT_TRUE(std::isfinite(info.threshold())) << info.threshold();
  EXPECT_GT(info.threshold(), 0);
  EXPECT_NE(info.threshold_source(), "warmup");

  const std::vector<v1::VerdictBatch> detected =
      StreamBatches({MakeBatch(Neptune(300), v1::LEARNING_MODE_OFF),
                     MakeBatch(HeldOutNormal(300), v1::LEARNING_MODE_OFF)});
  ASSERT_EQ(detected.size(), 2u);
  const double neptune_rate = AnomalousFraction(detected[0].verdicts());
  const double normal_rate = AnomalousFraction(detected[1].verdicts());
  EXPECT_GT(neptune_rate, 0.8) << "neptune detection rate";
  EXPECT_LT(normal_rate, 0.3) << "false alarm rate on held-out normal rows";
  for (const v1::VerdictBatch& batch : detected) {
    for (const v1::Verdict& v : batch.verdicts()) {
      EXPECT_TRUE(std::isfinite(v.threshold()));
      EXPECT_EQ(v.anomalous(), v.score() > v.threshold()) << v.id();
      EXPECT_FALSE(v.learned());
      // Default top_k is 3, sorted by squared error, largest first.
      ASSERT_EQ(v.top_features_size(), 3) << v.id();
      for (int k = 0; k < 3; ++k) {
        EXPECT_FALSE(v.top_features(k).feature().empty());
        EXPECT_GE(v.top_features(k).squared_error(), 0);
        if (k > 0) {
          EXPECT_GE(v.top_features(k - 1).squared_error(),
                    v.top_features(k).squared_error())
              << v.id();
        }
      }
    }
  }
  // An explicit top_k is honoured.
  const std::vector<v1::VerdictBatch> top5 =
      StreamBatches({MakeBatch(Neptune(5), v1::LEARNING_MODE_OFF, 5)});
  ASSERT_EQ(top5.size(), 1u);
  for (const v1::Verdict& v : top5[0].verdicts()) {
    EXPECT_EQ(v.top_features_size(), 5);
  }
}

TEST_F(DaemonTest, BadRecordsGetErrorVerdictsAndTheStreamStaysOpen) {
  std::vector<v1::Record> records =
      ToProtos(GetData().train_normal, 0, 6, "bad");
  records[1].mutable_features()->set_src_bytes(std::nan(""));
  records[3].clear_features();
  records[5].set_id(std::string(300, 'x'));

  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = stub_->Stream(&context);
  ASSERT_TRUE(stream->Write(MakeBatch(records, v1::LEARNING_MODE_ALL)));
  v1::VerdictBatch out;
  ASSERT_TRUE(stream->Read(&out));
  ASSERT_EQ(out.verdicts_size(), 6);
  for (int i : {0, 2, 4}) {
    const v1::Verdict& v = out.verdicts(i);
    EXPECT_EQ(v.id(), records[i].id());
    EXPECT_EQ(v.error_code(), 0) << v.error_message();
    EXPECT_TRUE(v.error_message().empty());
    EXPECT_GT(v.sequence(), 0u);
    EXPECT_TRUE(v.learned());
  }
  for (int i : {1, 3, 5}) {
    const v1::Verdict& v = out.verdicts(i);
    EXPECT_EQ(v.id(), records[i].id());
    EXPECT_EQ(v.error_code(), 3) << i;  // INVALID_ARGUMENT
    EXPECT_EQ(v.sequence(), 0u);
    EXPECT_FALSE(v.learned());
    EXPECT_EQ(v.score(), 0);
    EXPECT_EQ(v.top_features_size(), 0);
  }
  EXPECT_THAT(out.verdicts(1).error_message(), HasSubstr("src_bytes"));
  EXPECT_THAT(out.verdicts(3).error_message(), HasSubstr("features"));
  EXPECT_THAT(out.verdicts(5).error_message(), HasSubstr("id"));
  EXPECT_THAT(out.verdicts(5).error_message(), HasSubstr("300"));

  // More field checks; an unknown categorical value is accepted.
  std::vector<v1::Record> more = ToProtos(GetData().train_normal, 6, 9, "more");
  more[0].mutable_features()->set_service(std::string(40, 's'));
  more[1].set_label(std::string(65, 'l'));
  more[2].mutable_features()->set_service("no-such-service");
  ASSERT_TRUE(stream->Write(MakeBatch(more, v1::LEARNING_MODE_OFF)));
  ASSERT_TRUE(stream->Read(&out));
  ASSERT_EQ(out.verdicts_size(), 3);
  EXPECT_EQ(out.verdicts(0).error_code(), 3);
  EXPECT_THAT(out.verdicts(0).error_message(), HasSubstr("service"));
  EXPECT_EQ(out.verdicts(1).error_code(), 3);
  EXPECT_THAT(out.verdicts(1).error_message(), HasSubstr("label"));
  EXPECT_EQ(out.verdicts(2).error_code(), 0) << out.verdicts(2).error_message();

  // The stream is still open: another batch gets verdicts.
  const std::vector<v1::Record> next =
      ToProtos(GetData().train_normal, 10, 20, "after-bad");
  ASSERT_TRUE(stream->Write(MakeBatch(next, v1::LEARNING_MODE_ALL)));
  ASSERT_TRUE(stream->Read(&out));
  ASSERT_EQ(out.verdicts_size(), 10);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(out.verdicts(i).id(), next[i].id());
    EXPECT_EQ(out.verdicts(i).error_code(), 0);
  }
  stream->WritesDone();
  const grpc::Status s = stream->Finish();
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Info().records_invalid(), 5u);
  EXPECT_EQ(Info().records_scored(), 14u);
}

TEST_F(DaemonTest, OversizedBatchIsRefusedAsAWholeAndStreamStaysOpen) {
  const std::vector<v1::Record> big =
      ToProtos(GetData().train_normal, 0, kMaxBatch + 1, "big");
  ASSERT_EQ(big.size(), kMaxBatch + 1);

  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = stub_->Stream(&context);
  ASSERT_TRUE(stream->Write(MakeBatch(big, v1::LEARNING_MODE_ALL)));
  v1::VerdictBatch out;
  ASSERT_TRUE(stream->Read(&out));
  // One batch-level refusal, no verdict per record (detector.proto).
  EXPECT_EQ(out.verdicts_size(), 0);
  EXPECT_EQ(out.error_code(), 3);  // INVALID_ARGUMENT
  EXPECT_EQ(out.error_message(),
            "records: batch of 1001 records exceeds the limit of 1000");

  // Exactly the limit is fine, on the same stream.
  const std::vector<v1::Record> full =
      ToProtos(GetData().train_normal, 0, kMaxBatch, "full");
  ASSERT_TRUE(stream->Write(MakeBatch(full, v1::LEARNING_MODE_OFF)));
  ASSERT_TRUE(stream->Read(&out));
  ASSERT_EQ(out.verdicts_size(), int(kMaxBatch));
  EXPECT_EQ(out.error_code(), 0);
  for (const v1::Verdict& v : out.verdicts()) EXPECT_EQ(v.error_code(), 0);

  // An unknown learning mode fails the batch the same way.
  v1::RecordBatch odd = MakeBatch(ToProtos(GetData().train_normal, 0, 3, "odd"),
                                  v1::LEARNING_MODE_ALL);
  odd.set_learning(static_cast<v1::LearningMode>(42));
  ASSERT_TRUE(stream->Write(odd));
  ASSERT_TRUE(stream->Read(&out));
  EXPECT_EQ(out.verdicts_size(), 0);
  EXPECT_EQ(out.error_code(), 3);
  EXPECT_EQ(out.error_message(), "learning: unknown mode 42");

  // A huge top_k is capped (at 32), not refused.
  ASSERT_TRUE(
      stream->Write(MakeBatch(ToProtos(GetData().train_normal, 0, 2, "topk"),
                              v1::LEARNING_MODE_OFF, 1000)));
  ASSERT_TRUE(stream->Read(&out));
  ASSERT_EQ(out.verdicts_size(), 2);
  for (const v1::Verdict& v : out.verdicts()) {
    EXPECT_EQ(v.error_code(), 0);
    EXPECT_EQ(v.top_features_size(), 32);
  }

  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
  // Nothing of the refused batches was learned or counted as scored.
  const v1::ModelInfo info = Info();
  EXPECT_EQ(info.records_scored(), kMaxBatch + 2);
  EXPECT_EQ(info.records_learned(), 0u);
}

// Several sensors streaming at once: every record is answered once, in
// order per stream, with distinct sequence numbers, and the counters add up.
TEST_F(DaemonTest, ConcurrentStreamsAreCountedExactly) {
  constexpr int kStreams = 4;
  constexpr int kBatches = 5;
  constexpr int kPerBatch = 60;
  std::vector<std::vector<v1::VerdictBatch>> results(kStreams);
  std::vector<std::thread> threads;
  for (int t = 0; t < kStreams; ++t) {
    threads.emplace_back([&, t] {
      std::vector<v1::RecordBatch> batches;
      for (int b = 0; b < kBatches; ++b) {
        const size_t begin = size_t(t * kBatches + b) * kPerBatch;
        batches.push_back(
            MakeBatch(ToProtos(GetData().train_normal, begin, begin + kPerBatch,
                               absl::StrCat("t", t)),
                      v1::LEARNING_MODE_ALL));
      }
      results[t] = StreamBatches(batches);
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::set<uint64_t> sequences;
  for (int t = 0; t < kStreams; ++t) {
    ASSERT_EQ(results[t].size(), size_t(kBatches));
    for (int b = 0; b < kBatches; ++b) {
      ASSERT_EQ(results[t][b].verdicts_size(), kPerBatch);
      const size_t begin = size_t(t * kBatches + b) * kPerBatch;
      for (int i = 0; i < kPerBatch; ++i) {
        const v1::Verdict& v = results[t][b].verdicts(i);
        EXPECT_EQ(v.id(), absl::StrCat("t", t, "-", begin + i));
        EXPECT_TRUE(sequences.insert(v.sequence()).second) << v.sequence();
      }
    }
  }
  constexpr uint64_t kTotal = kStreams * kBatches * kPerBatch;
  EXPECT_EQ(sequences.size(), kTotal);
  EXPECT_EQ(*sequences.begin(), 1u);
  EXPECT_EQ(*sequences.rbegin(), kTotal);
  ASSERT_NO_FATAL_FAILURE(WaitForLearned(kTotal));
  const v1::ModelInfo info = Info();
  EXPECT_EQ(info.records_scored(), kTotal);
  EXPECT_EQ(info.records_learned(), kTotal);
  EXPECT_FALSE(info.warming_up());  // 1200 > 500 learned
  const testutil::MetricsScrape scrape = ScrapeMetrics();
  EXPECT_EQ(scrape.Value("dwae_records_total{verdict=\"normal\"}") +
                scrape.Value("dwae_records_total{verdict=\"anomaly\"}"),
            double(kTotal));
  EXPECT_EQ(scrape.Value("dwae_confusion_total{outcome=\"tn\"}") +
                scrape.Value("dwae_confusion_total{outcome=\"fp\"}"),
            double(kTotal));
}

// ---------------------------------------------------------------------------
// Score and QueryVerdicts.

TEST_F(DaemonTest, ScoreLearnsOnlyWhenAsked) {
  const std::vector<v1::Record> records =
      ToProtos(GetData().train_normal, 0, 50, "score");
  v1::ScoreResponse response = Score(records);
  ASSERT_EQ(response.verdicts_size(), 50);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(response.verdicts(i).id(), records[i].id());
    EXPECT_FALSE(response.verdicts(i).learned());
  }
  absl::SleepFor(absl::Milliseconds(300));  // let the learner drain
  v1::ModelInfo info = Info();
  EXPECT_EQ(info.records_learned(), 0u);
  EXPECT_EQ(info.records_scored(), 50u);
  EXPECT_TRUE(info.warming_up());

  response = Score(records, v1::LEARNING_MODE_OFF);
  for (const v1::Verdict& v : response.verdicts()) EXPECT_FALSE(v.learned());

  response = Score(records, v1::LEARNING_MODE_ALL);
  for (const v1::Verdict& v : response.verdicts()) EXPECT_TRUE(v.learned());
  ASSERT_NO_FATAL_FAILURE(WaitForLearned(50));
  EXPECT_EQ(Info().records_learned(), 50u);
  EXPECT_EQ(Info().records_scored(), 150u);
}

TEST_F(DaemonTest, QueryVerdictsByIdsAndRecentAnomalies) {
  ASSERT_NO_FATAL_FAILURE(WarmUp());
  const std::vector<v1::Record> normal = HeldOutNormal(20);
  const v1::ScoreResponse scored = Score(normal);

  // By ids, in request order; unknown ids are skipped.
  v1::QueryVerdictsRequest by_ids;
  by_ids.add_ids(normal[7].id());
  by_ids.add_ids("no-such-id");
  by_ids.add_ids(normal[2].id());
  by_ids.add_ids("warm-0");  // from the warm-up stream
  v1::QueryVerdictsResponse found;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(stub_->QueryVerdicts(&context, by_ids, &found).ok());
  }
  ASSERT_EQ(found.verdicts_size(), 3);
  EXPECT_EQ(found.verdicts(0).id(), normal[7].id());
  EXPECT_EQ(found.verdicts(1).id(), normal[2].id());
  EXPECT_EQ(found.verdicts(2).id(), "warm-0");
  for (int i : {7, 2}) {
    const v1::Verdict& want = scored.verdicts(i);
    const v1::Verdict& got = found.verdicts(i == 7 ? 0 : 1);
    EXPECT_EQ(got.sequence(), want.sequence());
    EXPECT_FLOAT_EQ(got.score(), want.score());
    EXPECT_EQ(got.anomalous(), want.anomalous());
    EXPECT_EQ(got.sensor_id(), "sensor-test");
    EXPECT_EQ(got.label(), "normal");
  }
  EXPECT_EQ(found.last_sequence(), scored.verdicts(19).sequence());

  // Recent anomalies after a sequence: neptune rows with a fixed tiny
  // threshold are all anomalous.
  const uint64_t after = found.last_sequence();
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::SetThresholdRequest fixed;
    fixed.set_fixed(1e-9);
    v1::SetThresholdResponse r;
    ASSERT_TRUE(stub_->SetThreshold(&context, fixed, &r).ok());
  }
  const v1::ScoreResponse anomalies = Score(Neptune(30));
  for (const v1::Verdict& v : anomalies.verdicts()) ASSERT_TRUE(v.anomalous());
  v1::QueryVerdictsRequest recent;
  recent.set_after_sequence(after);
  recent.set_limit(10);
  v1::QueryVerdictsResponse got;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(stub_->QueryVerdicts(&context, recent, &got).ok());
  }
  ASSERT_EQ(got.verdicts_size(), 10);
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(got.verdicts(i).anomalous());
    EXPECT_EQ(got.verdicts(i).id(), anomalies.verdicts(i).id());
    EXPECT_EQ(got.verdicts(i).sequence(), anomalies.verdicts(i).sequence());
    EXPECT_GT(got.verdicts(i).sequence(), after);
  }
  EXPECT_EQ(got.last_sequence(), anomalies.verdicts(29).sequence());

  // Paging on from the last one returned.
  recent.set_after_sequence(got.verdicts(9).sequence());
  recent.set_limit(0);  // default 100
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(stub_->QueryVerdicts(&context, recent, &got).ok());
  }
  ASSERT_EQ(got.verdicts_size(), 20);
  EXPECT_EQ(got.verdicts(0).id(), anomalies.verdicts(10).id());
  EXPECT_EQ(got.verdicts(19).id(), anomalies.verdicts(29).id());
}

// ---------------------------------------------------------------------------
// Metrics.

TEST_F(DaemonTest, MetricsCountersEqualWhatWasSent) {
  ASSERT_NO_FATAL_FAILURE(WarmUp());
  const testutil::MetricsScrape before = ScrapeMetrics();
  const v1::ModelInfo info_before = Info();

  // 100 labelled normal, 100 labelled neptune, 20 unlabelled normal and 7
  // invalid records (with labels, which must not count).
  std::vector<v1::Record> records = HeldOutNormal(100);
  for (const v1::Record& r : Neptune(100)) records.push_back(r);
  for (const v1::Record& r : ToProtos(GetData().train_normal, 6000, 6020,
                                      "unlabelled", /*keep_label=*/false)) {
    records.push_back(r);
  }
  for (int i = 0; i < 7; ++i) {
    v1::Record bad = records[i];
    bad.set_id(absl::StrCat("invalid-", i));
    bad.mutable_features()->set_count(-1);
    records.push_back(bad);
  }
  uint64_t normal = 0, anomaly = 0, invalid = 0, tp = 0, fp = 0, tn = 0, fn = 0;
  // Sent in two batches: one through Stream, one through Score.
  const size_t half = records.size() / 2;
  std::vector<v1::Record> first(records.begin(), records.begin() + half);
  std::vector<v1::Record> second(records.begin() + half, records.end());
  const std::vector<v1::VerdictBatch> streamed =
      StreamBatches({MakeBatch(first, v1::LEARNING_MODE_OFF)});
  ASSERT_EQ(streamed.size(), 1u);
  const v1::ScoreResponse unary = Score(second);
  std::vector<v1::Verdict> verdicts(streamed[0].verdicts().begin(),
                                    streamed[0].verdicts().end());
  verdicts.insert(verdicts.end(), unary.verdicts().begin(),
                  unary.verdicts().end());
  ASSERT_EQ(verdicts.size(), records.size());
  for (size_t i = 0; i < verdicts.size(); ++i) {
    const v1::Verdict& v = verdicts[i];
    ASSERT_EQ(v.id(), records[i].id());
    if (v.error_code() != 0) {
      ++invalid;
      continue;
    }
    ++(v.anomalous() ? anomaly : normal);
    if (records[i].label().empty()) continue;
    const bool attack = records[i].label() != "normal";
    ++(attack ? (v.anomalous() ? tp : fn) : (v.anomalous() ? fp : tn));
  }
  EXPECT_EQ(invalid, 7u);
  EXPECT_EQ(normal + anomaly, 220u);
  EXPECT_EQ(tp + fn, 100u);
  EXPECT_EQ(fp + tn, 100u);
  EXPECT_GT(tp, 50u);  // the model detects most neptune rows

  const testutil::MetricsScrape after = ScrapeMetrics();
  const v1::ModelInfo info_after = Info();
  auto delta = [&](const std::string& series) {
    EXPECT_TRUE(before.Has(series)) << series;
    EXPECT_TRUE(after.Has(series)) << series;
    return after.Value(series) - before.Value(series);
  };
  EXPECT_EQ(delta("dwae_records_total{verdict=\"normal\"}"), double(normal));
  EXPECT_EQ(delta("dwae_records_total{verdict=\"anomaly\"}"), double(anomaly));
  EXPECT_EQ(delta("dwae_records_total{verdict=\"invalid\"}"), double(invalid));
  EXPECT_EQ(delta("dwae_confusion_total{outcome=\"tp\"}"), double(tp));
  EXPECT_EQ(delta("dwae_confusion_total{outcome=\"fp\"}"), double(fp));
  EXPECT_EQ(delta("dwae_confusion_total{outcome=\"tn\"}"), double(tn));
  EXPECT_EQ(delta("dwae_confusion_total{outcome=\"fn\"}"), double(fn));
  EXPECT_EQ(delta("dwae_score_count"), double(normal + anomaly));

  EXPECT_EQ(info_after.records_normal() - info_before.records_normal(), normal);
  EXPECT_EQ(info_after.records_anomalous() - info_before.records_anomalous(),
            anomaly);
  EXPECT_EQ(info_after.records_invalid() - info_before.records_invalid(),
            invalid);
  EXPECT_EQ(info_after.records_scored() - info_before.records_scored(),
            normal + anomaly);
  EXPECT_EQ(info_after.true_positives() - info_before.true_positives(), tp);
  EXPECT_EQ(info_after.false_positives() - info_before.false_positives(), fp);
  EXPECT_EQ(info_after.true_negatives() - info_before.true_negatives(), tn);
  EXPECT_EQ(info_after.false_negatives() - info_before.false_negatives(), fn);

  // The absolute values agree too (a fresh daemon: the metrics started at 0
  // with the engine's counters).
  EXPECT_EQ(after.Value("dwae_records_total{verdict=\"normal\"}"),
            double(info_after.records_normal()));
  EXPECT_EQ(after.Value("dwae_records_total{verdict=\"anomaly\"}"),
            double(info_after.records_anomalous()));
  EXPECT_EQ(after.Value("dwae_confusion_total{outcome=\"tn\"}"),
            double(info_after.true_negatives()));

  // Gauges and build info. The threshold gauge follows the published
  // model, which catches up with the learner within the publish interval.
  // prometheus-cpp writes 16 significant digits, which does not give every
  // double back exactly (0.035388658940792087 reads back one ulp off): equal
  // within that precision.
  EXPECT_EQ(after.Value("dwae_warming_up"), 0);
  double gauge = 0, threshold = 0;
  EXPECT_TRUE(PollUntil(
      [&] {
        gauge = ScrapeMetrics().Value("dwae_threshold");
        threshold = Info().threshold();
        return gauge == threshold ||
               std::abs(gauge - threshold) <= 2e-15 * std::abs(threshold);
      },
      absl::Seconds(5)))
      << "dwae_threshold " << gauge << ", GetModelInfo " << threshold;
  EXPECT_EQ(after.Value("dwae_learning_enabled"), 1);
  bool build_info = false;
  for (const auto& [series, value] : after.samples) {
    if (absl::StartsWith(series, "dwae_build_info{")) {
      build_info = true;
      EXPECT_EQ(value, 1) << series;
      EXPECT_THAT(series, HasSubstr("version=\""));
      EXPECT_THAT(series, HasSubstr("rule=\"dw-shadow\""));
    }
  }
  EXPECT_TRUE(build_info);
  EXPECT_GE(after.Value("dwae_rpc_duration_seconds_count{method=\"Score\"}"),
            1);
  EXPECT_GE(after.Value("dwae_rpc_duration_seconds_count{method=\"Stream\"}"),
            2);
}

// ---------------------------------------------------------------------------
// Administration.

TEST_F(DaemonTest, SetThresholdFixedThenBackToAutomatic) {
  ASSERT_NO_FATAL_FAILURE(WarmUp());
  const double automatic = Info().threshold();
  ASSERT_TRUE(std::isfinite(automatic));
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::SetThresholdRequest request;
    request.set_fixed(1e-9);
    v1::SetThresholdResponse response;
    ASSERT_TRUE(stub_->SetThreshold(&context, request, &response).ok());
    EXPECT_EQ(response.threshold(), 1e-9);
    EXPECT_EQ(response.threshold_source(), "fixed");
  }
  EXPECT_EQ(Info().threshold(), 1e-9);
  v1::ScoreResponse r = Score(HeldOutNormal(100));
  EXPECT_EQ(AnomalousFraction(r.verdicts()), 1.0);
  for (const v1::Verdict& v : r.verdicts()) EXPECT_EQ(v.threshold(), 1e-9);

  // Invalid values are refused.
  for (double bad : {0.0, -1.0, std::nan(""), HUGE_VAL}) {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::SetThresholdRequest request;
    request.set_fixed(bad);
    v1::SetThresholdResponse response;
    EXPECT_EQ(stub_->SetThreshold(&context, request, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << bad;
  }
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::SetThresholdResponse response;
    EXPECT_EQ(
        stub_->SetThreshold(&context, v1::SetThresholdRequest(), &response)
            .error_code(),
        grpc::StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::SetThresholdRequest request;
    request.set_automatic(v1::THRESHOLD_MODE_ADAPTIVE);
    v1::SetThresholdResponse response;
    ASSERT_TRUE(stub_->SetThreshold(&context, request, &response).ok());
    EXPECT_TRUE(std::isfinite(response.threshold()));
    EXPECT_GT(response.threshold(), 1e-6);
    EXPECT_THAT(response.threshold_source(),
                AnyOf(std::string("adaptive"), std::string("quantile")));
  }
  r = Score(HeldOutNormal(200));
  EXPECT_LT(AnomalousFraction(r.verdicts()), 0.3);
  r = Score(Neptune(200));
  EXPECT_GT(AnomalousFraction(r.verdicts()), 0.8);
}

TEST_F(DaemonTest, SetLearningOffStopsLearningAndAutoResumes) {
  ASSERT_NO_FATAL_FAILURE(WarmUp());
  const auto set_learning = [&](v1::LearningState state) {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::SetLearningRequest request;
    request.set_state(state);
    v1::SetLearningResponse response;
    const grpc::Status s = stub_->SetLearning(&context, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(response.state(), state);
  };
  set_learning(v1::LEARNING_STATE_OFF);
  EXPECT_EQ(Info().learning_state(), v1::LEARNING_STATE_OFF);
  const uint64_t learned = Info().records_learned();
  const std::vector<v1::VerdictBatch> off = StreamBatches(
      {MakeBatch(ToProtos(GetData().train_normal, 600, 800, "off"),
                 v1::LEARNING_MODE_ALL)});
  ASSERT_EQ(off.size(), 1u);
  for (const v1::Verdict& v : off[0].verdicts()) EXPECT_FALSE(v.learned());
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(Info().records_learned(), learned);
  EXPECT_EQ(ScrapeMetrics().Value("dwae_learning_enabled"), 0);

  set_learning(v1::LEARNING_STATE_AUTO);
  const std::vector<v1::VerdictBatch> on = StreamBatches(
      {MakeBatch(ToProtos(GetData().train_normal, 800, 1000, "on"),
                 v1::LEARNING_MODE_ALL)});
  ASSERT_EQ(on.size(), 1u);
  for (const v1::Verdict& v : on[0].verdicts()) EXPECT_TRUE(v.learned());
  ASSERT_NO_FATAL_FAILURE(WaitForLearned(learned + 200));
  EXPECT_EQ(Info().records_learned(), learned + 200);
  EXPECT_EQ(ScrapeMetrics().Value("dwae_learning_enabled"), 1);

  grpc::ClientContext context;
  SetDeadline(&context);
  v1::SetLearningRequest request;  // UNSPECIFIED
  v1::SetLearningResponse response;
  EXPECT_EQ(stub_->SetLearning(&context, request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(DaemonTest, ResetModelNeedsConfirmAndReturnsToWarmup) {
  ASSERT_NO_FATAL_FAILURE(WarmUp());
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::ResetModelResponse response;
    const grpc::Status s =
        stub_->ResetModel(&context, v1::ResetModelRequest(), &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(s.error_message(), HasSubstr("confirm"));
  }
  EXPECT_FALSE(Info().warming_up());
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::ResetModelRequest request;
    request.set_confirm(true);
    v1::ResetModelResponse response;
    const grpc::Status s = stub_->ResetModel(&context, request, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  const v1::ModelInfo info = Info();
  EXPECT_TRUE(info.warming_up());
  EXPECT_TRUE(std::isinf(info.threshold()));
  EXPECT_EQ(info.threshold_source(), "warmup");
  EXPECT_EQ(info.learning_steps(), 0u);
  const v1::ScoreResponse r = Score(Neptune(50));
  for (const v1::Verdict& v : r.verdicts()) {
    EXPECT_FALSE(v.anomalous());
    EXPECT_TRUE(std::isinf(v.threshold()));
  }
}

// ---------------------------------------------------------------------------
// Checkpoints and restarts.

TEST_F(DaemonTest, CheckpointRoundTripGivesBitIdenticalScores) {
  ASSERT_NO_FATAL_FAILURE(WarmUp());
  // Some labelled traffic for the counters.
  Score(Neptune(50));
  Score(HeldOutNormal(50));
  const std::vector<v1::Record> probe =
      ToProtos(GetData().train_normal, 7000, 7200, "probe");
  const v1::ScoreResponse before = Score(probe, v1::LEARNING_MODE_OFF);

  {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::CheckpointResponse response;
    const grpc::Status s =
        stub_->Checkpoint(&context, v1::CheckpointRequest(), &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(response.path(), checkpoint_path());
    EXPECT_GT(response.bytes(), 0u);
    ASSERT_TRUE(fs::exists(checkpoint_path()));
    EXPECT_EQ(fs::file_size(checkpoint_path()), response.bytes());
  }
  EXPECT_GT(Info().last_checkpoint().seconds(), 0);
  // The file decodes.
  absl::StatusOr<v1::ModelState> decoded =
      DecodeCheckpoint(testutil::ReadFileOrEmpty(checkpoint_path()));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->records_learned(), 600u);

  // Let the learner publish the last (score-only) observations, then note
  // the counters the final checkpoint must carry.
  absl::SleepFor(absl::Milliseconds(200));
  const v1::ModelInfo info_before = Info();

  const SubprocessResult stopped = StopDaemon();
  ASSERT_EQ(stopped.exit_code, 0) << stopped.Describe();
  ASSERT_TRUE(fs::exists(checkpoint_path()));
  absl::StatusOr<v1::ModelState> final_state =
      DecodeCheckpoint(testutil::ReadFileOrEmpty(checkpoint_path()));
  ASSERT_TRUE(final_state.ok()) << final_state.status();
  EXPECT_EQ(final_state->counters().records_scored(),
            info_before.records_scored());

  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  EXPECT_THAT(daemon_->stderr_so_far(), HasSubstr("restored"));
  const v1::ModelInfo info_after = Info();
  EXPECT_FALSE(info_after.warming_up());
  EXPECT_EQ(info_after.records_scored(), info_before.records_scored());
  EXPECT_EQ(info_after.records_normal(), info_before.records_normal());
  EXPECT_EQ(info_after.records_anomalous(), info_before.records_anomalous());
  EXPECT_EQ(info_after.records_invalid(), info_before.records_invalid());
  EXPECT_EQ(info_after.records_learned(), info_before.records_learned());
  EXPECT_EQ(info_after.true_positives(), info_before.true_positives());
  EXPECT_EQ(info_after.false_positives(), info_before.false_positives());
  EXPECT_EQ(info_after.true_negatives(), info_before.true_negatives());
  EXPECT_EQ(info_after.false_negatives(), info_before.false_negatives());
  EXPECT_EQ(info_after.learning_steps(), info_before.learning_steps());
  EXPECT_EQ(info_after.learning_state(), info_before.learning_state());
  EXPECT_EQ(info_after.threshold(), info_before.threshold());
  EXPECT_EQ(info_after.threshold_source(), info_before.threshold_source());

  const v1::ScoreResponse after = Score(probe, v1::LEARNING_MODE_OFF);
  ASSERT_EQ(after.verdicts_size(), before.verdicts_size());
  int differing = 0;
  for (int i = 0; i < before.verdicts_size(); ++i) {
    if (before.verdicts(i).score() != after.verdicts(i).score()) {
      if (++differing <= 5) {
        ADD_FAILURE() << "probe " << i << ": score "
                      << before.verdicts(i).score() << " before, "
                      << after.verdicts(i).score() << " after the restart";
      }
    }
  }
  EXPECT_EQ(differing, 0);
}

// Operator settings live in the checkpoint: a fixed threshold and the
// learning state survive a restart, and the exported gauges agree with them.
TEST_F(DaemonTest, OperatorSettingsSurviveRestartAndGaugesAgree) {
  ASSERT_NO_FATAL_FAILURE(WarmUp());
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::SetThresholdRequest request;
    request.set_fixed(0.25);
    v1::SetThresholdResponse response;
    ASSERT_TRUE(stub_->SetThreshold(&context, request, &response).ok());
  }
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::SetLearningRequest request;
    request.set_state(v1::LEARNING_STATE_OFF);
    v1::SetLearningResponse response;
    ASSERT_TRUE(stub_->SetLearning(&context, request, &response).ok());
  }
  EXPECT_EQ(ScrapeMetrics().Value("dwae_learning_enabled"), 0);
  ASSERT_NO_FATAL_FAILURE(RestartDaemon());

  const v1::ModelInfo info = Info();
  EXPECT_EQ(info.threshold(), 0.25);
  EXPECT_EQ(info.threshold_source(), "fixed");
  EXPECT_EQ(info.learning_state(), v1::LEARNING_STATE_OFF);
  const testutil::MetricsScrape scrape = ScrapeMetrics();
  EXPECT_EQ(scrape.Value("dwae_threshold"), 0.25);
  EXPECT_EQ(scrape.Value("dwae_warming_up"), 0);
  // The restored state says learning is off; so must the gauge.
  EXPECT_EQ(scrape.Value("dwae_learning_enabled"), 0)
      << "dwae_learning_enabled disagrees with the restored learning_state";
  const v1::ScoreResponse r = Score(HeldOutNormal(20), v1::LEARNING_MODE_ALL);
  for (const v1::Verdict& v : r.verdicts()) EXPECT_FALSE(v.learned());
}

TEST_F(DaemonTest, CorruptedCheckpointIsRefusedUnlessStartFresh) {
  Score(ToProtos(GetData().train_normal, 0, 100, "c"), v1::LEARNING_MODE_ALL);
  ASSERT_NO_FATAL_FAILURE(WaitForLearned(100));
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::CheckpointResponse response;
    ASSERT_TRUE(
        stub_->Checkpoint(&context, v1::CheckpointRequest(), &response).ok());
  }
  KillDaemon();
  std::string bytes = testutil::ReadFileOrEmpty(checkpoint_path());
  ASSERT_GT(bytes.size(), 100u);
  bytes[bytes.size() / 2] ^= 0x5a;
  std::ofstream(checkpoint_path(), std::ios::binary | std::ios::trunc) << bytes;

  testutil::SubprocessOptions options;
  options.timeout = absl::Seconds(20);
  absl::StatusOr<SubprocessResult> refused =
      testutil::RunSubprocess(DaemonArgs({}), options);
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_NE(refused->exit_code, 0) << refused->Describe();
  EXPECT_FALSE(refused->timed_out) << refused->Describe();
  EXPECT_LT(refused->elapsed, absl::Seconds(10));
  EXPECT_THAT(refused->stderr_text, HasSubstr(checkpoint_path()));
  EXPECT_THAT(refused->stderr_text,
              AnyOf(HasSubstr("checksum"), HasSubstr("corrupt")));
  // The refused file is left alone.
  EXPECT_EQ(testutil::ReadFileOrEmpty(checkpoint_path()), bytes);

  // A file that is no checkpoint at all is refused too.
  {
    const std::string garbage_dir = dir_ + "/garbage";
    fs::create_directories(garbage_dir);
    std::ofstream(garbage_dir + "/" + kCheckpointFileName) << "hello, world\n";
    std::vector<std::string> argv = DaemonArgs({});
    for (std::string& arg : argv) {
      if (absl::StartsWith(arg, "--state_dir="))
        arg = "--state_dir=" + garbage_dir;
    }
    absl::StatusOr<SubprocessResult> garbage =
        testutil::RunSubprocess(argv, options);
    ASSERT_TRUE(garbage.ok()) << garbage.status();
    EXPECT_NE(garbage->exit_code, 0) << garbage->Describe();
    EXPECT_THAT(garbage->stderr_text,
                HasSubstr(garbage_dir + "/" + kCheckpointFileName));
  }

  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--start_fresh"}));
  std::vector<std::string> aside;
  for (const auto& entry : fs::directory_iterator(state_dir_)) {
    const std::string name = entry.path().filename().string();
    if (absl::StartsWith(name, "model.ckpt.bad-")) aside.push_back(name);
  }
  ASSERT_EQ(aside.size(), 1u);
  EXPECT_EQ(testutil::ReadFileOrEmpty(state_dir_ + "/" + aside[0]), bytes);
  EXPECT_FALSE(fs::exists(checkpoint_path()));
  const auto [status, health] = HealthCheck(channel_);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(health, HealthCheckResponse::SERVING);
  const v1::ModelInfo info = Info();
  EXPECT_TRUE(info.warming_up());
  EXPECT_EQ(info.records_learned(), 0u);
  const v1::ScoreResponse r = Score(HeldOutNormal(10));
  for (const v1::Verdict& v : r.verdicts()) EXPECT_EQ(v.error_code(), 0);
}

TEST_F(DaemonTest, SigtermDrainsAnOpenStreamWithinTheDeadline) {
  std::atomic<int> batches_answered{0};
  grpc::ClientContext context;
  SetDeadline(&context, absl::Seconds(30));
  std::unique_ptr<grpc::ClientReaderWriter<v1::RecordBatch, v1::VerdictBatch>>
      stream = stub_->Stream(&context);
  std::thread sender([&] {
    size_t offset = 0;
    for (;;) {
      const v1::RecordBatch batch = MakeBatch(
          ToProtos(GetData().train_normal, offset, offset + 50, "drain"),
          v1::LEARNING_MODE_ALL);
      offset = (offset + 50) % 4000;
      if (!stream->Write(batch)) break;
      v1::VerdictBatch out;
      if (!stream->Read(&out)) break;
      ++batches_answered;
      absl::SleepFor(absl::Milliseconds(5));
    }
  });
  ASSERT_TRUE(PollUntil([&] { return batches_answered.load() >= 5; },
                        absl::Seconds(20)));

  const absl::Time sigterm = absl::Now();
  daemon_->Signal(SIGTERM);
  const SubprocessResult result = daemon_->Wait(absl::Seconds(30));
  const absl::Duration took = absl::Now() - sigterm;
  sender.join();
  const grpc::Status finished = stream->Finish();
  stub_.reset();
  channel_.reset();
  daemon_.reset();

  EXPECT_EQ(result.exit_code, 0) << result.Describe();
  EXPECT_FALSE(result.timed_out);
  EXPECT_THAT(result.stdout_text, HasSubstr("draining"));
  EXPECT_THAT(result.stdout_text, HasSubstr("dwaed: stopped"));
  EXPECT_LT(took, absl::Seconds(kDrainDeadlineSeconds) + kStopSlack)
      << "stop took " << took;
  EXPECT_FALSE(finished.ok());  // the stream was cut at the deadline
  ASSERT_TRUE(fs::exists(checkpoint_path()));
  absl::StatusOr<v1::ModelState> state =
      DecodeCheckpoint(testutil::ReadFileOrEmpty(checkpoint_path()));
  ASSERT_TRUE(state.ok()) << state.status();
  // Everything answered before the stop was learned and checkpointed.
  EXPECT_GE(state->counters().records_learned(),
            uint64_t(batches_answered.load()) * 50);
  EXPECT_EQ(state->counters().records_learned(),
            state->counters().records_scored());
}

}  // namespace
}  // namespace dwae

namespace dwae {
namespace {

// kill -9 after a checkpoint and more learning: the restarted model is the
// checkpointed one, not a mix and not a fresh one.
TEST_F(DaemonTest, KillNineRestartsFromTheLastCompleteCheckpoint) {
  ASSERT_NO_FATAL_FAILURE(WarmUp());
  const std::vector<v1::Record> probe =
      ToProtos(GetData().train_normal, 7000, 7100, "probe");
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::CheckpointResponse response;
    ASSERT_TRUE(
        stub_->Checkpoint(&context, v1::CheckpointRequest(), &response).ok());
  }
  const v1::ScoreResponse at_checkpoint = Score(probe, v1::LEARNING_MODE_OFF);
  // Learn more, so that the live model moves away from the checkpoint.
  Score(ToProtos(GetData().train_normal, 8000, 8400, "more"),
        v1::LEARNING_MODE_ALL);
  WaitForLearned(1000);
  const v1::ScoreResponse moved = Score(probe, v1::LEARNING_MODE_OFF);
  int changed = 0;
  for (int i = 0; i < static_cast<int>(probe.size()); ++i) {
    changed += moved.verdicts(i).score() != at_checkpoint.verdicts(i).score();
  }
  ASSERT_GT(changed, 0) << "learning did not change the model";

  KillDaemon();
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  EXPECT_EQ(Info().records_learned(), 600u);
  const v1::ScoreResponse restored = Score(probe, v1::LEARNING_MODE_OFF);
  for (int i = 0; i < static_cast<int>(probe.size()); ++i) {
    EXPECT_EQ(restored.verdicts(i).score(), at_checkpoint.verdicts(i).score())
        << "probe " << i;
  }
}

}  // namespace
}  // namespace dwae

namespace dwae {
namespace {

long VmRssKb(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (absl::StartsWith(line, "VmRSS:")) return std::atol(line.c_str() + 6);
  }
  return -1;
}

// A client that writes batches but never reads its verdicts gets
// back-pressure: its writes stop completing, the daemon does not buffer
// without bound, and it keeps serving everyone else.
TEST_F(DaemonTest, SlowReaderGetsBackPressureNotUnboundedBuffering) {
  v1::RecordBatch batch;
  batch.set_learning(v1::LEARNING_MODE_OFF);
  for (v1::Record& r : ToProtos(GetData().train_normal, 0, 1000, "slow")) {
    *batch.add_records() = std::move(r);
  }
  grpc::ClientContext context;
  auto stream = stub_->Stream(&context);
  std::atomic<int> written{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    while (!stop && written < 5000 && stream->Write(batch)) ++written;
  });
  // Wait until the writes stall: no progress for a second.
  int last = -1;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    absl::SleepFor(absl::Seconds(1));
    if (written == last) break;
    last = written;
  }
  const int stalled_at = written;
  EXPECT_LT(stalled_at, 5000) << "writes never stalled";
  // 1000-record batches are ~100 KB each: the stall bounds what is queued.
  EXPECT_LT(VmRssKb(daemon_->pid()), 300 * 1024);
  // Everyone else is still served.
  EXPECT_GT(Info().records_scored(), 0u);
  stop = true;
  context.TryCancel();
  writer.join();
  std::printf(
      "slow reader: writes stalled after %d batches of 1000 records; "
      "dwaed VmRSS %ld kB\n",
      stalled_at, VmRssKb(daemon_->pid()));
  EXPECT_GT(Info().records_scored(), 0u);
}

}  // namespace
}  // namespace dwae
