#include "server/service_wire.h"

#include <vector>

#include "absl/strings/string_view.h"
#include "core/record_proto.h"
#include "grpcpp/support/slice.h"

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

}  // namespace dwae::server
