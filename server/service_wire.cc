#include "server/service_wire.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/record_proto.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/support/slice.h"
#include "proto/byte_buffer_bytes.h"

namespace dwae::server {

bool StreamBatchReader::Read(const grpc::ByteBuffer& message) {
  // Nothing of the message before may outlive a Read that fails early: its
  // count would refuse this message, and its bytes are gone.
  wire_.over_limit = 0;
  bytes_ = absl::string_view();
  single_ = grpc::Slice();
  absl::string_view bytes;
  // The view points into single_ or joined_, kept until the next Read.
  if (!ByteBufferBytes(message, &single_, &joined_, &bytes)) return false;
  bytes_ = bytes;
  if (!wire_.Parse(bytes, max_records_)) return false;

  const size_t n = wire_.records.size();
  if (ids_.size() < n) {
    ids_.resize(n);
    sensor_ids_.resize(n);
  }
  // Reuses the entries (and their records' strings) batch after batch.
  Featurizer::ConvertRecords(n, &entries_, [&](size_t i, BatchEntry* e) {
    const RecordFields& fields = wire_.records[i];
    ids_[i].assign(fields.id.data(), fields.id.size());
    sensor_ids_[i].assign(fields.sensor_id.data(), fields.sensor_id.size());
    e->id = &ids_[i];
    e->sensor_id = &sensor_ids_[i];
    e->status = RecordFromFields(fields, &e->record);
  });
  return true;
}

bool StreamBatchReader::CountEntries(size_t* records,
                                     size_t* connections) const {
  if (bytes_.empty()) return false;
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes_.data()), int(bytes_.size()));
  return CountBatchEntries(&in, records, connections);
}

bool CountBatchEntries(google::protobuf::io::CodedInputStream* in,
                       size_t* records, size_t* connections) {
  using google::protobuf::internal::WireFormatLite;
  static_assert(int(v1::RecordBatch::kRecordsFieldNumber) ==
                    int(v1::ScoreRequest::kRecordsFieldNumber) &&
                int(v1::RecordBatch::kConnectionsFieldNumber) ==
                    int(v1::ScoreRequest::kConnectionsFieldNumber));
  constexpr uint32_t kRecordTag =
      WireFormatLite::MakeTag(v1::RecordBatch::kRecordsFieldNumber,
                              WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
  constexpr uint32_t kConnectionTag =
      WireFormatLite::MakeTag(v1::RecordBatch::kConnectionsFieldNumber,
                              WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
  *records = 0;
  *connections = 0;
  // Each occurrence of a repeated message field is one more element; a
  // record's bytes are skipped by their length, not read.
  while (const uint32_t tag = in->ReadTag()) {
    if (tag == kRecordTag) ++*records;
    if (tag == kConnectionTag) ++*connections;
    if (!WireFormatLite::SkipField(in, tag)) return false;
  }
  return in->ConsumedEntireMessage();
}

std::string BatchRefusalBytes(const absl::Status& status) {
  v1::VerdictBatch refusal;
  refusal.set_error_code(int32_t(status.code()));
  refusal.set_error_message(std::string(status.message()));
  return refusal.SerializeAsString();
}

}  // namespace dwae::server
