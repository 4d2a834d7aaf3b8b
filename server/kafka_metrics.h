// The Kafka consumer's Prometheus metrics, registered in the daemon's one
// registry (server/metrics.h). Partition lag carries topic and partition
// labels: partitions are bounded by the topics' configuration, so the label
// set is too; a partition's series goes away when the replica loses it.
//
// Thread-safety: prometheus-cpp metrics are thread-safe; LagGauge/RemoveLag
// are guarded by an internal mutex.
#ifndef DWAE_SERVER_KAFKA_METRICS_H_
#define DWAE_SERVER_KAFKA_METRICS_H_

#include <cstdint>
#include <string>

#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace dwae::server {

class KafkaMetrics {
 public:
  explicit KafkaMetrics(prometheus::Registry& registry);

  prometheus::Counter& consumed() { return *consumed_; }
  prometheus::Counter& bad_messages() { return *bad_; }
  prometheus::Counter& verdicts_produced() { return *verdicts_; }
  prometheus::Counter& verdict_failures() { return *verdict_failures_; }
  prometheus::Counter& rebalances() { return *rebalances_; }
  prometheus::Counter& commits() { return *commits_; }
  prometheus::Counter& commit_failures() { return *commit_failures_; }
  prometheus::Counter& pauses() { return *pauses_; }
  prometheus::Gauge& assigned_partitions() { return *assigned_; }

  // dwae_kafka_consumer_lag_records{topic,partition}, created on first use.
  prometheus::Gauge& LagGauge(const std::string& topic, int32_t partition);
  void RemoveLag(const std::string& topic, int32_t partition);

 private:
  prometheus::Counter *consumed_, *bad_, *verdicts_, *verdict_failures_,
      *rebalances_, *commits_, *commit_failures_, *pauses_;
  prometheus::Gauge* assigned_;
  absl::Mutex mu_;
  prometheus::Family<prometheus::Gauge>* lag_ ABSL_GUARDED_BY(mu_);
};

}  // namespace dwae::server

#endif  // DWAE_SERVER_KAFKA_METRICS_H_
