// Featurizer: the daemon's one way from a wire batch to model rows.
//
// A batch holds KDD records (dwae.v1.Record, features computed by the
// sender) or Zeek connections (dwae.v1.Connection, featurized here). Convert
// checks every entry (core/record_proto.h: errors name the field) and
// refuses an id repeated within the batch; Extract then turns the valid
// connections into feature rows with the window state of their sensor
// (core/zeek_sensors.h: one ZeekFeatureExtractor per sensor_id, at most
// max_sensors, the least recently seen evicted), in batch order, so one
// sensor's connections must come in the order it logged them.
//
// Extract is kept apart from Convert so that the engine can first settle
// the model's schema (a fresh daemon takes the schema of the first valid
// entry) and never feeds the windows connections a kdd model will refuse.
//
// Metrics (the daemon's one registry, no per-sensor labels):
//   dwae_zeek_connections_total            connections featurized
//   dwae_zeek_late_connections_total       ended later than the lateness
//                                          bound (still featurized)
//   dwae_zeek_window_overflow_total        forgotten early by the per-sensor
//                                          window bound
//   dwae_zeek_sensors_evicted_total        least recently seen, dropped
//   dwae_zeek_sensors                      sensors with window state now
//   dwae_zeek_window_connections           connections held in windows now
//
// Thread-safety: every method may be called from any thread (the sensor
// set and the metric baselines have their own mutexes).
#ifndef DWAE_SERVER_FEATURIZER_H_
#define DWAE_SERVER_FEATURIZER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/connection.h"
#include "core/feature_schema.h"
#include "core/record.h"
#include "core/zeek_sensors.h"
#include "dwae/v1/record.pb.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace dwae::server {

// One entry of a batch on its way to a verdict.
struct BatchEntry {
  // Echoed in the verdict: the record's id, or the connection's uid (its
  // id without one); point into the batch, which outlives the entry.
  const std::string* id = nullptr;
  const std::string* sensor_id = nullptr;
  // Not OK: the verdict carries this error, nothing else happens.
  absl::Status status;
  // The model row: set by Convert for records, by Extract for connections.
  Record record;
  // Connections only, between Convert and Extract.
  Connection connection;
  bool is_connection = false;
};

class Featurizer {
 public:
  // Registers the dwae_zeek_* families in `registry` (which must outlive
  // the featurizer). Errors: invalid options, naming the option.
  static absl::StatusOr<std::unique_ptr<Featurizer>> Create(
      const ZeekSensorOptions& options, prometheus::Registry* registry);

  // Converts `records` (schema kdd) or `connections` (schema zeek) into
  // `out`, one entry each, in order, replacing what it held (records reuse
  // its entries: keep the vector from batch to batch).
  void Convert(const google::protobuf::RepeatedPtrField<v1::Record>& records,
               std::vector<BatchEntry>* out) const;
  void Convert(
      const google::protobuf::RepeatedPtrField<v1::Connection>& connections,
      std::vector<BatchEntry>* out) const;

  // The records' side of Convert, for any source of records: resizes
  // `out` to n (reusing its entries), has convert(i, &entry) set entry i's
  // id, sensor_id, record and status, and refuses repeated ids. Convert
  // uses it for v1::Record messages, the Stream wire reader for records
  // read from the bytes (server/service_wire.h).
  template <typename ConvertOne>
  static void ConvertRecords(size_t n, std::vector<BatchEntry>* out,
                             ConvertOne&& convert) {
    out->resize(n);
    for (size_t i = 0; i < n; ++i) {
      BatchEntry& e = (*out)[i];
      e.is_connection = false;
      convert(i, &e);
    }
    RefuseDuplicateIds(out, 0);
  }

  // Marks every entry from `first` on whose id repeats an earlier non-empty
  // id of the batch (Convert does it; so must a caller that builds entries
  // itself). The ids must stay alive during the call.
  static void RefuseDuplicateIds(std::vector<BatchEntry>* entries,
                                 size_t first);

  // Fills the record of every valid connection entry, in order, and
  // refreshes the metrics.
  void Extract(std::vector<BatchEntry>* entries);

  ZeekSensorCounters counters() const { return sensors_->counters(); }

 private:
  Featurizer(std::unique_ptr<ZeekSensorSet> sensors,
             prometheus::Registry* registry);
  void ExportMetrics() ABSL_LOCKS_EXCLUDED(metrics_mu_);

  std::unique_ptr<ZeekSensorSet> sensors_;
  prometheus::Counter& connections_;
  prometheus::Counter& late_;
  prometheus::Counter& overflow_;
  prometheus::Counter& evicted_;
  prometheus::Gauge& sensors_gauge_;
  prometheus::Gauge& window_gauge_;
  absl::Mutex metrics_mu_;
  // The totals already added to the counters.
  ZeekSensorCounters exported_ ABSL_GUARDED_BY(metrics_mu_);
};

}  // namespace dwae::server

#endif  // DWAE_SERVER_FEATURIZER_H_
