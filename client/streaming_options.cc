#include "client/streaming_options.h"

#include "absl/strings/str_cat.h"
#include "core/record_proto.h"

namespace dwae {

absl::Status StreamingOptions::Validate() const {
  if (servers.empty()) return absl::InvalidArgumentError("--server: empty");
  for (size_t i = 0; i < servers.size(); ++i) {
    if (servers[i].empty()) {
      return absl::InvalidArgumentError("--servers: empty entry");
    }
    for (size_t j = 0; j < i; ++j) {
      if (servers[i] == servers[j]) {
        return absl::InvalidArgumentError(
            absl::StrCat("--servers: duplicate entry '", servers[i], "'"));
      }
    }
  }
  if (batch < 1 || batch > kMaxStreamBatch) {
    return absl::InvalidArgumentError(
        absl::StrCat("--batch: must be in [1, ", kMaxStreamBatch, "]"));
  }
  if (max_in_flight < 1 || max_in_flight > kMaxStreamInFlight) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_in_flight: must be in [1, ", kMaxStreamInFlight, "]"));
  }
  if (sensors < 1) return absl::InvalidArgumentError("--sensors: must be >= 1");
  // Room for "-<n mod sensors>" after the sensor id.
  const size_t suffix = sensors > 1 ? 1 + absl::StrCat(sensors - 1).size() : 0;
  if (sensor_id.empty() || sensor_id.size() + suffix > kMaxSensorIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--sensor_id: must be 1 to ", kMaxSensorIdBytes,
        " bytes with the --sensors suffix, is ", sensor_id.size() + suffix));
  }
  if (!(connect_timeout > absl::ZeroDuration())) {
    return absl::InvalidArgumentError("--timeout: must be positive");
  }
  if (!v1::LearningMode_IsValid(learning)) {
    return absl::InvalidArgumentError("--learn: unknown mode");
  }
  return security.Validate();
}

ShardedStreamOptions StreamingOptions::ToShardedStreamOptions() const {
  ShardedStreamOptions so;
  so.servers = servers;
  so.connect_timeout = connect_timeout;
  so.security = security;
  so.learning = learning;
  so.batch = batch;
  so.max_in_flight = max_in_flight;
  return so;
}

std::string StreamingOptions::SensorFor(uint64_t n) const {
  if (sensors <= 1) return sensor_id;
  return absl::StrCat(sensor_id, "-", n % uint64_t(sensors));
}

absl::StatusOr<v1::LearningMode> ParseLearningMode(absl::string_view name) {
  if (name == "default") return v1::LEARNING_MODE_DEFAULT;
  if (name == "all") return v1::LEARNING_MODE_ALL;
  if (name == "gated") return v1::LEARNING_MODE_GATED;
  if (name == "off") return v1::LEARNING_MODE_OFF;
  if (name == "labeled-normal") return v1::LEARNING_MODE_LABELED_NORMAL;
  return absl::InvalidArgumentError(
      absl::StrCat("--learn: unknown mode '", name,
                   "' (default, all, gated, off or labeled-normal)"));
}

const char* LearningModeName(v1::LearningMode mode) {
  switch (mode) {
    case v1::LEARNING_MODE_DEFAULT:
      return "default";
    case v1::LEARNING_MODE_ALL:
      return "all";
    case v1::LEARNING_MODE_GATED:
      return "gated";
    case v1::LEARNING_MODE_OFF:
      return "off";
    case v1::LEARNING_MODE_LABELED_NORMAL:
      return "labeled-normal";
    default:
      return "?";
  }
}

}  // namespace dwae
