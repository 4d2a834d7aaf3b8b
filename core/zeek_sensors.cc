#include "core/zeek_sensors.h"

#include "absl/strings/str_cat.h"

namespace dwae {

absl::Status ZeekSensorOptions::Validate() const {
  if (max_sensors < 1 || max_sensors > 1000000) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_sensors: ", max_sensors, " is outside [1, 1000000]"));
  }
  return features.Validate();
}

absl::StatusOr<std::unique_ptr<ZeekSensorSet>> ZeekSensorSet::Create(
    const ZeekSensorOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  return std::unique_ptr<ZeekSensorSet>(new ZeekSensorSet(options));
}

ZeekSensorSet::Sensor& ZeekSensorSet::Find(absl::string_view sensor) {
  auto it = index_.find(sensor);
  if (it != index_.end()) {
    sensors_.splice(sensors_.begin(), sensors_, it->second);
    return sensors_.front();
  }
  if (sensors_.size() >= options_.max_sensors) {
    const Sensor& victim = sensors_.back();
    ++evicted_;
    evicted_connections_ += victim.extractor.connections();
    evicted_late_ += victim.extractor.late();
    evicted_overflow_ += victim.extractor.overflowed();
    index_.erase(victim.name);
    sensors_.pop_back();
  }
  sensors_.push_front(
      Sensor{std::string(sensor), ZeekFeatureExtractor(options_.features)});
  index_.emplace(sensors_.front().name, sensors_.begin());
  return sensors_.front();
}

bool ZeekSensorSet::Extract(absl::string_view sensor, const Connection& c,
                            Record* out) {
  absl::MutexLock lock(&mu_);
  return Find(sensor).extractor.Extract(c, out);
}

ZeekSensorCounters ZeekSensorSet::counters() const {
  absl::MutexLock lock(&mu_);
  ZeekSensorCounters c;
  c.connections = evicted_connections_;
  c.late = evicted_late_;
  c.window_overflow = evicted_overflow_;
  c.sensors_evicted = evicted_;
  c.sensors_active = sensors_.size();
  for (const Sensor& s : sensors_) {
    c.connections += s.extractor.connections();
    c.late += s.extractor.late();
    c.window_overflow += s.extractor.overflowed();
    c.window_connections += s.extractor.window_size();
  }
  return c;
}

}  // namespace dwae
