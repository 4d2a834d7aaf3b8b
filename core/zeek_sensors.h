// ZeekSensorSet: the window state of every sensor a daemon hears from, one
// ZeekFeatureExtractor each, in bounded memory.
//
// A sensor is named by the sensor id its records carry (any string; "" is a
// sensor too). At most `max_sensors` are kept; a connection from a new
// sensor when the set is full evicts the least recently seen one (its
// window state is lost and rebuilt if it comes back; counted in
// sensors_evicted). Window state is never persisted: after a restart the
// first connections of each sensor see short windows.
//
// Counters (ZeekSensorCounters) are totals over the set's life, for the
// server's metrics; they include evicted sensors.
//
// Thread-safety: every method may be called from any thread; Extract()
// serializes on one mutex (per-sensor order is the order of the calls).
#ifndef DWAE_CORE_ZEEK_SENSORS_H_
#define DWAE_CORE_ZEEK_SENSORS_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "core/connection.h"
#include "core/record.h"
#include "core/zeek_features.h"

namespace dwae {

struct ZeekSensorOptions {
  ZeekFeatureOptions features;
  size_t max_sensors = 256;

  absl::Status Validate() const;
};

struct ZeekSensorCounters {
  uint64_t connections = 0;         // extracted
  uint64_t late = 0;                // later than features.lateness_seconds
  uint64_t window_overflow = 0;     // forgotten early (max_window_connections)
  uint64_t sensors_evicted = 0;     // least recently seen, dropped
  uint64_t sensors_active = 0;      // now in the set
  uint64_t window_connections = 0;  // connections held now, all sensors
};

class ZeekSensorSet {
 public:
  static absl::StatusOr<std::unique_ptr<ZeekSensorSet>> Create(
      const ZeekSensorOptions& options);

  // Extracts the features of `c` (ZeekFeatureExtractor::Extract) with the
  // window state of `sensor`. Returns true when `c` was late.
  bool Extract(absl::string_view sensor, const Connection& c, Record* out)
      ABSL_LOCKS_EXCLUDED(mu_);

  ZeekSensorCounters counters() const ABSL_LOCKS_EXCLUDED(mu_);
  const ZeekSensorOptions& options() const { return options_; }

 private:
  struct Sensor {
    std::string name;
    ZeekFeatureExtractor extractor;
  };
  using SensorList = std::list<Sensor>;

  explicit ZeekSensorSet(const ZeekSensorOptions& options)
      : options_(options) {}
  Sensor& Find(absl::string_view sensor) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ZeekSensorOptions options_;
  mutable absl::Mutex mu_;
  // Most recently seen first.
  SensorList sensors_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, SensorList::iterator> index_
      ABSL_GUARDED_BY(mu_);
  // Totals of evicted sensors.
  uint64_t evicted_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t evicted_connections_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t evicted_late_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t evicted_overflow_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace dwae

#endif  // DWAE_CORE_ZEEK_SENSORS_H_
