// Engine::Sync: wait until the learner has caught up with what was accepted.
//
// Every scored, valid record enters the learn queue, which counts the items
// it ever took (LearnQueue::appended_total). The learner counts the items it
// processed and, after each publish, tells the engine how many of them the
// published model includes (MarkPublished). A Sync call takes the queue's
// count when it starts and waits until the published count reaches it;
// while any call waits, the learner publishes after every batch instead of
// every publish_interval_seconds, and LearnQueue::Nudge wakes it if it is
// idle with unpublished work. No sleeping: the wait is on the condition,
// with a 100 ms step only to notice the caller's cancellation.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "server/engine.h"

namespace dwae::server {
namespace {

constexpr absl::Duration kCancelPoll = absl::Milliseconds(100);

}  // namespace

absl::StatusOr<v1::SyncResponse> Engine::Sync(
    absl::Time deadline, const std::function<bool()>& cancelled) {
  {
    absl::MutexLock lock(&lifecycle_mu_);
    if (!started_) {
      return absl::FailedPreconditionError("sync: the learner is not running");
    }
  }
  const absl::Time start = absl::Now();
  const uint64_t target = queue_.appended_total();
  ++sync_waiters_;
  queue_.Nudge();
  absl::Status status;
  uint64_t waited_for = 0;
  {
    absl::MutexLock lock(&sync_mu_);
    waited_for = target - std::min(target, published_through_);
    auto caught_up = [this, target]() ABSL_SHARED_LOCKS_REQUIRED(sync_mu_) {
      return published_through_ >= target;
    };
    while (!caught_up()) {
      if (sync_mu_.AwaitWithDeadline(
              absl::Condition(&caught_up),
              std::min(deadline, absl::Now() + kCancelPoll))) {
        break;
      }
      if (absl::Now() >= deadline) {
        status = absl::DeadlineExceededError(absl::StrFormat(
            "sync: the learner still has %d of %d records to learn",
            target - published_through_, waited_for));
        break;
      }
      if (cancelled && cancelled()) {
        status = absl::CancelledError("sync: cancelled");
        break;
      }
    }
  }
  --sync_waiters_;
  if (!status.ok()) return status;
  const std::shared_ptr<const ScoringModel> model = current_model();
  v1::SyncResponse response;
  response.set_model_version(model->version());
  response.set_warming_up(model->warming_up());
  response.set_threshold(model->threshold());
  response.set_threshold_source(model->threshold_source());
  response.set_records_learned(learned_);
  response.set_records_waited_for(waited_for);
  response.set_seconds(absl::ToDoubleSeconds(absl::Now() - start));
  return response;
}

}  // namespace dwae::server
