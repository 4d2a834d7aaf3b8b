#include "server/kafka_records.h"

#include "absl/strings/str_cat.h"
#include "core/record_proto.h"

namespace dwae::server {

absl::StatusOr<std::unique_ptr<KafkaRecordDecoder>> KafkaRecordDecoder::Create(
    absl::string_view format) {
  absl::StatusOr<RecordFormat> parsed = ParseRecordFormat(format);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kafka format '", format, "': ", parsed.status().message()));
  }
  return std::unique_ptr<KafkaRecordDecoder>(new KafkaRecordDecoder(*parsed));
}

absl::Status KafkaRecordDecoder::Decode(const KafkaMessageRef& message,
                                        v1::Record* out) const {
  absl::StatusOr<Record> record = ParseRecordLine(message.value, format_);
  if (!record.ok()) return record.status();
  out->Clear();
  RecordToProto(*record, out->mutable_features());
  out->set_id(
      absl::StrCat(message.topic, ":", message.partition, ":", message.offset));
  out->set_sensor_id(std::string(message.key));
  out->set_label(record->label);
  return absl::OkStatus();
}

}  // namespace dwae::server
