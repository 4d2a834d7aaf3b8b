// Conversion between the core entries and their wire messages:
// dwae::Record <-> dwae.v1.Record (KDD features) and dwae::Connection <->
// dwae.v1.Connection (one Zeek conn.log entry).
//
// RecordFromProto serves unary Score calls and the stream batches that
// core/record_wire.h declines; most streamed records go through
// RecordFromFields instead (the same checks and errors, from the fields the
// wire reader read). It copies the 41 features with the generated accessors
// (no protobuf reflection), checks the string sizes, then runs
// ValidateRecord, so a bad value is reported exactly as the text parser
// reports it, e.g. "field 5 (src_bytes): negative value -1".
//
// The proto's field number n is the 1-based NSL-KDD column, i.e. feature
// index n - 1; tests/core/record_proto_test.cc checks with reflection that
// every field's name equals FeatureName(n - 1).
//
// Thread-safety: pure functions.
#ifndef DWAE_CORE_RECORD_PROTO_H_
#define DWAE_CORE_RECORD_PROTO_H_

#include <array>
#include <cstddef>
#include <string>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/connection.h"
#include "core/record.h"
#include "core/record_reader.h"
#include "dwae/v1/record.pb.h"

namespace dwae {

// Size limits (bytes) for the strings of a v1::Record.
inline constexpr size_t kMaxRecordIdBytes = 128;
inline constexpr size_t kMaxSensorIdBytes = 128;
inline constexpr size_t kMaxLabelBytes = 64;
inline constexpr size_t kMaxCategoricalBytes = 32;
// Size limits (bytes) for the strings of a v1::Connection (uid, sensor_id
// and id as for records, label as kMaxLabelBytes).
inline constexpr size_t kMaxHostBytes = 64;       // id.orig_h, id.resp_h
inline constexpr size_t kMaxZeekTokenBytes = 32;  // proto, conn_state
inline constexpr size_t kMaxServiceBytes = 64;    // service
inline constexpr size_t kMaxHistoryBytes = 128;   // history

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
// The same into `*record`, every field overwritten (so the daemon can reuse
// one Record, and its strings' buffers, batch after batch). On an error
// `*record` holds a partial conversion.
absl::Status RecordFromProto(const v1::Record& proto, Record* record);

// The parts of a v1::Record that RecordFromProto reads, as plain data (the
// views point into the message or its wire bytes).
struct RecordFields {
  absl::string_view id;
  absl::string_view sensor_id;
  absl::string_view label;
  bool has_features = false;
  absl::string_view protocol_type;
  absl::string_view service;
  absl::string_view flag;
  // numeric[i]: feature i as sent (the categorical slots are ignored).
  std::array<double, kNumFeatures> numeric{};
};

// RecordFromProto's checks and conversion, on a record's fields however
// they were read (the Stream RPC's wire parser, core/record_wire.h): the
// same errors in the same order.
absl::Status RecordFromFields(const RecordFields& fields, Record* record);

// Writes the 41 features of `record` into `features` (every field is set).
void RecordToProto(const Record& record, v1::Features* features);

// A full wire record: the features, `id`, `sensor_id` and the label.
v1::Record RecordToProto(const Record& record, absl::string_view id,
                         absl::string_view sensor_id);

// Converts a wire connection. Errors (all INVALID_ARGUMENT) name the field
// by its Zeek column: "uid: 300 bytes, limit is 128", "id.resp_p: port
// 70000 outside [0, 65535]", and whatever ValidateConnection reports.
// `sensor_id` and `id` are checked, not copied (they are not part of a
// Connection).
absl::StatusOr<Connection> ConnectionFromProto(const v1::Connection& proto);

// The wire form of `connection`, with `sensor_id` and `id` (empty: none;
// a verdict's id is the uid when there is one).
v1::Connection ConnectionToProto(const Connection& connection,
                                 absl::string_view id,
                                 absl::string_view sensor_id);

// What RecordFromProto and ConnectionFromProto check, for an entry parsed
// from text (record_reader.h) that reaches the daemon without a wire
// message (the Kafka consumer): the size limits above on its strings, `id`
// and `sensor_id`, and ValidateConnection for a connection (the text
// parsers already check a record's values). Errors name the field as those
// functions do, e.g. "sensor_id: 300 bytes, limit is 128".
absl::Status CheckParsedEntry(const Entry& entry, absl::string_view id,
                              absl::string_view sensor_id);

// One entry on the wire: KDD features or a Zeek connection.
using WireEntry = std::variant<v1::Record, v1::Connection>;

// The wire form of a parsed entry (record_reader.h). A connection carries
// `id` only when it has no uid (its verdict's id is the uid).
WireEntry EntryToProto(const Entry& entry, absl::string_view id,
                       absl::string_view sensor_id);

// The label of an entry ("" when it has none) and whether it selects
// `filter`: "normal" selects the normal rows of every format ("normal" in
// KDD files, "Benign" in Zeek logs), any other value its exact label.
const std::string& EntryLabel(const Entry& entry);
bool EntryMatchesLabel(const Entry& entry, absl::string_view filter);

// How a label echoed in a verdict counts, in a stream of `schema`: kKdd:
// "normal" is normal, any other non-empty label an attack; kZeek: as
// ZeekLabelKind ("Benign" normal, "Malicious..." attack, else unlabeled).
LabelKind LabelKindOf(FeatureSchema schema, const std::string& label);

// The id a verdict of `proto` carries: its uid, or its id without one.
const std::string& ConnectionVerdictId(const v1::Connection& proto);

}  // namespace dwae

#endif  // DWAE_CORE_RECORD_PROTO_H_
