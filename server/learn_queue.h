// LearnQueue: the bounded queue between the scoring threads (producers) and
// the learner thread (the one consumer).
//
// Every scored, valid record goes through it: the learner re-scores it with
// the newest model, feeds that score to the adaptive threshold and learns it
// as its `decision` says (Detector::Process). A full
// queue blocks producers (back-pressure that gRPC flow control passes on to
// the sensors) unless the caller chooses to drop, which it then counts.
//
// Items travel in chunks, one per push (a scored batch): a push of a whole
// batch and a pop move vectors, not items, and the learner hands processed
// chunks back (Recycle) for the next push to refill, so that in steady
// state the records, encodings and vectors are reused, not reallocated.
// The capacity still counts items.
//
// Thread-safety: all methods may be called from any thread.
#ifndef DWAE_SERVER_LEARN_QUEUE_H_
#define DWAE_SERVER_LEARN_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/detector.h"
#include "core/record.h"

namespace dwae::server {

struct LearnItem {
  Record record;
  Detector::LearnDecision decision = Detector::LearnDecision::kNo;
  // The scorer's encoding of `record` when its snapshot was past warm-up
  // (else empty), and that snapshot's encoder_id(): the learner reuses it
  // instead of encoding again (Detector::Process).
  std::vector<float> encoded;
  uint64_t encoder_id = 0;
};

// Items pushed together, in order.
using LearnChunk = std::vector<LearnItem>;

class LearnQueue {
 public:
  explicit LearnQueue(size_t capacity) : capacity_(capacity) {}

  // Appends all of `items`, waiting for room while the queue is full. Returns
  // the number appended, less than items->size() only if the queue closed.
  // Afterwards *items holds a recycled chunk (its items are leftovers to
  // overwrite; resize it) or is empty.
  size_t PushAll(LearnChunk* items);
  // Appends what fits without waiting; returns the number appended. *items
  // afterwards: as for PushAll when everything fit, else unchanged.
  size_t PushAvailable(LearnChunk* items);
  // Moves whole chunks into `out` (cleared first) until they hold `max`
  // items or more, or the queue is empty, waiting up to `timeout` for the
  // first. Once there is a first item but fewer than `max`, waits up to
  // `linger` more for `max` (a Nudge or Close ends that wait). Returns
  // false when closed and empty.
  bool PopChunks(std::vector<LearnChunk>* out, size_t max,
                 absl::Duration timeout,
                 absl::Duration linger = absl::ZeroDuration());
  // Takes back processed chunks (from PopChunks) for later pushes to reuse;
  // keeps at most a few. Clears `chunks`.
  void Recycle(std::vector<LearnChunk>* chunks);
  // Wakes everyone; later pushes append nothing, pops drain what is left.
  void Close();
  // Makes a waiting (or the next) PopChunks return at once, even empty: the
  // learner then publishes what it learned (Engine::Sync).
  void Nudge();

  // Waits up to `timeout` until `n` items fit (n <= capacity); returns
  // whether they do (false also once closed).
  bool WaitForRoom(size_t n, absl::Duration timeout);

  size_t size() const;
  size_t capacity() const { return capacity_; }
  // Items appended since construction: a ticket. Once the learner has taken
  // this many items, every item appended before the call has been learned.
  uint64_t appended_total() const;

 private:
  // Appends items[from, from + n) as one chunk: the whole vector when it is
  // all of it (then refilled from spares_).
  void AppendLocked(LearnChunk* items, size_t from, size_t n)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<LearnChunk> chunks_ ABSL_GUARDED_BY(mu_);
  size_t size_ ABSL_GUARDED_BY(mu_) = 0;  // items in chunks_
  std::vector<LearnChunk> spares_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t appended_ ABSL_GUARDED_BY(mu_) = 0;
  bool nudged_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace dwae::server

#endif  // DWAE_SERVER_LEARN_QUEUE_H_
