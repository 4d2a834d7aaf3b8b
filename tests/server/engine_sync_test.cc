// In-process tests of Engine::Sync and of the warm-up progress that
// GetModelInfo reports: Sync returns once everything accepted before it is
// learned and published (the warm-up consolidation included), GetModelInfo
// answers while the learner consolidates, and verdicts say whether they
// were given during the warm-up. No test waits with a sleep for learning,
// nor races the clock: a test that needs the learner at a given point holds
// it there with the engine's testing hook.
#include <cmath>
#include <functional>
#include <memory>
#include <thread>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/file_system.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/engine.h"
#include "tests/server/engine_testing.h"

namespace dwae::server {
namespace {

using ::testing::HasSubstr;
using testing_engine::Batch;
using testing_engine::MakeMetrics;
using testing_engine::SmallOptions;
using Verdicts = google::protobuf::RepeatedPtrField<v1::Verdict>;

constexpr absl::Duration kLongWait = absl::Seconds(120);

v1::ModelInfo Info(const Engine& engine) {
  v1::ModelInfo info;
  engine.GetModelInfo(&info);
  return info;
}

class EngineSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    metrics_ = MakeMetrics();
    ASSERT_NE(metrics_, nullptr);
  }

  std::unique_ptr<Engine> Create(const EngineOptions& options) {
    absl::StatusOr<std::unique_ptr<Engine>> e =
        Engine::Create(options, metrics_.get(), DefaultFileSystem());
    EXPECT_TRUE(e.ok()) << e.status();
    return e.ok() ? *std::move(e) : nullptr;
  }

  // Scores rows [begin, begin + n) with learning mode ALL into `out`.
  static void Send(Engine& engine, size_t begin, size_t n, Verdicts* out) {
    ASSERT_TRUE(
        engine.Score(Batch(begin, n, "sync"), v1::LEARNING_MODE_ALL, 0, out)
            .ok());
  }

  std::unique_ptr<Metrics> metrics_;
};

TEST_F(EngineSyncTest, RefusesBeforeTheLearnerRuns) {
  std::unique_ptr<Engine> engine = Create(SmallOptions());
  ASSERT_NE(engine, nullptr);
  const absl::StatusOr<v1::SyncResponse> r =
      engine->Sync(absl::Now() + absl::Seconds(1), nullptr);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(EngineSyncTest, ReturnsWithEverythingLearnedAndPublished) {
  std::unique_ptr<Engine> engine = Create(SmallOptions());
  ASSERT_NE(engine, nullptr);
  engine->Start();
  Verdicts first;
  // 200 warm-up records, then 100 learned online: one batch, so the
  // learner still has all of them when Sync starts.
  ASSERT_NO_FATAL_FAILURE(Send(*engine, 0, 300, &first));
  for (const v1::Verdict& v : first) {
    EXPECT_TRUE(v.warming_up()) << v.id();
    EXPECT_FALSE(v.anomalous()) << v.id();
  }
  const absl::StatusOr<v1::SyncResponse> r =
      engine->Sync(absl::Now() + kLongWait, nullptr);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->warming_up());
  EXPECT_TRUE(std::isfinite(r->threshold()));
  EXPECT_EQ(r->records_learned(), 300u);
  EXPECT_LE(r->records_waited_for(), 300u);

  // No polling: what Sync promised is visible at once.
  const v1::ModelInfo info = Info(*engine);
  EXPECT_EQ(info.records_learned(), 300u);
  EXPECT_FALSE(info.warming_up());
  EXPECT_FALSE(info.consolidating());
  EXPECT_EQ(info.warmup_records_learned(), 200u);
  EXPECT_EQ(info.warmup_records(), 200u);
  EXPECT_EQ(info.learn_queue_depth(), 0u);
  EXPECT_EQ(info.model_version(), r->model_version());
  EXPECT_EQ(info.threshold(), r->threshold());

  Verdicts second;
  ASSERT_NO_FATAL_FAILURE(Send(*engine, 300, 10, &second));
  for (const v1::Verdict& v : second) {
    EXPECT_FALSE(v.warming_up()) << v.id();
    EXPECT_EQ(v.threshold(), r->threshold()) << v.id();
  }

  // Nothing pending: returns without waiting for anything.
  const absl::StatusOr<v1::SyncResponse> again =
      engine->Sync(absl::Now() + kLongWait, nullptr);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->records_learned(), 310u);
  engine->Stop();
}

TEST_F(EngineSyncTest, WarmupProgressCountsLearnedRecords) {
  std::unique_ptr<Engine> engine = Create(SmallOptions());
  ASSERT_NE(engine, nullptr);
  engine->Start();
  Verdicts out;
  ASSERT_NO_FATAL_FAILURE(Send(*engine, 0, 120, &out));
  ASSERT_TRUE(engine->Sync(absl::Now() + kLongWait, nullptr).ok());
  const v1::ModelInfo info = Info(*engine);
  EXPECT_TRUE(info.warming_up());
  EXPECT_FALSE(info.consolidating());
  EXPECT_EQ(info.warmup_records_learned(), 120u);
  EXPECT_EQ(info.warmup_records(), 200u);
  EXPECT_TRUE(std::isinf(info.threshold()));
}

// The learner held inside the warm-up consolidation by the engine's testing
// hook (which it enters after flagging the consolidation, before running
// it), so the order of events is the test's, not the clock's: GetModelInfo
// answers meanwhile and says so; Sync honours its deadline and cancellation
// and, once the learner is released, returns with the consolidation over.
TEST_F(EngineSyncTest, ConsolidationIsVisibleAndAwaitable) {
  EngineOptions options = SmallOptions();
  options.detector.learning.warmup_records = 1000;
  std::unique_ptr<Engine> engine = Create(options);
  ASSERT_NE(engine, nullptr);
  absl::Notification entered, release;
  engine->SetConsolidationHookForTesting([&] {
    entered.Notify();
    release.WaitForNotification();
  });
  // Runs before the engine's destructor (declared after it), so a failed
  // assertion below cannot leave Stop waiting for a held learner.
  absl::Cleanup release_learner = [&] {
    if (!release.HasBeenNotified()) release.Notify();
  };
  engine->Start();
  Verdicts out;
  ASSERT_NO_FATAL_FAILURE(Send(*engine, 0, 1000, &out));

  entered.WaitForNotification();
  v1::ModelInfo info = Info(*engine);
  ASSERT_TRUE(info.consolidating());
  EXPECT_TRUE(info.warming_up());
  EXPECT_EQ(info.warmup_records(), 1000u);

  const absl::StatusOr<v1::SyncResponse> late =
      engine->Sync(absl::Now() + absl::Milliseconds(1), nullptr);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(late.status().message(), HasSubstr("records to learn"));
  const absl::StatusOr<v1::SyncResponse> cancelled =
      engine->Sync(absl::Now() + kLongWait, [] { return true; });
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kCancelled);
  // Still held: neither call let the learner on.
  EXPECT_TRUE(Info(*engine).consolidating());

  release.Notify();
  const absl::StatusOr<v1::SyncResponse> r =
      engine->Sync(absl::Now() + kLongWait, nullptr);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->warming_up());
  info = Info(*engine);
  EXPECT_FALSE(info.consolidating());
  EXPECT_FALSE(info.warming_up());
  EXPECT_EQ(info.records_learned(), 1000u);
}

// Stop drains the queue and publishes: a Sync waiting then returns OK.
TEST_F(EngineSyncTest, StopReleasesWaiters) {
  EngineOptions options = SmallOptions();
  options.detector.learning.warmup_epochs = 300;
  std::unique_ptr<Engine> engine = Create(options);
  ASSERT_NE(engine, nullptr);
  engine->Start();
  Verdicts out;
  ASSERT_NO_FATAL_FAILURE(Send(*engine, 0, 250, &out));
  absl::StatusOr<v1::SyncResponse> r = absl::UnknownError("not run");
  std::thread waiter(
      [&] { r = engine->Sync(absl::Now() + kLongWait, nullptr); });
  engine->Stop();
  waiter.join();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->records_learned(), 250u);
}

}  // namespace
}  // namespace dwae::server
