#include "server/learn_queue.h"

#include <algorithm>
#include <utility>

namespace dwae::server {
namespace {

// Spare chunks kept for reuse: enough for the streams of a busy daemon
// (a stream holds one between its pushes), few enough that idle spares
// cost little memory.
constexpr size_t kMaxSpares = 4;

}  // namespace

void LearnQueue::AppendLocked(LearnChunk* items, size_t from, size_t n) {
  if (from == 0 && n == items->size()) {
    chunks_.push_back(std::move(*items));
    items->clear();
    if (!spares_.empty()) {
      *items = std::move(spares_.back());
      spares_.pop_back();
    }
  } else {
    LearnChunk part(std::make_move_iterator(items->begin() + from),
                    std::make_move_iterator(items->begin() + from + n));
    chunks_.push_back(std::move(part));
  }
  size_ += n;
  appended_ += n;
}

size_t LearnQueue::PushAll(LearnChunk* items) {
  const size_t total = items->size();
  size_t pushed = 0;
  absl::MutexLock lock(&mu_);
  while (pushed < total) {
    auto has_room = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return closed_ || size_ < capacity_;
    };
    mu_.Await(absl::Condition(&has_room));
    if (closed_) break;
    const size_t n = std::min(total - pushed, capacity_ - size_);
    AppendLocked(items, pushed, n);
    pushed += n;
  }
  return pushed;
}

size_t LearnQueue::PushAvailable(LearnChunk* items) {
  absl::MutexLock lock(&mu_);
  if (closed_ || size_ >= capacity_ || items->empty()) return 0;
  const size_t n = std::min(items->size(), capacity_ - size_);
  AppendLocked(items, 0, n);
  return n;
}

bool LearnQueue::PopChunks(std::vector<LearnChunk>* out, size_t max,
                           absl::Duration timeout, absl::Duration linger) {
  out->clear();
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return closed_ || nudged_ || !chunks_.empty();
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  // A full queue ends the wait too: its pushers are blocked.
  const size_t enough = std::min(max, capacity_);
  if (linger > absl::ZeroDuration() && size_ > 0 && size_ < enough) {
    // The pushers' unlocks evaluate this condition without waking the
    // learner: one wake-up per `linger` instead of one per push.
    auto full = [this, enough]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return closed_ || nudged_ || size_ >= enough;
    };
    mu_.AwaitWithTimeout(absl::Condition(&full), linger);
  }
  nudged_ = false;
  size_t taken = 0;
  while (!chunks_.empty() && taken < max) {
    taken += chunks_.front().size();
    out->push_back(std::move(chunks_.front()));
    chunks_.pop_front();
  }
  size_ -= taken;
  return !(closed_ && out->empty());
}

void LearnQueue::Recycle(std::vector<LearnChunk>* chunks) {
  absl::MutexLock lock(&mu_);
  for (LearnChunk& chunk : *chunks) {
    if (spares_.size() >= kMaxSpares) break;
    spares_.push_back(std::move(chunk));
  }
  chunks->clear();
}

void LearnQueue::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

bool LearnQueue::WaitForRoom(size_t n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto has_room = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return closed_ || size_ + n <= capacity_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&has_room), timeout);
  return !closed_ && size_ + n <= capacity_;
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
  return size_;
}

}  // namespace dwae::server
