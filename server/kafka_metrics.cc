#include "server/kafka_metrics.h"

#include <map>

#include "server/metrics.h"

namespace dwae::server {
namespace {

std::map<std::string, std::string> Labels(const std::string& topic,
                                          int32_t partition) {
  return {{"topic", topic}, {"partition", std::to_string(partition)}};
}

}  // namespace

KafkaMetrics::KafkaMetrics(prometheus::Registry& r)
    : consumed_(
          &RegisterCounter(r, "dwae_kafka_records_consumed_total",
                           "Kafka messages consumed and handed to scoring "
                           "(including bad ones).")),
      bad_(
          &RegisterCounter(r, "dwae_kafka_bad_messages_total",
                           "Kafka messages that were not a valid record in the "
                           "configured format; skipped, consumption goes on.")),
      verdicts_(&RegisterCounter(r, "dwae_kafka_verdicts_produced_total",
                                 "Verdicts delivered to the verdicts topic.")),
      verdict_failures_(
          &RegisterCounter(r, "dwae_kafka_verdict_failures_total",
                           "Verdicts the producer failed to deliver.")),
      rebalances_(
          &RegisterCounter(r, "dwae_kafka_rebalances_total",
                           "Consumer-group rebalances this replica took part "
                           "in (assignments and revocations).")),
      commits_(
          &RegisterCounter(r, "dwae_kafka_commits_total",
                           "Offset commits to Kafka that succeeded (each after "
                           "a durable checkpoint).")),
      commit_failures_(
          &RegisterCounter(r, "dwae_kafka_commit_failures_total",
                           "Offset commits to Kafka that failed.")),
      pauses_(&RegisterCounter(
          r, "dwae_kafka_pauses_total",
          "Times consumption paused because the learn queue was "
          "full (back-pressure).")),
      assigned_(&prometheus::BuildGauge()
                     .Name("dwae_kafka_assigned_partitions")
                     .Help("Partitions assigned to this replica.")
                     .Register(r)
                     .Add({})),
      lag_(&prometheus::BuildGauge()
                .Name("dwae_kafka_consumer_lag_records")
                .Help("Records in the partition after this replica's "
                      "position (high watermark - position).")
                .Register(r)) {}

prometheus::Gauge& KafkaMetrics::LagGauge(const std::string& topic,
                                          int32_t partition) {
  absl::MutexLock lock(&mu_);
  return lag_->Add(Labels(topic, partition));
}

void KafkaMetrics::RemoveLag(const std::string& topic, int32_t partition) {
  absl::MutexLock lock(&mu_);
  prometheus::Gauge& g = lag_->Add(Labels(topic, partition));
  lag_->Remove(&g);
}

}  // namespace dwae::server
