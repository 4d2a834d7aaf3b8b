// KafkaRecordDecoder: the one place where dwaed's Kafka consumer turns a
// message into the wire record the engine's Stream path scores. The format
// itself is parsed by core's record parsers; this adds what Kafka gives:
// the message key is the sensor id, and the record id is the record's own
// id if the format has one (Zeek's uid), else "TOPIC:PARTITION:OFFSET".
//
// Formats: nsl-kdd and kdd99 (one CSV line per message).
//
// Thread-safety: Decode is const and may be called from any thread.
#ifndef DWAE_SERVER_KAFKA_RECORDS_H_
#define DWAE_SERVER_KAFKA_RECORDS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/record.h"
#include "dwae/v1/record.pb.h"

namespace dwae::server {

// Where a message sits in Kafka.
struct KafkaMessageRef {
  absl::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  absl::string_view key;    // the sensor id (may be empty)
  absl::string_view value;  // one record in the decoder's format
};

class KafkaRecordDecoder {
 public:
  // An error names the format when it is not one of the above.
  static absl::StatusOr<std::unique_ptr<KafkaRecordDecoder>> Create(
      absl::string_view format);

  // Fills `out` (cleared first). An error says why the value is not a
  // record (e.g. "field 5 (src_bytes): not a number: 'abc'").
  absl::Status Decode(const KafkaMessageRef& message, v1::Record* out) const;

 private:
  explicit KafkaRecordDecoder(RecordFormat format) : format_(format) {}
  const RecordFormat format_;
};

}  // namespace dwae::server

#endif  // DWAE_SERVER_KAFKA_RECORDS_H_
