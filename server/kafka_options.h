// Options of dwaed's Kafka consumer (server/kafka_consumer.h), built once in
// main() from the --kafka_* flags and the `kafka` block of --config. Plain
// values; no flags here. docs/kafka.md explains them.
#ifndef DWAE_SERVER_KAFKA_OPTIONS_H_
#define DWAE_SERVER_KAFKA_OPTIONS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace dwae::server {

// What the verdicts topic receives.
enum class KafkaVerdicts { kAnomalies, kAll };

struct KafkaOptions {
  // bootstrap.servers as host:port,...; empty: Kafka off.
  std::string brokers;
  std::vector<std::string> topics;
  std::string group = "dwaed";
  // A record format name the Kafka record decoder knows (kafka_records.h).
  std::string format = "nsl-kdd";
  // Where a group without committed offsets starts: true = earliest.
  bool start_earliest = true;
  // group.instance.id (static membership); empty: dynamic membership.
  std::string instance_id;
  // Verdicts are produced here when non-empty.
  std::string verdicts_topic;
  KafkaVerdicts verdicts = KafkaVerdicts::kAnomalies;
  // librdkafka properties (KEY, VALUE), applied after dwaed's own, so an
  // operator can override any of them.
  std::vector<std::pair<std::string, std::string>> properties;
  // Records scored per engine call; also bounds what one poll hands over.
  uint32_t batch_records = 2048;
  // How long the consumer blocks waiting for room in the learn queue before
  // it pauses its partitions. A pause makes librdkafka drop what it has
  // prefetched for them and fetch it again after the resume, so a learner
  // that is merely a batch behind is waited for; one that stays busy (a
  // warm-up consolidation) gets the partitions paused.
  absl::Duration pause_after = absl::Milliseconds(500);

  bool enabled() const { return !brokers.empty(); }
};

}  // namespace dwae::server

#endif  // DWAE_SERVER_KAFKA_OPTIONS_H_
