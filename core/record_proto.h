// Conversion between dwae::Record and the wire message dwae.v1.Record.
//
// RecordFromProto is on the serving hot path: it copies the 41 features with
// the generated accessors (no protobuf reflection), checks the string sizes,
// then runs ValidateRecord, so a bad value is reported exactly as the text
// parser reports it, e.g. "field 5 (src_bytes): negative value -1".
//
// The proto's field number n is the 1-based NSL-KDD column, i.e. feature
// index n - 1; tests/core/record_proto_test.cc checks with reflection that
// every field's name equals FeatureName(n - 1).
//
// Thread-safety: pure functions.
#ifndef DWAE_CORE_RECORD_PROTO_H_
#define DWAE_CORE_RECORD_PROTO_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/record.h"
#include "dwae/v1/record.pb.h"

namespace dwae {

// Size limits (bytes) for the strings of a v1::Record.
inline constexpr size_t kMaxRecordIdBytes = 128;
inline constexpr size_t kMaxSensorIdBytes = 128;
inline constexpr size_t kMaxLabelBytes = 64;
inline constexpr size_t kMaxCategoricalBytes = 32;

// Converts a wire record. Errors (all INVALID_ARGUMENT):
//   "features: missing" when `features` is not set;
//   "id: 300 bytes, limit is 128" (likewise sensor_id, label);
//   "field 3 (service): 40 bytes, limit is 32" for a categorical string;
//   whatever ValidateRecord reports (non-finite, negative or > 1e15 numeric
//   value, empty categorical string).
// Categorical values outside the NSL-KDD vocabulary are accepted. The label
// is copied with a trailing '.' (KDD99 style) removed; difficulty is -1.
// `id`, `sensor_id` and `observed_at` are not part of Record and are only
// checked, not copied.
absl::StatusOr<Record> RecordFromProto(const v1::Record& proto);

// Writes the 41 features of `record` into `features` (every field is set).
void RecordToProto(const Record& record, v1::Features* features);

// A full wire record: the features, `id`, `sensor_id` and the label.
v1::Record RecordToProto(const Record& record, absl::string_view id,
                         absl::string_view sensor_id);

}  // namespace dwae

#endif  // DWAE_CORE_RECORD_PROTO_H_
