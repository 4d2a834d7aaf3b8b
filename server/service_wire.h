// StreamBatchReader: the Stream RPC's way from a received RecordBatch's
// bytes to the engine's batch entries without protobuf messages, for the
// batches core/record_wire.h takes (KDD records with only the known fields,
// ASCII strings: what dwae's clients send). It converts every record with
// RecordFromFields (RecordFromProto's checks and errors) and refuses
// repeated ids as Featurizer::Convert does, so the engine sees the entries
// the protobuf path would build. A batch it declines goes the protobuf way.
//
// Thread-safety: one per stream, used by the stream's handler thread only.
// The entries' ids point into the reader: valid until the next Read.
#ifndef DWAE_SERVER_SERVICE_WIRE_H_
#define DWAE_SERVER_SERVICE_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/record_wire.h"
#include "dwae/v1/detector.pb.h"
#include "grpcpp/support/byte_buffer.h"
#include "server/featurizer.h"

namespace dwae::server {

class StreamBatchReader {
 public:
  // `max_records`: the engine's batch limit (Engine::max_batch_records). A
  // larger batch is declined before its records are read, so that one
  // message packed with empty records cannot grow the reader's buffers
  // (kept for the stream's life) past the limit; protobuf then parses it
  // and the engine refuses it as before.
  explicit StreamBatchReader(size_t max_records) : max_records_(max_records) {}

  // True when the batch in `message` was read into entries(); false when
  // declined (nothing to undo: parse it with protobuf).
  bool Read(const grpc::ByteBuffer& message);

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
};

}  // namespace dwae::server

#endif  // DWAE_SERVER_SERVICE_WIRE_H_
