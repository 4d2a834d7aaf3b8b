// StreamBatchReader: the Stream RPC's way from a received RecordBatch's
// bytes to the engine's batch entries without protobuf messages, for the
// batches core/record_wire.h takes (KDD records with only the known fields,
// ASCII strings: what dwae's clients send). It converts every record with
// RecordFromFields (RecordFromProto's checks and errors) and refuses
// repeated ids as Featurizer::Convert does, so the engine sees the entries
// the protobuf path would build. A batch it declines goes the protobuf way,
// but for one it would take if it were not larger than the engine's limit:
// that one the handler refuses as a whole (BatchRefusalBytes) from the
// count alone. For a batch going the protobuf way, CountEntries counts its
// records and connections first, so that one over the limit is refused
// before protobuf builds a message per record.
//
// BatchRefusalBytes: the answer to a batch refused as a whole, the same
// whichever path refused it: a VerdictBatch with no verdicts and the
// batch-level error_code and error_message (detector.proto), a few dozen
// bytes whatever the batch held.
//
// Thread-safety: one per stream, used by the stream's handler thread only.
// The entries' ids point into the reader: valid until the next Read.
#ifndef DWAE_SERVER_SERVICE_WIRE_H_
#define DWAE_SERVER_SERVICE_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/record_wire.h"
#include "dwae/v1/detector.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "server/featurizer.h"

namespace dwae::server {

class StreamBatchReader {
 public:
  // `max_records`: the engine's batch limit (Engine::max_batch_records). A
  // larger batch is declined, and its entries are not built, so that one
  // message packed with empty records cannot grow the reader's buffers
  // (kept for the stream's life) past the limit. If it is declined for its
  // size alone (over_limit), the caller refuses it as a whole, as the
  // engine would after protobuf parsed it; else protobuf parses it.
  explicit StreamBatchReader(size_t max_records) : max_records_(max_records) {}

  // True when the batch in `message` was read into entries(); false when
  // declined (nothing to undo: parse it with protobuf, or refuse it).
  // `message` must stay alive and unchanged until the next Read while
  // CountEntries may be called.
  bool Read(const grpc::ByteBuffer& message);

  // After a Read that declined: the batch's number of records when the
  // reader declined it only for holding more than max_records (the reader
  // takes every record and field of it; learning() is its mode), else 0
  // (also when the message's bytes could not be had).
  size_t over_limit() const { return wire_.over_limit; }

  // After a Read: CountBatchEntries of the message; false when Read could
  // not get its bytes.
  bool CountEntries(size_t* records, size_t* connections) const;

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
  // A message received in one slice: that slice (a small one holds its
  // bytes inline), else a message received in several slices, joined.
  grpc::Slice single_;
  std::string joined_;
  // The bytes of the message given to the last Read (empty when it could
  // not get them).
  absl::string_view bytes_;
};

// The number of top-level records (field 1) and connections (field 4) of
// the serialized RecordBatch or ScoreRequest (they number the two fields
// alike) that `in` reads, skipping every other field and each entry's bytes
// by their length, without reading an entry; false (counts unspecified)
// when the bytes are not a well-formed message. So that a batch over the
// limit is refused before protobuf builds a message per entry.
bool CountBatchEntries(google::protobuf::io::CodedInputStream* in,
                       size_t* records, size_t* connections);

// The serialized VerdictBatch refusing a batch as a whole with `status`
// (not OK): no verdicts, error_code and error_message set.
std::string BatchRefusalBytes(const absl::Status& status);

}  // namespace dwae::server

#endif  // DWAE_SERVER_SERVICE_WIRE_H_
