#include "server/kafka_records.h"

#include <variant>

#include "absl/strings/str_cat.h"
#include "core/record_proto.h"

namespace dwae::server {

absl::StatusOr<std::unique_ptr<KafkaRecordDecoder>> KafkaRecordDecoder::Create(
    absl::string_view format) {
  absl::StatusOr<InputFormat> parsed = ParseInputFormat(format);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("kafka format: ", parsed.status().message()));
  }
  if (*parsed != InputFormat::kNslKdd && *parsed != InputFormat::kKdd99) {
    return absl::UnimplementedError(absl::StrCat(
        "kafka format '", format,
        "': this dwaed consumes nsl-kdd and kdd99 (Zeek connections need "
        "the daemon's connection path)"));
  }
  return std::unique_ptr<KafkaRecordDecoder>(new KafkaRecordDecoder(*parsed));
}

absl::Status KafkaRecordDecoder::Decode(
    const KafkaMessageRef& message,
    google::protobuf::RepeatedPtrField<v1::Record>* records) {
  absl::StatusOr<bool> got = reader_.Next(message.value, &entry_);
  if (!got.ok()) return got.status();
  if (!*got) return absl::InvalidArgumentError("value: holds no record");
  const Record* record = std::get_if<Record>(&entry_);
  if (record == nullptr) {
    return absl::InvalidArgumentError("value: not a KDD record");
  }
  v1::Record* out = records->Add();
  out->Clear();
  RecordToProto(*record, out->mutable_features());
  out->set_id(
      absl::StrCat(message.topic, ":", message.partition, ":", message.offset));
  out->set_sensor_id(std::string(message.key));
  out->set_label(record->label);
  return absl::OkStatus();
}

}  // namespace dwae::server
