// VerdictRow: a verdict as Engine::Score makes it, before it goes out as a
// dwae.v1.Verdict message (unary calls, Kafka) or as bytes (streams), and
// into the verdict window (server/verdict_log.h).
//
// Streams skip the message: WriteVerdictBatchWire (Engine::ScoreToWire,
// ScoreEntriesToWire) writes the serialized VerdictBatch straight from the
// rows into the buffer gRPC sends; AppendVerdictBatchWire, the same into a
// string, serves tests and benchmarks. The bytes are exactly what
// serializing the messages that VerdictRowToProto builds gives (tests
// compare them), so a client cannot tell the two apart; building, sizing,
// serializing and clearing ~500 messages with their strings and timestamps
// cost a streamed record about 1 us before.
//
// Thread-safety: plain data and pure functions.
#ifndef DWAE_SERVER_ENGINE_VERDICTS_H_
#define DWAE_SERVER_ENGINE_VERDICTS_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "core/detector.h"
#include "core/feature_schema.h"
#include "dwae/v1/detector.pb.h"

namespace dwae::server {

struct VerdictRow {
  // The entry's id and sensor id: point into the scored batch, which
  // outlives the row's use.
  const std::string* id = nullptr;
  const std::string* sensor_id = nullptr;
  // Non-zero: an invalid entry; only id, sensor_id and error_message count.
  int32_t error_code = 0;
  std::string error_message;
  double score = 0;
  double threshold = 0;
  bool anomalous = false;
  bool learned = false;
  bool warming_up = false;
  std::string label;
  uint64_t model_version = 0;
  // Set by VerdictLog::Append for a valid row (0: not in the window).
  uint64_t sequence = 0;
  int64_t scored_at_ns = 0;
  // Largest error first; dimensions named in the scoring model's schema.
  int num_top = 0;
  std::array<FeatureDeviation, kMaxTopK> top;

  bool valid() const { return error_code == 0; }
};

// A time in Unix nanoseconds as google.protobuf.Timestamp's two fields
// (truncating division: the times here are after 1970). Every writer of a
// scored_at or checkpoint time uses it, the wire writer included, so that
// the bytes and the messages agree.
struct UnixTime {
  int64_t seconds;
  int32_t nanos;
};
inline UnixTime SplitUnixNanos(int64_t ns) {
  return {ns / 1000000000, static_cast<int32_t>(ns % 1000000000)};
}
inline void SetTimestamp(int64_t ns, google::protobuf::Timestamp* out) {
  const UnixTime t = SplitUnixNanos(ns);
  out->set_seconds(t.seconds);
  out->set_nanos(t.nanos);
}

// The Verdict message of `row` (top features named in `schema`): an
// invalid row sets id, sensor_id, error_code and error_message only; a
// valid one everything else, with scored_at always present.
void VerdictRowToProto(const VerdictRow& row, FeatureSchema schema,
                       v1::Verdict* out);

// Writes the serialized VerdictBatch of rows[0, n) (the bytes of a
// VerdictBatch whose verdicts are VerdictRowToProto of each row) into the
// buffer that `allocate(size)` returns for its size in bytes: the caller
// chooses where the bytes go (the Stream handler: a gRPC slice, so that
// they are not copied again).
void WriteVerdictBatchWire(const VerdictRow* rows, size_t n,
                           FeatureSchema schema,
                           absl::FunctionRef<char*(size_t)> allocate);
// The same, appended to `out`.
void AppendVerdictBatchWire(const VerdictRow* rows, size_t n,
                            FeatureSchema schema, std::string* out);

}  // namespace dwae::server

#endif  // DWAE_SERVER_ENGINE_VERDICTS_H_
