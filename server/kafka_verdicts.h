// VerdictProducer: writes dwaed's verdicts to a Kafka topic as JSON, one
// object per verdict, keyed by sensor id, with librdkafka's idempotent
// producer (no duplicates or reordering from the producer's own retries).
//
// A verdict's JSON (docs/kafka.md):
//   {"id": "...", "sensor_id": "...", "score": 0.0123, "threshold": 0.01,
//    "anomalous": true, "top_features": [{"feature": "src_bytes",
//    "squared_error": 0.9, "value": 1.0, "reconstruction": 0.05}, ...],
//    "label": "neptune", "model_version": 42,
//    "scored_at": "2026-12-03T08:00:00.123Z",
//    "source": {"topic": "conn", "partition": 3, "offset": 1234}}
// `label` only when the record had one; `threshold` is null during warm-up
// (infinite).
//
// Delivery is asynchronous; Flush waits for everything produced so far, so
// the consumer commits offsets only after the verdicts of the records below
// them are in Kafka (at-least-once verdicts).
//
// Thread-safety: Produce/Flush/Poll from one thread (the consumer's); the
// counters from any thread.
#ifndef DWAE_SERVER_KAFKA_VERDICTS_H_
#define DWAE_SERVER_KAFKA_VERDICTS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "dwae/v1/detector.pb.h"
#include "server/engine_verdicts.h"
#include "server/kafka_options.h"

namespace RdKafka {
class Producer;
class Topic;
}  // namespace RdKafka

namespace dwae::server {

// Where a verdict's record came from.
struct KafkaSource {
  absl::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
};

// The JSON text of one verdict.
std::string VerdictToJson(const v1::Verdict& verdict,
                          const KafkaSource& source);

class VerdictProducer {
 public:
  // Connects to options.brokers (properties applied last); the topic is
  // options.verdicts_topic.
  static absl::StatusOr<std::unique_ptr<VerdictProducer>> Create(
      const KafkaOptions& options);
  ~VerdictProducer();

  // Whether options.verdicts produces `row`'s verdict (never an invalid
  // row's): the consumer builds messages only for these.
  bool Wants(const VerdictRow& row) const {
    return row.valid() && (row.anomalous || which_ == KafkaVerdicts::kAll);
  }
  // Queues `verdict`, built from a row that Wants: the filter is applied
  // there, before a message is built. Waits (serving delivery reports)
  // while the local queue is full.
  void Produce(const v1::Verdict& verdict, const KafkaSource& source);
  // Serves delivery reports without waiting.
  void Poll();
  // Waits up to `timeout` for every queued verdict to be delivered or to
  // fail; true when nothing is outstanding.
  bool Flush(absl::Duration timeout);

  uint64_t produced() const { return delivered_; }
  uint64_t failed() const { return failed_; }

 private:
  class DeliveryReports;
  VerdictProducer() = default;

  KafkaVerdicts which_ = KafkaVerdicts::kAnomalies;
  std::string topic_name_;
  std::unique_ptr<DeliveryReports> reports_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::atomic<uint64_t> delivered_{0}, failed_{0};
};

}  // namespace dwae::server

#endif  // DWAE_SERVER_KAFKA_VERDICTS_H_
