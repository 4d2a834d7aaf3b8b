#include "server/verdict_log.h"

#include <algorithm>
#include <string>

#include "absl/hash/hash.h"
#include "core/encoder.h"

namespace dwae::server {

VerdictLog::VerdictLog(size_t capacity)
    : capacity_(std::max<size_t>(1, capacity)) {
  absl::MutexLock lock(&mu_);
  ring_.resize(capacity_);
  by_id_.reserve(capacity_);
}

void VerdictLog::Append(VerdictRow* rows, size_t n, FeatureSchema schema,
                        absl::Time now) {
  const int64_t now_ns = absl::ToUnixNanos(now);
  // The ids' hashes, before taking the lock (0: not indexed).
  thread_local std::vector<uint64_t> hashes;
  hashes.assign(n, 0);
  for (size_t index = 0; index < n; ++index) {
    const VerdictRow& v = rows[index];
    if (v.valid() && !v.id->empty()) hashes[index] = IdHash(*v.id);
  }
  absl::MutexLock lock(&mu_);
  // The index is hit at random, one cache miss per probe: prefetching
  // every slot the batch will touch (its new ids, and the ids of the
  // entries it overwrites) lets those misses overlap instead of stalling
  // one after the other.
  uint64_t next = next_sequence_;
  for (size_t index = 0; index < n; ++index) {
    if (!rows[index].valid()) continue;
    if (hashes[index] != 0) by_id_.prefetch(hashes[index]);
    const Entry& old = ring_[next++ % capacity_];
    if (old.sequence != 0 && !old.id.empty()) by_id_.prefetch(old.id_hash);
  }
  for (size_t index = 0; index < n; ++index) {
    VerdictRow& v = rows[index];
    if (!v.valid()) continue;
    const uint64_t sequence = next_sequence_++;
    v.sequence = sequence;
    v.scored_at_ns = now_ns;
    Entry& e = ring_[sequence % capacity_];
    if (e.sequence != 0 && !e.id.empty()) {
      auto it = by_id_.find(e.id_hash);
      if (it != by_id_.end() && it->second == e.sequence) by_id_.erase(it);
    }
    e.sequence = sequence;
    e.scored_at_ns = now_ns;
    e.id = *v.id;
    e.sensor_id = *v.sensor_id;
    e.label = v.label;
    e.score = static_cast<float>(v.score);
    e.threshold = static_cast<float>(v.threshold);
    e.anomalous = v.anomalous;
    e.learned = v.learned;
    e.schema = schema;
    e.num_features =
        static_cast<uint8_t>(std::min<int>(v.num_top, kKeptFeatures));
    for (int i = 0; i < e.num_features; ++i) {
      const FeatureDeviation& f = v.top[i];
      e.features[i] = {static_cast<uint8_t>(f.dimension), f.squared_error,
                       f.value, f.reconstruction};
    }
    if (!e.id.empty()) {
      e.id_hash = hashes[index];
      by_id_.insert_or_assign(e.id_hash, sequence);
    }
  }
}

uint64_t VerdictLog::IdHash(absl::string_view id) {
  return absl::Hash<absl::string_view>{}(id);
}

void VerdictLog::ToProto(const Entry& e, v1::Verdict* out) const {
  out->set_id(e.id);
  out->set_sensor_id(e.sensor_id);
  out->set_label(e.label);
  out->set_score(e.score);
  out->set_threshold(e.threshold);
  out->set_anomalous(e.anomalous);
  out->set_learned(e.learned);
  out->set_sequence(e.sequence);
  SetTimestamp(e.scored_at_ns, out->mutable_scored_at());
  for (int i = 0; i < e.num_features; ++i) {
    v1::FeatureDeviation* f = out->add_top_features();
    f->set_feature(
        FeatureEncoder::DimensionName(e.schema, e.features[i].dimension));
    f->set_squared_error(e.features[i].squared_error);
    f->set_value(e.features[i].value);
    f->set_reconstruction(e.features[i].reconstruction);
  }
}

void VerdictLog::FindByIds(
    const google::protobuf::RepeatedPtrField<std::string>& ids,
    google::protobuf::RepeatedPtrField<v1::Verdict>* out) const {
  absl::MutexLock lock(&mu_);
  for (const std::string& id : ids) {
    auto it = by_id_.find(IdHash(id));
    if (it == by_id_.end()) continue;
    const Entry& e = ring_[it->second % capacity_];
    if (e.id != id) continue;  // another id with the same hash
    ToProto(e, out->Add());
  }
}

void VerdictLog::Anomalies(
    uint64_t after, absl::Time since, size_t limit,
    google::protobuf::RepeatedPtrField<v1::Verdict>* out) const {
  const int64_t since_ns =
      since == absl::InfinitePast() ? INT64_MIN : absl::ToUnixNanos(since);
  absl::MutexLock lock(&mu_);
  const uint64_t last = next_sequence_ - 1;
  const uint64_t oldest = last >= capacity_ ? last - capacity_ + 1 : 1;
  for (uint64_t seq = std::max(oldest, after + 1);
       seq <= last && static_cast<size_t>(out->size()) < limit; ++seq) {
    const Entry& e = ring_[seq % capacity_];
    if (e.sequence == seq && e.anomalous && e.scored_at_ns >= since_ns) {
      ToProto(e, out->Add());
    }
  }
}

uint64_t VerdictLog::last_sequence() const {
  absl::MutexLock lock(&mu_);
  return next_sequence_ - 1;
}

}  // namespace dwae::server
