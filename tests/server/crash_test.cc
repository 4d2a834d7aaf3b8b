// The kill -9 loop: a real dwaed (DWAED_PATH) is SIGKILLed at random
// moments while it learns and writes checkpoints, then restarted on the same
// state directory, over and over. After every crash the checkpoint on disk
// must decode (never torn), and the restarted daemon must score a probe of
// 100 records bit-identically to a fresh in-process Detector::Restore of
// that file: the restored model is exactly the last complete checkpoint.
//
// DWAE_CRASH_LOOPS=N runs N iterations instead of 20. The RNG has a fixed
// seed, so the kill delays are the same on every run (the moment the kill
// lands in the daemon's work is still up to the scheduler).
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
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
#include "core/detector.h"
#include "core/record.h"
#include "core/record_proto.h"
#include "dwae/v1/detector.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_files.h"

namespace dwae {
namespace {

namespace fs = std::filesystem;
using testutil::Subprocess;

constexpr int kDefaultLoops = 20;
constexpr int kMaxKillDelayMs = 30;
constexpr uint32_t kRngSeed = 20240917;
constexpr size_t kWarmupRows = 400;
constexpr size_t kTrafficRows = 200;
constexpr size_t kProbeRows = 100;
constexpr char kConfigText[] =
    "learning { warmup_records: 300 warmup_epochs: 1 }\n";

struct Data {
  std::vector<Record> train_normal;
  std::vector<v1::Record> probe;  // 100 KDDTest+ rows, normal and attacks
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
    for (size_t i = 0; i < kProbeRows && i < test->size(); ++i) {
      d->probe.push_back(
          RecordToProto((*test)[i], absl::StrCat("probe-", i), "crash"));
    }
    return d;
  }();
  return *data;
}

// Rows [begin, begin + n) of the normal training rows (cycled), learned.
v1::ScoreRequest Traffic(size_t begin, size_t n) {
  const std::vector<Record>& rows = GetData().train_normal;
  v1::ScoreRequest request;
  for (size_t i = begin; i < begin + n; ++i) {
    *request.add_records() = RecordToProto(
        rows[i % rows.size()], absl::StrCat("t-", i), "crash-sensor");
  }
  request.set_learning(v1::LEARNING_MODE_ALL);
  return request;
}

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

bool PollUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

int ParsePort(const std::string& out, const std::string& marker) {
  const size_t at = out.find(marker);
  if (at == std::string::npos) return 0;
  const size_t port = out.find("(port ", at);
  if (port == std::string::npos) return 0;
  return std::atoi(out.c_str() + port + 6);
}

int Loops() {
  const char* env = std::getenv("DWAE_CRASH_LOOPS");
  if (env == nullptr || *env == '\0') return kDefaultLoops;
  const int n = std::atoi(env);
  return n > 0 ? n : kDefaultLoops;
}

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GT(GetData().train_normal.size(), 5000u);
    ASSERT_EQ(GetData().probe.size(), kProbeRows);
    dir_ = testutil::MakeTempDir("dwae_crash_test");
    state_dir_ = dir_ + "/state";
    config_path_ = dir_ + "/dwae.conf";
    ASSERT_TRUE(testutil::WriteFile(config_path_, kConfigText));
  }
  void TearDown() override {
    Kill();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::string ckpt() const { return state_dir_ + "/" + kCheckpointFileName; }

  void Start() {
    auto started = Subprocess::Start(
        {DWAED_PATH, "--listen=127.0.0.1:0",
         "--metrics_listen=", "--state_dir=" + state_dir_,
         "--checkpoint_interval=0", "--config=" + config_path_});
    ASSERT_TRUE(started.ok()) << started.status();
    daemon_ = *std::move(started);
    ASSERT_TRUE(daemon_->WaitForOutput("dwaed: state in", absl::Seconds(20)))
        << "stdout: " << daemon_->stdout_so_far()
        << "\nstderr: " << daemon_->stderr_so_far();
    const int port =
        ParsePort(daemon_->stdout_so_far(), "dwaed: serving gRPC on");
    ASSERT_GT(port, 0) << daemon_->stdout_so_far();
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials());
    ASSERT_TRUE(channel_->WaitForConnected(
        absl::ToChronoTime(absl::Now() + absl::Seconds(10))));
    stub_ = v1::Detector::NewStub(channel_);
  }

  void Kill() {
    stub_.reset();
    channel_.reset();
    daemon_.reset();  // SIGKILLs the group if still running, and reaps it
  }

  v1::ModelInfo Info() {
    grpc::ClientContext context;
    SetDeadline(&context, absl::Seconds(10));
    v1::ModelInfo info;
    const grpc::Status s =
        stub_->GetModelInfo(&context, v1::GetModelInfoRequest(), &info);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return info;
  }

  std::unique_ptr<Subprocess> daemon_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Detector::Stub> stub_;
  std::string dir_, state_dir_, config_path_;
};

TEST_F(CrashTest, KillNineLoopRestoresTheLastCompleteCheckpoint) {
  const int loops = Loops();
  std::mt19937 rng(kRngSeed);
  std::uniform_int_distribution<int> delay_ms(0, kMaxKillDelayMs);

  ASSERT_NO_FATAL_FAILURE(Start());
  {  // Warm-up.
    grpc::ClientContext context;
    SetDeadline(&context, absl::Seconds(30));
    v1::ScoreResponse response;
    const grpc::Status s =
        stub_->Score(&context, Traffic(0, kWarmupRows), &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_TRUE(PollUntil(
        [&] {
          const v1::ModelInfo info = Info();
          return info.records_learned() >= kWarmupRows && !info.warming_up();
        },
        absl::Seconds(30)));
  }

  size_t next_row = kWarmupRows;
  int replaced = 0;  // the in-flight checkpoint completed before the kill
  int kept = 0;      // the kill came first: the previous file stayed
  int max_temp_files = 0;
  int identical = 0;  // restarts that scored the probe like the file
  const absl::Time start = absl::Now();
  for (int loop = 0; loop < loops; ++loop) {
    SCOPED_TRACE(absl::StrCat("loop ", loop));
    // Learning traffic, then a checkpoint; remember its bytes.
    {
      grpc::ClientContext context;
      SetDeadline(&context, absl::Seconds(20));
      v1::ScoreResponse response;
      const grpc::Status s =
          stub_->Score(&context, Traffic(next_row, kTrafficRows), &response);
      ASSERT_TRUE(s.ok()) << s.error_message();
      next_row += kTrafficRows;
    }
    {
      grpc::ClientContext context;
      SetDeadline(&context, absl::Seconds(20));
      v1::CheckpointResponse response;
      const grpc::Status s =
          stub_->Checkpoint(&context, v1::CheckpointRequest(), &response);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
    const std::string recorded = testutil::ReadFileOrEmpty(ckpt());
    ASSERT_TRUE(DecodeCheckpoint(recorded).ok());

    // More traffic and another checkpoint in the background; kill -9 after
    // a random delay.
    std::atomic<bool> checkpoint_ok{false};
    std::thread background([&, first = next_row] {
      {
        grpc::ClientContext context;
        SetDeadline(&context, absl::Seconds(10));
        v1::ScoreResponse response;
        if (!stub_->Score(&context, Traffic(first, kTrafficRows), &response)
                 .ok()) {
          return;
        }
      }
      grpc::ClientContext context;
      SetDeadline(&context, absl::Seconds(10));
      v1::CheckpointResponse response;
      checkpoint_ok =
          stub_->Checkpoint(&context, v1::CheckpointRequest(), &response).ok();
    });
    next_row += kTrafficRows;
    absl::SleepFor(absl::Milliseconds(delay_ms(rng)));
    daemon_->Signal(SIGKILL);
    const testutil::SubprocessResult killed = daemon_->Wait(absl::Seconds(10));
    background.join();
    EXPECT_EQ(killed.term_signal, SIGKILL) << killed.Describe();
    Kill();

    // What is on disk must be a complete checkpoint.
    const std::string on_disk = testutil::ReadFileOrEmpty(ckpt());
    absl::StatusOr<v1::ModelState> state = DecodeCheckpoint(on_disk);
    ASSERT_TRUE(state.ok())
        << "torn checkpoint after kill -9: " << state.status();
    if (on_disk == recorded) {
      ++kept;
      EXPECT_FALSE(checkpoint_ok) << "a checkpoint returned OK but the file "
                                     "on disk is the previous one";
    } else {
      ++replaced;
    }
    int temp_files = 0;
    for (const fs::directory_entry& e : fs::directory_iterator(state_dir_)) {
      if (absl::StrContains(e.path().filename().string(), ".tmp-")) {
        ++temp_files;
      }
    }
    max_temp_files = std::max(max_temp_files, temp_files);

    // The restarted daemon scores exactly like a restore of that file.
    absl::StatusOr<std::unique_ptr<Detector>> restored =
        Detector::Restore(*state);
    ASSERT_TRUE(restored.ok()) << restored.status();
    const std::shared_ptr<const ScoringModel> model = (*restored)->Publish();
    ASSERT_NO_FATAL_FAILURE(Start());
    v1::ScoreRequest probe;
    for (const v1::Record& r : GetData().probe) *probe.add_records() = r;
    probe.set_learning(v1::LEARNING_MODE_OFF);
    grpc::ClientContext context;
    SetDeadline(&context, absl::Seconds(20));
    v1::ScoreResponse response;
    const grpc::Status s = stub_->Score(&context, probe, &response);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(response.verdicts_size(), int(kProbeRows));
    ScoringScratch scratch = model->MakeScratch();
    ScoreResult result;
    int mismatches = 0;
    for (size_t i = 0; i < kProbeRows; ++i) {
      absl::StatusOr<Record> record = RecordFromProto(GetData().probe[i]);
      ASSERT_TRUE(record.ok()) << record.status();
      model->Score(*record, 0, &scratch, &result);
      const v1::Verdict& v = response.verdicts(int(i));
      ASSERT_EQ(v.error_code(), 0) << v.error_message();
      // Exact comparison: the daemon's float score widened to double.
      if (v.score() != double(result.score)) ++mismatches;
      EXPECT_EQ(v.threshold(), model->threshold()) << "probe " << i;
    }
    if (mismatches == 0) ++identical;
    EXPECT_EQ(mismatches, 0)
        << "the restarted daemon does not score like the checkpoint on disk";
    EXPECT_EQ(Info().records_learned(), (*restored)->records_learned());
  }
  const absl::Duration took = absl::Now() - start;
  std::printf(
      "crash_test: %d kill -9 loops in %.1f s: %d killed after the in-flight "
      "checkpoint replaced the file, %d killed before it did (previous file "
      "intact); 0 torn; %d/%d restarts scored the probe bit-identically to "
      "the file on disk; at most %d leftover temp files in the state dir\n",
      loops, absl::ToDoubleSeconds(took), replaced, kept, identical, loops,
      max_temp_files);
  std::fflush(stdout);
  EXPECT_EQ(replaced + kept, loops);
  EXPECT_EQ(identical, loops);
}

}  // namespace
}  // namespace dwae
