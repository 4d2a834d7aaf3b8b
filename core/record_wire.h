// A reader of the protobuf wire format of dwae.v1.RecordBatch (proto/dwae/
// v1/detector.proto) for the common case, straight into RecordFields, without
// building the messages.
//
// The Stream RPC receives batches of 512 records; protobuf's parser builds a
// Record, a Features and six strings per record on the arena, which the
// daemon then copies into its own Record: about 0.5 us a record, the largest
// part of a streamed record's time after scoring and learning. This reader
// takes the bytes of a batch that has only what real clients send: records
// (never connections), learning and top_k, the known fields of Record,
// Features and google.protobuf.Timestamp with their declared wire types,
// ASCII strings. Anything else (unknown fields, a repeated `features`,
// non-ASCII strings, 10-byte varints, a malformed message) makes it decline,
// and the caller parses the batch with protobuf as before: what it takes,
// protobuf would parse to the same field values (last occurrence wins, as
// protobuf's), and tests compare the two on random and mutated messages.
//
// Thread-safety: a RecordBatchWire is used by one thread at a time; the
// views in its records point into the parsed bytes.
#ifndef DWAE_CORE_RECORD_WIRE_H_
#define DWAE_CORE_RECORD_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/record_proto.h"

namespace dwae {

struct RecordBatchWire {
  // The batch's records, in order (valid until the next Parse; the vector
  // keeps its capacity).
  std::vector<RecordFields> records;
  int32_t learning = 0;  // v1::LearningMode's number
  uint32_t top_k = 0;

  // When the last Parse declined a batch only for holding more than
  // max_records records (every record and field of it as Parse takes them):
  // its number of records, so that the caller can refuse it without
  // protobuf. Else 0.
  size_t over_limit = 0;

  // Reads `bytes` (a serialized RecordBatch). False: declined, the contents
  // unspecified (but for over_limit). A batch of more than `max_records`
  // records (the largest batch the caller would accept) is declined; its
  // records past the limit are read (for over_limit) into one scratch
  // RecordFields and dropped: `records` never holds more than max_records,
  // however many (empty) records a message packs.
  bool Parse(absl::string_view bytes, size_t max_records);
};

}  // namespace dwae

#endif  // DWAE_CORE_RECORD_WIRE_H_
