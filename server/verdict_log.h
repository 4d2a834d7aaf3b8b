// VerdictLog: the bounded window of recent verdicts that QueryVerdicts
// answers from, by record id or as "anomalies since".
//
// A ring of `capacity` compact entries; each valid verdict gets the next
// sequence number when appended. An id seen twice maps to its latest
// verdict. Memory is bounded by the capacity: about 180 bytes an entry
// (plus ids longer than 15 bytes), feature names kept as dimension indices.
//
// Thread-safety: all methods may be called from any thread.
#ifndef DWAE_SERVER_VERDICT_LOG_H_
#define DWAE_SERVER_VERDICT_LOG_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/feature_schema.h"
#include "dwae/v1/detector.pb.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "server/engine_verdicts.h"

namespace dwae::server {

class VerdictLog {
 public:
  // Top features kept per entry.
  static constexpr int kKeptFeatures = 3;

  explicit VerdictLog(size_t capacity);

  // Assigns sequence numbers and scored_at (`now`) to the valid rows of
  // rows[0, n) and remembers them; their top features are dimensions of
  // `schema` (the scoring model's; it names them).
  void Append(VerdictRow* rows, size_t n, FeatureSchema schema, absl::Time now);
  // Verdicts of the ids that are still in the window, in request order.
  void FindByIds(const google::protobuf::RepeatedPtrField<std::string>& ids,
                 google::protobuf::RepeatedPtrField<v1::Verdict>* out) const;
  // Anomalous verdicts with sequence > after and scored at or after
  // `since`, oldest first, at most `limit`.
  void Anomalies(uint64_t after, absl::Time since, size_t limit,
                 google::protobuf::RepeatedPtrField<v1::Verdict>* out) const;
  uint64_t last_sequence() const;

 private:
  struct Entry {
    uint64_t sequence = 0;  // 0: empty slot
    uint64_t id_hash = 0;   // IdHash(id) when id is not empty
    int64_t scored_at_ns = 0;
    std::string id;
    std::string sensor_id;
    std::string label;
    float score = 0;
    float threshold = 0;
    bool anomalous = false;
    bool learned = false;
    FeatureSchema schema = FeatureSchema::kKdd;
    uint8_t num_features = 0;
    struct Feature {
      uint8_t dimension;  // FeatureEncoder::DimensionName(schema, dimension)
      float squared_error, value, reconstruction;
    };
    std::array<Feature, kKeptFeatures> features;
  };

  static uint64_t IdHash(absl::string_view id);
  void ToProto(const Entry& entry, v1::Verdict* out) const;

  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::vector<Entry> ring_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 1;
  // Hash of an id -> sequence of its latest verdict. Keyed by the 64-bit
  // hash, not the string: appending then costs one hash and no key copy,
  // and the entries keep their hash for the erase. A lookup checks the
  // entry's id, so a hash collision never returns another id's verdict;
  // it only lets the newer id take the slot, the older one leaving the
  // window early (chance about 1e-11 for a full window of 20,000).
  absl::flat_hash_map<uint64_t, uint64_t> by_id_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dwae::server

#endif  // DWAE_SERVER_VERDICT_LOG_H_
