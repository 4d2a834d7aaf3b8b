#include "server/featurizer.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/record_proto.h"
#include "server/metrics.h"

namespace dwae::server {
namespace {

// A counter only goes up: add what `now` gained over `before`.
void Advance(prometheus::Counter& counter, uint64_t now, uint64_t before) {
  if (now > before) counter.Increment(double(now - before));
}

}  // namespace

void Featurizer::RefuseDuplicateIds(std::vector<BatchEntry>* entries,
                                    size_t first) {
  // An open-addressing table of the first entry of each id, reused from
  // call to call (sorting (hash, index) pairs cost 80 ns a streamed record,
  // a hash set allocated per batch more). Slot: (hash, index + 1), 0 empty.
  thread_local std::vector<std::pair<uint64_t, size_t>> table;
  const size_t n = entries->size() - std::min(first, entries->size());
  size_t size = 16;
  while (size < 2 * n) size *= 2;
  table.assign(size, {0, 0});
  const size_t mask = size - 1;
  for (size_t i = first; i < entries->size(); ++i) {
    BatchEntry& e = (*entries)[i];
    const std::string& id = *e.id;
    if (id.empty()) continue;
    const uint64_t hash = absl::Hash<absl::string_view>{}(id);
    size_t slot = hash & mask;
    for (; table[slot].second != 0; slot = (slot + 1) & mask) {
      if (table[slot].first != hash) continue;
      const size_t earlier = table[slot].second - 1;
      if (*(*entries)[earlier].id != id) continue;
      // The earliest entry with this id: the one in the table.
      if (e.status.ok()) {
        e.status = absl::InvalidArgumentError(absl::StrCat(
            "id: duplicate of record ", earlier - first, " in this batch"));
      }
      break;
    }
    if (table[slot].second == 0) table[slot] = {hash, i + 1};
  }
}

absl::StatusOr<std::unique_ptr<Featurizer>> Featurizer::Create(
    const ZeekSensorOptions& options, prometheus::Registry* registry) {
  absl::StatusOr<std::unique_ptr<ZeekSensorSet>> sensors =
      ZeekSensorSet::Create(options);
  if (!sensors.ok()) return sensors.status();
  return std::unique_ptr<Featurizer>(
      new Featurizer(*std::move(sensors), registry));
}

Featurizer::Featurizer(std::unique_ptr<ZeekSensorSet> sensors,
                       prometheus::Registry* registry)
    : sensors_(std::move(sensors)),
      connections_(RegisterCounter(*registry, "dwae_zeek_connections_total",
                                   "Zeek connections turned into features")),
      late_(RegisterCounter(
          *registry, "dwae_zeek_late_connections_total",
          "Zeek connections that ended before their sensor's watermark minus "
          "the lateness bound (featurized anyway)")),
      overflow_(
          RegisterCounter(*registry, "dwae_zeek_window_overflow_total",
                          "Connections forgotten early because a sensor's "
                          "window reached its size bound")),
      evicted_(
          RegisterCounter(*registry, "dwae_zeek_sensors_evicted_total",
                          "Sensors whose window state was dropped, least "
                          "recently seen first, to stay within max_sensors")),
      sensors_gauge_(RegisterGauge(*registry, "dwae_zeek_sensors",
                                   "Sensors with feature window state")),
      window_gauge_(RegisterGauge(*registry, "dwae_zeek_window_connections",
                                  "Connections held in the sensors' windows")) {
}

void Featurizer::Convert(
    const google::protobuf::RepeatedPtrField<v1::Record>& records,
    std::vector<BatchEntry>* out) const {
  // Reuses the entries already in *out: constructing and destroying a
  // Record and a Connection per record cost more than the conversion.
  ConvertRecords(size_t(records.size()), out, [&](size_t i, BatchEntry* e) {
    const v1::Record& r = records[int(i)];
    e->id = &r.id();
    e->sensor_id = &r.sensor_id();
    e->status = RecordFromProto(r, &e->record);
  });
}

void Featurizer::Convert(
    const google::protobuf::RepeatedPtrField<v1::Connection>& connections,
    std::vector<BatchEntry>* out) const {
  out->clear();  // a Connection is not overwritten field by field
  out->resize(connections.size());
  for (int i = 0; i < connections.size(); ++i) {
    BatchEntry& e = (*out)[i];
    e.id = &ConnectionVerdictId(connections[i]);
    e.sensor_id = &connections[i].sensor_id();
    e.is_connection = true;
    absl::StatusOr<Connection> c = ConnectionFromProto(connections[i]);
    if (c.ok()) {
      e.connection = *std::move(c);
    } else {
      e.status = c.status();
    }
  }
  RefuseDuplicateIds(out, 0);
}

void Featurizer::Extract(std::vector<BatchEntry>* entries) {
  bool any = false;
  for (BatchEntry& e : *entries) {
    if (!e.is_connection || !e.status.ok()) continue;
    sensors_->Extract(*e.sensor_id, e.connection, &e.record);
    any = true;
  }
  if (any) ExportMetrics();
}

void Featurizer::ExportMetrics() {
  const ZeekSensorCounters now = sensors_->counters();
  absl::MutexLock lock(&metrics_mu_);
  Advance(connections_, now.connections, exported_.connections);
  Advance(late_, now.late, exported_.late);
  Advance(overflow_, now.window_overflow, exported_.window_overflow);
  Advance(evicted_, now.sensors_evicted, exported_.sensors_evicted);
  sensors_gauge_.Set(double(now.sensors_active));
  window_gauge_.Set(double(now.window_connections));
  // Totals never go down (the set counts evicted sensors too), but two
  // exporters may race: keep the largest seen.
  exported_.connections = std::max(exported_.connections, now.connections);
  exported_.late = std::max(exported_.late, now.late);
  exported_.window_overflow =
      std::max(exported_.window_overflow, now.window_overflow);
  exported_.sensors_evicted =
      std::max(exported_.sensors_evicted, now.sensors_evicted);
}

}  // namespace dwae::server
