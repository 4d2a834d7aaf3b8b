// Zeek connections on the wire, against real dwaed processes over loopback
// gRPC: a fresh daemon takes the schema of the first valid entry, entries
// of the other schema are refused one by one naming both schemas, a pinned
// daemon (--schema) refuses connections, batches carry one kind, a bad
// connection gets an error naming its column while the rest is scored, the
// verdict id is the uid, and the sensor bound and lateness show up in the
// real /metrics.
//
// The daemons are shared by the suite: one ctest test.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/connection.h"
#include "core/record.h"
#include "core/record_proto.h"
#include "dwae/v1/detector.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/server/http_get.h"
#include "tests/testing/cli.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/temp_files.h"

namespace dwae {
namespace {

using ::testing::HasSubstr;

constexpr char kKddLine[] =
    "0,tcp,ftp_data,SF,491,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,2,0.00,0.00,"
    "0.00,0.00,1.00,0.00,0.00,150,25,0.17,0.03,0.17,0.00,0.00,0.00,0.05,0.00,"
    "normal,20";

// A valid TCP connection of `sensor` ending at ts + 0.5.
v1::Connection Conn(const std::string& sensor, const std::string& uid,
                    double ts) {
  Connection c;
  c.ts = ts;
  c.uid = uid;
  c.orig_h = "10.0.0.5";
  c.orig_p = 50000;
  c.resp_h = "10.0.0.9";
  c.resp_p = 80;
  c.proto = "tcp";
  c.duration = 0.5;
  c.orig_bytes = 100;
  c.resp_bytes = 2000;
  c.conn_state = "SF";
  c.has_history = true;
  c.history = "ShADadFf";
  return ConnectionToProto(c, "", sensor);
}

v1::Record KddRecord(const std::string& id) {
  absl::StatusOr<Record> r = ParseRecordLine(kKddLine, RecordFormat::kNslKdd);
  EXPECT_TRUE(r.ok()) << r.status();
  return RecordToProto(*r, id, "kdd-sensor");
}

class Daemon {
 public:
  explicit Daemon(std::vector<std::string> args) {
    // An idle client channel would hold the default 10 s drain at stop.
    args.push_back("--drain_deadline=1");
    absl::StatusOr<testutil::TestDaemon> d = testutil::StartTestDaemon(
        DWAED_PATH, "learning { warmup_records: 100 warmup_epochs: 1 }\n",
        args);
    EXPECT_TRUE(d.ok()) << d.status();
    if (!d.ok()) return;
    daemon_ = std::make_unique<testutil::TestDaemon>(*std::move(d));
    stub_ = v1::Detector::NewStub(grpc::CreateChannel(
        daemon_->address(), grpc::InsecureChannelCredentials()));
  }
  ~Daemon() {
    if (daemon_ != nullptr) {
      const testutil::SubprocessResult r = testutil::StopTestDaemon(&*daemon_);
      EXPECT_EQ(r.exit_code, 0) << r.Describe();
    }
  }
  bool ok() const { return daemon_ != nullptr; }

  grpc::Status Score(const v1::ScoreRequest& request,
                     v1::ScoreResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    return stub_->Score(&context, request, response);
  }

  v1::ModelInfo Info() {
    grpc::ClientContext context;
    v1::ModelInfo info;
    EXPECT_TRUE(
        stub_->GetModelInfo(&context, v1::GetModelInfoRequest(), &info).ok());
    return info;
  }

  testutil::MetricsScrape Scrape() const {
    return testutil::ParseMetricsText(testutil::HttpBody(
        testutil::HttpGet(daemon_->metrics_port, "/metrics")));
  }

  v1::Detector::Stub& stub() { return *stub_; }

 private:
  std::unique_ptr<testutil::TestDaemon> daemon_;
  std::unique_ptr<v1::Detector::Stub> stub_;
};

class ZeekDaemonTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fresh_ = new Daemon({"--metrics_listen=127.0.0.1:0", "--max_sensors=2"});
    pinned_ = new Daemon({"--schema=kdd"});
  }
  static void TearDownTestSuite() {
    delete fresh_;
    delete pinned_;
    fresh_ = pinned_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(fresh_->ok() && pinned_->ok()) << "dwaed did not start";
  }

  static Daemon* fresh_;
  static Daemon* pinned_;
};

Daemon* ZeekDaemonTest::fresh_ = nullptr;
Daemon* ZeekDaemonTest::pinned_ = nullptr;

// Runs first: the fresh daemon has seen nothing yet.
TEST_F(ZeekDaemonTest, FreshDaemonTakesTheFirstValidSchemaThenRefusesKdd) {
  v1::ScoreRequest request;
  // An invalid first entry does not decide anything.
  v1::Connection bad = Conn("s-a", "Cbad", 1000);
  bad.set_id_resp_p(70000);
  *request.add_connections() = bad;
  *request.add_connections() = Conn("s-a", "C1", 1000);
  *request.add_connections() = Conn("s-a", "C2", 1000.2);
  v1::ScoreResponse response;
  ASSERT_TRUE(fresh_->Score(request, &response).ok());
  ASSERT_EQ(response.verdicts_size(), 3);
  EXPECT_EQ(response.verdicts(0).id(), "Cbad");
  EXPECT_EQ(response.verdicts(0).error_code(), 3);  // INVALID_ARGUMENT
  EXPECT_THAT(response.verdicts(0).error_message(),
              HasSubstr("id.resp_p: port 70000 outside [0, 65535]"));
  // The verdict's id is the Zeek uid.
  EXPECT_EQ(response.verdicts(1).id(), "C1");
  EXPECT_EQ(response.verdicts(1).error_code(), 0);
  EXPECT_EQ(response.verdicts(2).sensor_id(), "s-a");
  EXPECT_EQ(response.verdicts(2).error_code(), 0);
  const v1::ModelInfo info = fresh_->Info();
  EXPECT_EQ(info.config().model().feature_schema(), "zeek");
  EXPECT_THAT(info.shape(), ::testing::StartsWith("147-"));

  v1::ScoreRequest kdd;
  *kdd.add_records() = KddRecord("k1");
  *kdd.add_records() = KddRecord("k2");
  response.Clear();
  ASSERT_TRUE(fresh_->Score(kdd, &response).ok());
  ASSERT_EQ(response.verdicts_size(), 2);
  for (const v1::Verdict& v : response.verdicts()) {
    EXPECT_EQ(v.error_code(), 9);  // FAILED_PRECONDITION
    EXPECT_EQ(v.error_message(),
              "record has feature schema 'kdd' but the model was trained on "
              "schema 'zeek'");
  }
}

TEST_F(ZeekDaemonTest, PinnedKddDaemonRefusesEachConnection) {
  v1::ScoreRequest request;
  *request.add_connections() = Conn("s-p", "P1", 1000);
  *request.add_connections() = Conn("s-p", "P2", 1001);
  v1::ScoreResponse response;
  ASSERT_TRUE(pinned_->Score(request, &response).ok());
  ASSERT_EQ(response.verdicts_size(), 2);
  for (const v1::Verdict& v : response.verdicts()) {
    EXPECT_EQ(v.error_code(), 9);
    EXPECT_THAT(v.error_message(), HasSubstr("'zeek'"));
    EXPECT_THAT(v.error_message(), HasSubstr("'kdd'"));
  }
  v1::ScoreRequest kdd;
  *kdd.add_records() = KddRecord("ok");
  response.Clear();
  ASSERT_TRUE(pinned_->Score(kdd, &response).ok());
  EXPECT_EQ(response.verdicts(0).error_code(), 0);
  EXPECT_EQ(pinned_->Info().config().model().feature_schema(), "kdd");
}

TEST_F(ZeekDaemonTest, ABatchCarriesOneKind) {
  v1::ScoreRequest request;
  *request.add_records() = KddRecord("mixed-r");
  *request.add_connections() = Conn("s-m", "mixed-c", 1000);
  v1::ScoreResponse response;
  const grpc::Status status = fresh_->Score(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("one kind"));

  // On a stream the batch is refused as a whole (a batch-level error, no
  // verdicts); the stream goes on.
  grpc::ClientContext context;
  auto stream = fresh_->stub().Stream(&context);
  v1::RecordBatch batch;
  *batch.add_records() = KddRecord("mixed-r");
  *batch.add_connections() = Conn("s-m", "mixed-c", 1000);
  ASSERT_TRUE(stream->Write(batch));
  v1::VerdictBatch verdicts;
  ASSERT_TRUE(stream->Read(&verdicts));
  EXPECT_EQ(verdicts.verdicts_size(), 0);
  EXPECT_EQ(verdicts.error_code(), 3);
  EXPECT_EQ(verdicts.error_message(),
            "records, connections: a batch carries one kind, not both");
  batch.Clear();
  *batch.add_connections() = Conn("s-m", "after", 1001);
  ASSERT_TRUE(stream->Write(batch));
  ASSERT_TRUE(stream->Read(&verdicts));
  ASSERT_EQ(verdicts.verdicts_size(), 1);
  EXPECT_EQ(verdicts.error_code(), 0);
  EXPECT_EQ(verdicts.verdicts(0).error_code(), 0);
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(ZeekDaemonTest, SensorBoundAndLatenessAreMetrics) {
  const testutil::MetricsScrape before = fresh_->Scrape();
  const double evicted = before.Value("dwae_zeek_sensors_evicted_total");
  const double late = before.Value("dwae_zeek_late_connections_total");
  v1::ScoreRequest request;
  // --max_sensors=2: the third sensor evicts the least recently seen.
  *request.add_connections() = Conn("bound-1", "B1", 5000);
  *request.add_connections() = Conn("bound-2", "B2", 5000);
  *request.add_connections() = Conn("bound-3", "B3", 5000);
  // Ends 4,000 s before bound-3's watermark: later than any lateness bound.
  *request.add_connections() = Conn("bound-3", "B4", 1000);
  v1::ScoreResponse response;
  ASSERT_TRUE(fresh_->Score(request, &response).ok());
  for (const v1::Verdict& v : response.verdicts()) {
    EXPECT_EQ(v.error_code(), 0) << v.error_message();
  }
  const testutil::MetricsScrape after = fresh_->Scrape();
  EXPECT_EQ(after.Value("dwae_zeek_sensors"), 2);
  EXPECT_GE(after.Value("dwae_zeek_sensors_evicted_total"), evicted + 1);
  EXPECT_EQ(after.Value("dwae_zeek_late_connections_total"), late + 1);
  EXPECT_EQ(after.types.at("dwae_zeek_late_connections_total"), "counter");
  EXPECT_EQ(after.types.at("dwae_zeek_sensors"), "gauge");
}

}  // namespace
}  // namespace dwae

namespace dwae {
namespace {

// The schema survives a restart in the checkpoint; a --schema that
// disagrees with it stops the start with a message naming both.
TEST(ZeekCheckpointTest, SchemaIsKeptAndAConflictingPinRefusesToStart) {
  const std::string state = testutil::MakeTempDir("dwae_zeek_state");
  const std::vector<std::string> args = {"--state_dir=" + state,
                                         "--checkpoint_interval=0"};
  {
    Daemon first(args);
    ASSERT_TRUE(first.ok());
    v1::ScoreRequest request;
    *request.add_connections() = Conn("s", "K1", 1000);
    v1::ScoreResponse response;
    ASSERT_TRUE(first.Score(request, &response).ok());
    ASSERT_EQ(response.verdicts(0).error_code(), 0);
  }  // stopped: the final checkpoint is written

  const testutil::SubprocessResult refused = testutil::RunArgvFromSourceDir(
      {DWAED_PATH, "--listen=127.0.0.1:0",
       "--metrics_listen=", "--state_dir=" + state, "--schema=kdd"},
      absl::Seconds(30));
  EXPECT_EQ(refused.exit_code, 1) << refused.Describe();
  EXPECT_THAT(refused.stderr_text,
              HasSubstr("learned feature schema 'zeek' but the schema is "
                        "pinned to 'kdd'"));

  Daemon again(args);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.Info().config().model().feature_schema(), "zeek");
  v1::ScoreRequest kdd;
  *kdd.add_records() = KddRecord("after-restart");
  v1::ScoreResponse response;
  ASSERT_TRUE(again.Score(kdd, &response).ok());
  EXPECT_EQ(response.verdicts(0).error_code(), 9);
}

}  // namespace
}  // namespace dwae
