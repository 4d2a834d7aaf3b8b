// StreamBatchReader: the Stream RPC's way from a received RecordBatch's
// bytes to the engine's batch entries without protobuf messages, for the
// batches core/record_wire.h takes (KDD records with only the known fields,
// ASCII strings: what dwae's clients send). It converts every record with
// RecordFromFields (RecordFromProto's checks and errors) and refuses
// repeated ids as Featurizer::Convert does, so the engine sees the entries
// the protobuf path would build. A batch it declines goes the protobuf way,
// but for one it would take if it were not larger than the engine's limit:
// that one the handler refuses with WriteRefusal's bytes, which are those
// the protobuf way would answer.
//
// Thread-safety: one per stream, used by the stream's handler thread only.
// The entries' ids point into the reader: valid until the next Read.
#ifndef DWAE_SERVER_SERVICE_WIRE_H_
#define DWAE_SERVER_SERVICE_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/record_wire.h"
#include "dwae/v1/detector.pb.h"
#include "grpcpp/support/byte_buffer.h"
#include "server/featurizer.h"

namespace dwae::server {

class StreamBatchReader {
 public:
  // `max_records`: the engine's batch limit (Engine::max_batch_records). A
  // larger batch is declined, and its entries are not built, so that one
  // message packed with empty records cannot grow the reader's buffers
  // (kept for the stream's life) past the limit. If it is declined for its
  // size alone (over_limit), the caller refuses it with WriteRefusal, as
  // the engine would after protobuf parsed it; else protobuf parses it.
  explicit StreamBatchReader(size_t max_records) : max_records_(max_records) {}

  // True when the batch in `message` was read into entries(); false when
  // declined (nothing to undo: parse it with protobuf, or refuse it).
  // `message` must stay alive and unchanged until the next Read while
  // WriteRefusal may be called.
  bool Read(const grpc::ByteBuffer& message);

  // After a Read that declined: the batch's number of records when the
  // reader declined it only for holding more than max_records (the reader
  // takes every record and field of it; learning() is its mode), else 0.
  size_t over_limit() const { return wire_.over_limit; }

  // After a Read with over_limit(): writes the serialized VerdictBatch that
  // refuses the batch with `status`, one verdict per record (its id and
  // sensor_id, error_code and error_message: status's code and message),
  // into the buffer allocate(size) returns: the same bytes as serializing
  // the VerdictBatch the Stream handler builds for a batch the engine
  // refuses after protobuf parsed it.
  void WriteRefusal(const absl::Status& status,
                    absl::FunctionRef<char*(size_t)> allocate) const;

  std::vector<BatchEntry>* entries() { return &entries_; }
  v1::LearningMode learning() const { return v1::LearningMode(wire_.learning); }
  uint32_t top_k() const { return wire_.top_k; }

 private:
  const size_t max_records_;
  RecordBatchWire wire_;
  std::vector<BatchEntry> entries_;
  // The entries' ids and sensor ids (their buffers kept between batches).
  std::vector<std::string> ids_;
  std::vector<std::string> sensor_ids_;
  // A message received in several slices, joined.
  std::string joined_;
  // The bytes of the message given to the last Read.
  absl::string_view bytes_;
};

}  // namespace dwae::server

#endif  // DWAE_SERVER_SERVICE_WIRE_H_
