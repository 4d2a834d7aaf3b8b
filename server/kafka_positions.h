// KafkaPositions: the Kafka consumer's bookkeeping of where each partition
// stands, and the one place that decides where a partition resumes.
//
// For every partition it knows, it keeps
//   position  the next offset to consume (what was handed to scoring),
//   learned   the next offset not yet through the learner: every record
//             below it that this replica consumed has been learned (or
//             skipped as bad) by the model,
//   first     where this replica's unbroken ownership began, and the counts
//             of valid records and bad messages between first and learned.
// `learned` advances with learn-queue tickets (Engine::learn_items_queued):
// a batch's entry applies once the learner has processed its ticket. The
// checkpoint saves `learned` beside the model state taken at the same
// instant, so a restart resumes at the first record the saved model has not
// learned: each record is learned once by the model that owns it.
//
// Where an assigned partition resumes (Assign): this replica's own
// position (from before a rebalance, or from the restored checkpoint) when
// it is at or past Kafka's committed offset, else the committed offset
// (another replica learned the records in between), else Kafka's reset
// policy (earliest by default). Partitions that move away for good are
// forgotten; what the model learned from them is kept as a count.
//
// Thread-safety: all methods may be called from any thread.
#ifndef DWAE_SERVER_KAFKA_POSITIONS_H_
#define DWAE_SERVER_KAFKA_POSITIONS_H_

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "dwae/v1/checkpoint.pb.h"
#include "dwae/v1/detector.pb.h"

namespace dwae::server {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  bool operator<(const TopicPartition& o) const {
    return std::tie(topic, partition) < std::tie(o.topic, o.partition);
  }
  bool operator==(const TopicPartition& o) const {
    return topic == o.topic && partition == o.partition;
  }
};

// Offset meaning "none" (let Kafka's committed offset or reset decide).
inline constexpr int64_t kNoOffset = -1;

class KafkaPositions {
 public:
  explicit KafkaPositions(std::string group) : group_(std::move(group)) {}

  // Loads a restored checkpoint's positions; returns false (and loads
  // nothing) when they belong to another group.
  bool Restore(const v1::KafkaState& state) ABSL_LOCKS_EXCLUDED(mu_);

  // A new assignment, with Kafka's committed offset of each partition
  // (kNoOffset: none). Returns the offset each should start at (kNoOffset:
  // Kafka's reset policy). Known partitions not in it are forgotten.
  std::vector<int64_t> Assign(const std::vector<TopicPartition>& partitions,
                              const std::vector<int64_t>& committed)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The assignment was revoked (the partitions may come back in Assign).
  void Revoke() ABSL_LOCKS_EXCLUDED(mu_);

  // Messages [begin, end) of `tp` were scored; `valid` of them went to the
  // learner, `bad` did not; `ticket` is the learn-queue ticket after them.
  void Consumed(const TopicPartition& tp, int64_t begin, int64_t end,
                uint64_t valid, uint64_t bad, uint64_t ticket)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The next offset of `tp` not yet scored in this replica's current
  // ownership (kNoOffset: none scored). An offset below it is a
  // re-delivery: scoring it again would learn it twice.
  int64_t Position(const TopicPartition& tp) const ABSL_LOCKS_EXCLUDED(mu_);
  bool IsNew(const TopicPartition& tp, int64_t offset) const {
    return offset >= Position(tp);
  }
  // The learner has processed `processed` items: apply what it covers.
  void Advance(uint64_t processed) ABSL_LOCKS_EXCLUDED(mu_);

  // Advance(processed), then the owned partitions' learned positions.
  void Save(uint64_t processed, v1::KafkaState* out) ABSL_LOCKS_EXCLUDED(mu_);
  // The owned partitions' learned offsets (for commits).
  std::vector<std::pair<TopicPartition, int64_t>> Learned() const
      ABSL_LOCKS_EXCLUDED(mu_);

  void SetHighWatermark(const TopicPartition& tp, int64_t high)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Lag of one owned partition (high watermark - position, >= 0; 0 when
  // either is unknown).
  int64_t Lag(const TopicPartition& tp) const ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<TopicPartition> Owned() const ABSL_LOCKS_EXCLUDED(mu_);
  void FillStatus(bool paused, v1::KafkaStatus* status) const
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct State {
    bool owned = false;
    uint64_t epoch = 0;  // changes when unbroken ownership starts over
    int64_t position = kNoOffset;
    int64_t learned = kNoOffset;
    int64_t first = kNoOffset;
    uint64_t processed = 0;
    uint64_t bad = 0;
    int64_t high = kNoOffset;
  };
  struct Pending {
    uint64_t ticket;
    TopicPartition tp;
    uint64_t epoch;
    int64_t end;
    uint64_t valid, bad;
  };
  void AdvanceLocked(uint64_t processed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReleaseLocked(State& s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string group_;
  mutable absl::Mutex mu_;
  std::map<TopicPartition, State> states_ ABSL_GUARDED_BY(mu_);
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);
  uint64_t next_epoch_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t released_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace dwae::server

#endif  // DWAE_SERVER_KAFKA_POSITIONS_H_
