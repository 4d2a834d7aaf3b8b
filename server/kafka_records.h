// KafkaRecordDecoder: the one place where dwaed's Kafka consumer turns a
// message into an entry the engine scores (Engine::ScoreEntries). The text
// itself is parsed by core's RecordReader (core/record_reader.h), the parser
// every command and the daemon share, straight into the entry: no wire
// message in between (a round trip through dwae.v1.Record cost more than
// the parse). The entry is checked as the Stream path checks a wire
// message (core/record_proto.h CheckParsedEntry). This adds what Kafka
// gives: the message key is the sensor id, and the record id is the
// record's own id if the format has one (Zeek's uid), else
// "TOPIC:PARTITION:OFFSET".
//
// Formats: nsl-kdd and kdd99 (one CSV line per message) become records;
// zeek-json (one conn.log JSON object per message, as Zeek's Kafka writer
// sends) and zeek (one conn.log TSV line per message, in Zeek's default
// columns unless a message carries its own header lines) become
// connections, which the engine featurizes per sensor (server/featurizer.h).
//
// Thread-safety: not thread-safe (the reader keeps Zeek header state); one
// decoder per consumer thread.
#ifndef DWAE_SERVER_KAFKA_RECORDS_H_
#define DWAE_SERVER_KAFKA_RECORDS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/record_reader.h"
#include "server/featurizer.h"

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
  // An error names the format when it is not one dwaed can consume.
  static absl::StatusOr<std::unique_ptr<KafkaRecordDecoder>> Create(
      absl::string_view format);

  // Fills `entry` (which may hold an earlier message's entry: its storage
  // is reused) with the message's record or connection, OK status, and
  // id and sensor_id pointing at `id` and `sensor_id` (filled here; they
  // must outlive the entry's scoring) or at the connection's uid. An error
  // says why the value is neither (e.g. "field 5 (src_bytes): not a number:
  // 'abc'"); `entry` must then not be scored.
  absl::Status Decode(const KafkaMessageRef& message, BatchEntry* entry,
                      std::string* id, std::string* sensor_id);

  // The schema of every entry this decoder makes.
  FeatureSchema schema() const { return schema_; }

 private:
  KafkaRecordDecoder(InputFormat format, FeatureSchema schema)
      : reader_(format), schema_(schema) {}
  RecordReader reader_;
  const FeatureSchema schema_;
  Entry entry_;
};

}  // namespace dwae::server

#endif  // DWAE_SERVER_KAFKA_RECORDS_H_
