#include "server/service_wire.h"

#include <cassert>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/record_proto.h"
#include "grpcpp/support/slice.h"
#include "server/engine_verdicts.h"

namespace dwae::server {

bool StreamBatchReader::Read(const grpc::ByteBuffer& message) {
  grpc::Slice single;
  absl::string_view bytes;
  if (message.TrySingleSlice(&single).ok()) {
    bytes = absl::string_view(reinterpret_cast<const char*>(single.begin()),
                              single.size());
  } else {
    std::vector<grpc::Slice> slices;
    if (!message.Dump(&slices).ok()) return false;
    joined_.clear();
    for (const grpc::Slice& s : slices) {
      joined_.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    bytes = joined_;
  }
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

void StreamBatchReader::WriteRefusal(
    const absl::Status& status,
    absl::FunctionRef<char*(size_t)> allocate) const {
  // Written kChunk rows at a time (the bytes of a VerdictBatch are its
  // verdicts' one after the other), so that a message packed with empty
  // records costs no VerdictRow each.
  constexpr size_t kChunk = 256;
  std::vector<VerdictRow> rows(kChunk);
  std::vector<std::string> ids(kChunk), sensor_ids(kChunk);
  for (size_t i = 0; i < kChunk; ++i) {
    rows[i].id = &ids[i];
    rows[i].sensor_id = &sensor_ids[i];
    rows[i].error_code = int32_t(status.code());
    rows[i].error_message = std::string(status.message());
  }
  std::string out;
  size_t n = 0;
  auto flush = [&] {
    AppendVerdictBatchWire(rows.data(), n, FeatureSchema::kKdd, &out);
    n = 0;
  };
  const bool read =
      VisitRecordBatchWire(bytes_, [&](const RecordFields& fields) {
        ids[n].assign(fields.id.data(), fields.id.size());
        sensor_ids[n].assign(fields.sensor_id.data(), fields.sensor_id.size());
        if (++n == kChunk) flush();
      });
  assert(read && "WriteRefusal after a Read that over_limit does not cover");
  (void)read;
  flush();
  char* buffer = allocate(out.size());
  if (!out.empty()) std::memcpy(buffer, out.data(), out.size());
}

}  // namespace dwae::server
