// In-process tests of the Engine (no gRPC): crash safety of checkpoints
// under injected file-system faults, hostile batches (duplicate ids, empty
// batches) and back-pressure of the learn queue.
//
// Every engine uses a small model (hidden {8}, warm-up 200 records, 1 epoch)
// and a Metrics without HTTP listener, so each test takes well under a
// second apart from the deliberate 200 ms waits.
#include "server/engine.h"

#include <errno.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/checkpoint.h"
#include "core/dataset.h"
#include "core/file_system.h"
#include "core/record.h"
#include "core/record_proto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/metric_family.h"
#include "server/metrics.h"
#include "server/options.h"
#include "tests/server/engine_testing.h"
#include "tests/testing/temp_files.h"

namespace dwae::server {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Verdicts = google::protobuf::RepeatedPtrField<v1::Verdict>;
using Records = google::protobuf::RepeatedPtrField<v1::Record>;

using testing_engine::Batch;
using testing_engine::MakeMetrics;
using testing_engine::NormalTrainRows;
using testing_engine::SmallOptions;

// The value of the counter family `name` with label `label`=`value` (any
// child when `label` is empty), collected through the registry; -1 if absent.
double CounterValue(Metrics& metrics, const std::string& name,
                    const std::string& label = "",
                    const std::string& value = "") {
  for (const prometheus::MetricFamily& f : metrics.registry().Collect()) {
    if (f.name != name && absl::StrCat(f.name, "_total") != name) continue;
    for (const prometheus::ClientMetric& m : f.metric) {
      bool match = label.empty();
      for (const prometheus::ClientMetric::Label& l : m.label) {
        if (l.name == label && l.value == value) match = true;
      }
      if (match) return m.counter.value;
    }
  }
  return -1;
}

double GaugeValue(Metrics& metrics, const std::string& name) {
  for (const prometheus::MetricFamily& f : metrics.registry().Collect()) {
    if (f.name == name && !f.metric.empty()) return f.metric[0].gauge.value;
  }
  return -1;
}

bool PollUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

v1::ModelInfo Info(const Engine& engine) {
  v1::ModelInfo info;
  engine.GetModelInfo(&info);
  return info;
}

// Names of the entries of `dir`.
std::vector<std::string> DirEntries(const std::string& dir) {
  std::vector<std::string> names;
  for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  return names;
}

// ---------------------------------------------------------------------------
// Crash safety of checkpoints.

class EngineCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GT(NormalTrainRows().size(), 2000u);
    metrics_ = MakeMetrics();
    ASSERT_NE(metrics_, nullptr);
    dir_ = testutil::MakeTempDir("engine_test");
    state_dir_ = dir_ + "/state";
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::string ckpt() const { return state_dir_ + "/" + kCheckpointFileName; }

  std::unique_ptr<Engine> MustCreate(const EngineOptions& options,
                                     FileSystem* fs) {
    absl::StatusOr<std::unique_ptr<Engine>> e =
        Engine::Create(options, metrics_.get(), fs);
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? *std::move(e) : nullptr;
  }

  // Scores and learns `n` more rows and waits until the learner took them.
  void Learn(Engine* engine, size_t begin, size_t n) {
    const uint64_t before = Info(*engine).records_learned();
    Verdicts out;
    ASSERT_TRUE(
        engine->Score(Batch(begin, n, "learn"), v1::LEARNING_MODE_ALL, 0, &out)
            .ok());
    ASSERT_TRUE(
        PollUntil([&] { return Info(*engine).records_learned() >= before + n; },
                  absl::Seconds(20)));
  }

  std::unique_ptr<Metrics> metrics_;
  std::string dir_, state_dir_;
};

TEST_F(EngineCheckpointTest, FailedWritesKeepThePreviousCheckpointIntact) {
  FaultInjectingFileSystem faulty(DefaultFileSystem());
  std::unique_ptr<Engine> engine =
      MustCreate(SmallOptions(state_dir_), &faulty);
  ASSERT_NE(engine, nullptr);
  engine->Start();
  ASSERT_NO_FATAL_FAILURE(Learn(engine.get(), 0, 300));
  ASSERT_FALSE(Info(*engine).warming_up());

  absl::StatusOr<v1::CheckpointResponse> first = engine->Checkpoint();
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string good = testutil::ReadFileOrEmpty(ckpt());
  ASSERT_EQ(good.size(), first->bytes());
  ASSERT_TRUE(DecodeCheckpoint(good).ok());

  struct Fault {
    WriteStep step;
    int error_number;
  };
  const std::vector<Fault> faults = {{WriteStep::kWrite, EIO},
                                     {WriteStep::kWrite, ENOSPC},
                                     {WriteStep::kFsync, EIO},
                                     {WriteStep::kRename, EIO}};
  size_t next_row = 300;
  for (const Fault& f : faults) {
    SCOPED_TRACE(absl::StrCat(WriteStepName(f.step), " ",
                              std::strerror(f.error_number)));
    // The model moves on, so a successful write would change the file.
    ASSERT_NO_FATAL_FAILURE(Learn(engine.get(), next_row, 50));
    next_row += 50;
    const double failures_before =
        CounterValue(*metrics_, "dwae_checkpoint_failures_total");
    ASSERT_GE(failures_before, 0);

    faulty.FailNextWrites(f.step, f.error_number);
    absl::StatusOr<v1::CheckpointResponse> r = engine->Checkpoint();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::ErrnoToStatusCode(f.error_number));
    EXPECT_THAT(r.status().message(), HasSubstr(ckpt()));
    EXPECT_THAT(r.status().message(),
                HasSubstr(absl::StrCat(": ", WriteStepName(f.step), " ")));
    EXPECT_THAT(r.status().message(), HasSubstr(std::strerror(f.error_number)));

    // The previous checkpoint is untouched and still decodes.
    const std::string now = testutil::ReadFileOrEmpty(ckpt());
    EXPECT_TRUE(now == good) << "model.ckpt changed after a failed write";
    EXPECT_TRUE(DecodeCheckpoint(now).ok());
    // No temp file is left behind.
    EXPECT_THAT(DirEntries(state_dir_),
                ::testing::ElementsAre(std::string(kCheckpointFileName)));
    // The failure is counted.
    EXPECT_EQ(CounterValue(*metrics_, "dwae_checkpoint_failures_total"),
              failures_before + 1);
  }
  EXPECT_EQ(faulty.faults_injected(), int(faults.size()));

  // With the faults gone the next checkpoint replaces the file.
  absl::StatusOr<v1::CheckpointResponse> last = engine->Checkpoint();
  ASSERT_TRUE(last.ok()) << last.status();
  const std::string replaced = testutil::ReadFileOrEmpty(ckpt());
  EXPECT_NE(replaced, good);
  absl::StatusOr<v1::ModelState> state = DecodeCheckpoint(replaced);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->counters().records_learned(), next_row);
}

TEST_F(EngineCheckpointTest, TornFileIsRefusedThenMovedAsideByStartFresh) {
  {
    FaultInjectingFileSystem faulty(DefaultFileSystem());
    std::unique_ptr<Engine> engine =
        MustCreate(SmallOptions(state_dir_), &faulty);
    ASSERT_NE(engine, nullptr);
    engine->Start();
    ASSERT_NO_FATAL_FAILURE(Learn(engine.get(), 0, 250));
    ASSERT_TRUE(engine->Checkpoint().ok());
    // Tear this checkpoint and the final one written by Stop().
    faulty.TearNextWrites(10, 2);
    absl::StatusOr<v1::CheckpointResponse> r = engine->Checkpoint();
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(r.status().message(), HasSubstr("torn"));
    engine.reset();
    EXPECT_EQ(faulty.faults_injected(), 2);
  }
  const std::string torn = testutil::ReadFileOrEmpty(ckpt());
  ASSERT_EQ(torn.size(), 10u);
  EXPECT_FALSE(DecodeCheckpoint(torn).ok());

  // A new engine refuses to start from it, naming the file.
  absl::StatusOr<std::unique_ptr<Engine>> refused = Engine::Create(
      SmallOptions(state_dir_), metrics_.get(), DefaultFileSystem());
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr(ckpt()));
  EXPECT_THAT(refused.status().message(), HasSubstr("start_fresh"));
  EXPECT_EQ(testutil::ReadFileOrEmpty(ckpt()), torn);

  // start_fresh moves it aside (never deletes it) and starts a new model.
  EngineOptions fresh = SmallOptions(state_dir_);
  fresh.start_fresh = true;
  std::unique_ptr<Engine> engine = MustCreate(fresh, DefaultFileSystem());
  ASSERT_NE(engine, nullptr);
  EXPECT_TRUE(Info(*engine).warming_up());
  EXPECT_EQ(Info(*engine).records_learned(), 0u);
  EXPECT_FALSE(fs::exists(ckpt()));
  std::vector<std::string> aside;
  for (const std::string& name : DirEntries(state_dir_)) {
    if (absl::StartsWith(name, absl::StrCat(kCheckpointFileName, ".bad-"))) {
      aside.push_back(name);
    }
  }
  ASSERT_EQ(aside.size(), 1u)
      << ::testing::PrintToString(DirEntries(state_dir_));
  EXPECT_EQ(testutil::ReadFileOrEmpty(state_dir_ + "/" + aside[0]), torn);
}

// ---------------------------------------------------------------------------
// Hostile batches.

class EngineInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GT(NormalTrainRows().size(), 2000u);
    metrics_ = MakeMetrics();
    ASSERT_NE(metrics_, nullptr);
  }
  std::unique_ptr<Metrics> metrics_;
};

TEST_F(EngineInputTest, DuplicateIdsInOneBatchAreInvalid) {
  absl::StatusOr<std::unique_ptr<Engine>> engine =
      Engine::Create(SmallOptions(), metrics_.get(), DefaultFileSystem());
  ASSERT_TRUE(engine.ok()) << engine.status();
  Records batch = Batch(0, 8, "row");
  // ids: a b a "" "" b c a
  const std::vector<std::string> ids = {"a", "b", "a", "", "", "b", "c", "a"};
  for (int i = 0; i < batch.size(); ++i) batch[i].set_id(ids[i]);
  Verdicts out;
  ASSERT_TRUE((*engine)->Score(batch, v1::LEARNING_MODE_ALL, 0, &out).ok());
  ASSERT_EQ(out.size(), 8);
  const std::vector<int> duplicate_of = {-1, -1, 0, -1, -1, 1, -1, 0};
  for (int i = 0; i < out.size(); ++i) {
    SCOPED_TRACE(i);
    const v1::Verdict& v = out[i];
    EXPECT_EQ(v.id(), ids[i]);
    if (duplicate_of[i] < 0) {
      EXPECT_EQ(v.error_code(), 0) << v.error_message();
      EXPECT_TRUE(v.learned());
    } else {
      EXPECT_EQ(v.error_code(), int(absl::StatusCode::kInvalidArgument));
      EXPECT_EQ(v.error_message(),
                absl::StrCat("id: duplicate of record ", duplicate_of[i],
                             " in this batch"));
      EXPECT_FALSE(v.learned());
      EXPECT_EQ(v.score(), 0);
    }
  }
  v1::ModelInfo info = Info(**engine);
  EXPECT_EQ(info.records_invalid(), 3u);
  EXPECT_EQ(info.records_scored(), 5u);
  EXPECT_EQ(CounterValue(*metrics_, "dwae_records_total", "verdict", "invalid"),
            3);

  // Ids only need to be unique within a batch.
  Verdicts again;
  Records repeat = Batch(0, 2, "row");
  repeat[0].set_id("a");
  repeat[1].set_id("b");
  ASSERT_TRUE((*engine)->Score(repeat, v1::LEARNING_MODE_OFF, 0, &again).ok());
  ASSERT_EQ(again.size(), 2);
  EXPECT_EQ(again[0].error_code(), 0);
  EXPECT_EQ(again[1].error_code(), 0);
  EXPECT_EQ(Info(**engine).records_invalid(), 3u);
}

TEST_F(EngineInputTest, EmptyBatchGetsAnEmptyVerdictList) {
  absl::StatusOr<std::unique_ptr<Engine>> engine =
      Engine::Create(SmallOptions(), metrics_.get(), DefaultFileSystem());
  ASSERT_TRUE(engine.ok()) << engine.status();
  Verdicts out;
  const absl::Status s =
      (*engine)->Score(Records(), v1::LEARNING_MODE_ALL, 0, &out);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_TRUE(out.empty());
  const v1::ModelInfo info = Info(**engine);
  EXPECT_EQ(info.records_scored(), 0u);
  EXPECT_EQ(info.records_invalid(), 0u);
}

// ---------------------------------------------------------------------------
// Back-pressure: the learn queue is bounded.

TEST_F(EngineInputTest, FullQueueBlocksScoringUntilTheLearnerDrainsIt) {
  EngineOptions options = SmallOptions();
  options.detector.learning.queue_capacity = 64;
  absl::StatusOr<std::unique_ptr<Engine>> created =
      Engine::Create(options, metrics_.get(), DefaultFileSystem());
  ASSERT_TRUE(created.ok()) << created.status();
  Engine& engine = **created;
  // The learner is not started: nothing leaves the queue.
  Verdicts first, second;
  ASSERT_TRUE(
      engine.Score(Batch(0, 32, "first"), v1::LEARNING_MODE_ALL, 0, &first)
          .ok());
  ASSERT_EQ(first.size(), 32);
  EXPECT_EQ(GaugeValue(*metrics_, "dwae_learn_queue_depth"), 32);

  absl::Notification returned;
  absl::Status blocked_status;
  std::thread other([&] {
    blocked_status = engine.Score(Batch(32, 64, "second"),
                                  v1::LEARNING_MODE_ALL, 0, &second);
    returned.Notify();
  });
  EXPECT_FALSE(returned.WaitForNotificationWithTimeout(absl::Milliseconds(200)))
      << "Score returned although the learn queue was full";
  EXPECT_EQ(GaugeValue(*metrics_, "dwae_learn_queue_capacity"), 64);

  engine.Start();
  EXPECT_TRUE(returned.WaitForNotificationWithTimeout(absl::Seconds(10)))
      << "Score still blocked after the learner started";
  other.join();
  EXPECT_TRUE(blocked_status.ok()) << blocked_status;
  ASSERT_EQ(second.size(), 64);
  for (const v1::Verdict& v : second) EXPECT_TRUE(v.learned());
  EXPECT_TRUE(PollUntil([&] { return Info(engine).records_learned() == 96; },
                        absl::Seconds(10)));
  EXPECT_EQ(Info(engine).records_dropped(), 0u);
}

TEST_F(EngineInputTest, DropWhenFullReturnsAtOnceAndCountsTheDrops) {
  EngineOptions options = SmallOptions();
  options.detector.learning.queue_capacity = 64;
  options.detector.learning.drop_when_full = true;
  absl::StatusOr<std::unique_ptr<Engine>> created =
      Engine::Create(options, metrics_.get(), DefaultFileSystem());
  ASSERT_TRUE(created.ok()) << created.status();
  Engine& engine = **created;

  Verdicts out;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(
      engine.Score(Batch(0, 100, "flood"), v1::LEARNING_MODE_ALL, 0, &out)
          .ok());
  Verdicts more;
  ASSERT_TRUE(
      engine.Score(Batch(100, 10, "more"), v1::LEARNING_MODE_ALL, 0, &more)
          .ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  ASSERT_EQ(out.size(), 100);
  ASSERT_EQ(more.size(), 10);
  for (int i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].error_code(), 0);
    EXPECT_EQ(out[i].learned(), i < 64) << i;
  }
  for (const v1::Verdict& v : more) EXPECT_FALSE(v.learned());
  EXPECT_EQ(Info(engine).records_dropped(), 46u);
  EXPECT_EQ(CounterValue(*metrics_, "dwae_learn_dropped_total"), 46);
  EXPECT_EQ(GaugeValue(*metrics_, "dwae_learn_queue_depth"), 64);

  // Once started, exactly the queued records are learned.
  engine.Start();
  EXPECT_TRUE(PollUntil([&] { return Info(engine).records_learned() == 64; },
                        absl::Seconds(10)));
}

}  // namespace
}  // namespace dwae::server
