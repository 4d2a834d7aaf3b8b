// Helpers shared by dwaed's Kafka consumer and verdict producer: building a
// librdkafka configuration from KafkaOptions, and a rate-limited log.
//
// Thread-safety: MakeKafkaConf is a pure function; RateLimitedLog is
// thread-safe.
#ifndef DWAE_SERVER_KAFKA_CONF_H_
#define DWAE_SERVER_KAFKA_CONF_H_

#include <librdkafka/rdkafkacpp.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/kafka_options.h"

namespace dwae::server {

// A global configuration with bootstrap.servers, then `defaults` (dwaed's
// own settings), then options.properties (the operator's, which win). An
// unknown or invalid property is an error naming it.
absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeKafkaConf(
    const KafkaOptions& options,
    const std::vector<std::pair<std::string, std::string>>& defaults);

// Sets one property; an error naming it and librdkafka's reason.
absl::Status SetKafkaProperty(RdKafka::Conf* conf, const std::string& key,
                              const std::string& value);

// Writes "dwaed: kafka: MESSAGE" to stderr at most `per_interval` times per
// `interval`; says how many lines it held back when it writes again.
class RateLimitedLog {
 public:
  RateLimitedLog(int per_interval, absl::Duration interval)
      : per_interval_(per_interval), interval_(interval) {}
  void Log(const std::string& message) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const int per_interval_;
  const absl::Duration interval_;
  absl::Mutex mu_;
  absl::Time window_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int in_window_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t suppressed_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace dwae::server

#endif  // DWAE_SERVER_KAFKA_CONF_H_
