#include "server/learn_queue.h"

#include <utility>

namespace dwae::server {

size_t LearnQueue::PushAll(std::vector<LearnItem>* items) {
  size_t pushed = 0;
  absl::MutexLock lock(&mu_);
  while (pushed < items->size()) {
    auto has_room = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return closed_ || items_.size() < capacity_;
    };
    mu_.Await(absl::Condition(&has_room));
    if (closed_) break;
    while (pushed < items->size() && items_.size() < capacity_) {
      items_.push_back(std::move((*items)[pushed++]));
      ++appended_;
    }
  }
  return pushed;
}

size_t LearnQueue::PushAvailable(std::vector<LearnItem>* items) {
  size_t pushed = 0;
  absl::MutexLock lock(&mu_);
  if (closed_) return 0;
  while (pushed < items->size() && items_.size() < capacity_) {
    items_.push_back(std::move((*items)[pushed++]));
    ++appended_;
  }
  return pushed;
}

bool LearnQueue::PopBatch(std::vector<LearnItem>* out, size_t max,
                          absl::Duration timeout) {
  out->clear();
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return closed_ || nudged_ || !items_.empty();
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  nudged_ = false;
  while (!items_.empty() && out->size() < max) {
    out->push_back(std::move(items_.front()));
    items_.pop_front();
  }
  return !(closed_ && out->empty());
}

void LearnQueue::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

bool LearnQueue::WaitForRoom(size_t n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto has_room = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return closed_ || items_.size() + n <= capacity_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&has_room), timeout);
  return !closed_ && items_.size() + n <= capacity_;
}

uint64_t LearnQueue::appended_total() const {
  absl::MutexLock lock(&mu_);
  return appended_;
}

void LearnQueue::Nudge() {
  absl::MutexLock lock(&mu_);
  nudged_ = true;
}

size_t LearnQueue::size() const {
  absl::MutexLock lock(&mu_);
  return items_.size();
}

}  // namespace dwae::server
