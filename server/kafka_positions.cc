#include "server/kafka_positions.h"

#include <algorithm>
#include <set>

namespace dwae::server {

bool KafkaPositions::Restore(const v1::KafkaState& state) {
  if (state.group() != group_) return false;
  absl::MutexLock lock(&mu_);
  for (const v1::KafkaPosition& p : state.positions()) {
    State& s = states_[{p.topic(), p.partition()}];
    s.epoch = next_epoch_++;
    s.position = s.learned = p.next_offset();
    s.first = p.first_offset();
    s.processed = p.records_processed();
    s.bad = p.bad_messages();
  }
  released_ = state.released_records_processed();
  return true;
}

void KafkaPositions::ReleaseLocked(State& s) {
  released_ += s.processed;
  s = State();
}

std::vector<int64_t> KafkaPositions::Assign(
    const std::vector<TopicPartition>& partitions,
    const std::vector<int64_t>& committed) {
  absl::MutexLock lock(&mu_);
  const std::set<TopicPartition> assigned(partitions.begin(), partitions.end());
  for (auto it = states_.begin(); it != states_.end();) {
    if (assigned.count(it->first) == 0) {
      ReleaseLocked(it->second);
      it = states_.erase(it);
    } else {
      ++it;
    }
  }
  std::vector<int64_t> start(partitions.size(), kNoOffset);
  for (size_t i = 0; i < partitions.size(); ++i) {
    const int64_t c = i < committed.size() ? committed[i] : kNoOffset;
    State& s = states_[partitions[i]];
    // Our own position is right unless another replica has committed past
    // it (then it learned the records in between, and so skip them).
    if (s.position != kNoOffset && (c == kNoOffset || s.position >= c)) {
      s.owned = true;
      start[i] = s.position;
      continue;
    }
    ReleaseLocked(s);
    s.owned = true;
    s.epoch = next_epoch_++;
    if (c != kNoOffset) s.position = s.learned = s.first = c;
    start[i] = c;
  }
  return start;
}

void KafkaPositions::Revoke() {
  absl::MutexLock lock(&mu_);
  for (auto& [tp, s] : states_) s.owned = false;
}

void KafkaPositions::Consumed(const TopicPartition& tp, int64_t begin,
                              int64_t end, uint64_t valid, uint64_t bad,
                              uint64_t ticket) {
  absl::MutexLock lock(&mu_);
  auto it = states_.find(tp);
  uint64_t epoch = 0;  // matches no state: counted as released
  if (it != states_.end()) {
    State& s = it->second;
    if (s.first == kNoOffset) s.first = s.learned = begin;
    s.position = std::max(s.position, end);
    epoch = s.epoch;
  }
  pending_.push_back({ticket, tp, epoch, end, valid, bad});
}

int64_t KafkaPositions::Position(const TopicPartition& tp) const {
  absl::MutexLock lock(&mu_);
  auto it = states_.find(tp);
  return it == states_.end() ? kNoOffset : it->second.position;
}

void KafkaPositions::AdvanceLocked(uint64_t processed) {
  while (!pending_.empty() && pending_.front().ticket <= processed) {
    const Pending& p = pending_.front();
    auto it = states_.find(p.tp);
    if (it != states_.end() && it->second.epoch == p.epoch) {
      State& s = it->second;
      s.learned = std::max(s.learned, p.end);
      s.processed += p.valid;
      s.bad += p.bad;
    } else {
      released_ += p.valid;
    }
    pending_.pop_front();
  }
}

void KafkaPositions::Advance(uint64_t processed) {
  absl::MutexLock lock(&mu_);
  AdvanceLocked(processed);
}

void KafkaPositions::Save(uint64_t processed, v1::KafkaState* out) {
  absl::MutexLock lock(&mu_);
  AdvanceLocked(processed);
  out->Clear();
  out->set_group(group_);
  // Every partition not yet given away, owned or between a revocation and
  // the next assignment: a crash in that window must not lose its position.
  for (const auto& [tp, s] : states_) {
    if (s.learned == kNoOffset) continue;
    v1::KafkaPosition* p = out->add_positions();
    p->set_topic(tp.topic);
    p->set_partition(tp.partition);
    p->set_next_offset(s.learned);
    p->set_first_offset(s.first);
    p->set_records_processed(s.processed);
    p->set_bad_messages(s.bad);
  }
  out->set_released_records_processed(released_);
}

std::vector<std::pair<TopicPartition, int64_t>> KafkaPositions::Learned()
    const {
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<TopicPartition, int64_t>> out;
  for (const auto& [tp, s] : states_) {
    if (s.owned && s.learned != kNoOffset) out.emplace_back(tp, s.learned);
  }
  return out;
}

void KafkaPositions::SetHighWatermark(const TopicPartition& tp, int64_t high) {
  absl::MutexLock lock(&mu_);
  if (auto it = states_.find(tp); it != states_.end()) it->second.high = high;
}

int64_t KafkaPositions::Lag(const TopicPartition& tp) const {
  absl::MutexLock lock(&mu_);
  auto it = states_.find(tp);
  if (it == states_.end() || it->second.high < 0) return 0;
  const State& s = it->second;
  // Before the first message the position is where the partition starts.
  return std::max<int64_t>(0, s.high - std::max<int64_t>(s.position, 0));
}

std::vector<TopicPartition> KafkaPositions::Owned() const {
  absl::MutexLock lock(&mu_);
  std::vector<TopicPartition> out;
  for (const auto& [tp, s] : states_) {
    if (s.owned) out.push_back(tp);
  }
  return out;
}

void KafkaPositions::FillStatus(bool paused, v1::KafkaStatus* status) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [tp, s] : states_) {
    if (!s.owned) continue;
    v1::KafkaPartitionStatus* p = status->add_partitions();
    p->set_topic(tp.topic);
    p->set_partition(tp.partition);
    p->set_position(s.position);
    p->set_learned_offset(s.learned);
    p->set_high_watermark(s.high);
    p->set_lag(s.high < 0 ? 0
                          : std::max<int64_t>(
                                0, s.high - std::max<int64_t>(s.position, 0)));
    p->set_paused(paused);
  }
}

}  // namespace dwae::server
