// KafkaConsumer: dwaed as a member of a Kafka consumer group. It consumes
// the sensors' topics in batches, decodes each message straight into an
// engine entry (kafka_records.h), scores and learns it through
// Engine::ScoreEntries exactly as the Stream RPC does through Engine::Score
// (same learning policy, same metrics), optionally
// produces verdicts to a topic (kafka_verdicts.h), and keeps its partitions'
// positions in the engine's checkpoint (kafka_positions.h): offsets go to
// Kafka only after a checkpoint holding them is durable, and a restart
// resumes from the checkpoint's offsets, so each record is learned once by
// the model that owns it. docs/kafka.md describes the guarantees.
//
// Back-pressure: when the learn queue has no room for the next batch, the
// consumer pauses its partitions (Kafka stops fetching for it) until there
// is, instead of dropping records.
//
// Files: kafka_batches.cc holds the consumer thread's data path (fetch,
// decode, score, verdicts), kafka_consumer.cc the lifecycle, group
// membership and offsets.
//
// Threads: one consumer thread (Start) polls, scores, produces verdicts and
// commits; the engine's checkpointing thread calls the CheckpointedSource
// methods; FillModelInfo runs on gRPC threads.
//
// Lifecycle: Create -> Start -> StopConsuming (no more scoring) -> the
// engine's final checkpoint (Engine::Stop) -> Close (commits the final
// offsets, flushes verdicts, closes the consumer; a static member stays in
// the group until its session times out, so a quick restart gets its
// partitions back without a rebalance). The destructor calls both.
#ifndef DWAE_SERVER_KAFKA_CONSUMER_H_
#define DWAE_SERVER_KAFKA_CONSUMER_H_

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "server/engine.h"
#include "server/kafka_conf.h"
#include "server/kafka_metrics.h"
#include "server/kafka_options.h"
#include "server/kafka_positions.h"
#include "server/kafka_records.h"
#include "server/kafka_verdicts.h"
#include "server/metrics.h"

namespace dwae::server {

class KafkaConsumer : public CheckpointedSource {
 public:
  // `engine` and `metrics` must outlive the consumer. `durable` says that
  // the engine writes checkpoints (--state_dir): offsets are then committed
  // after each one; without it they are committed every few seconds once
  // learned (a memory-only model starts over anyway).
  static absl::StatusOr<std::unique_ptr<KafkaConsumer>> Create(
      const KafkaOptions& options, Engine* engine, Metrics* metrics,
      bool durable);
  ~KafkaConsumer() override;

  absl::Status Start();
  void StopConsuming();
  void Close();

  // CheckpointedSource.
  void SaveCheckpoint(uint64_t learn_items_processed,
                      v1::ModelState* state) override;
  void CheckpointDurable(const v1::ModelState& state) override;
  void FillModelInfo(v1::ModelInfo* info) const override;

 private:
  class Callbacks;
  struct PartitionBatch;
  // Owns a list of RdKafka::TopicPartition.
  struct PartitionList {
    std::vector<RdKafka::TopicPartition*> list;
    ~PartitionList() { RdKafka::TopicPartition::destroy(list); }
  };

  KafkaConsumer(const KafkaOptions& options, Engine* engine, Metrics* metrics,
                bool durable);
  // The data path (kafka_batches.cc).
  void Loop();
  // Fills `batch` with up to batch_records messages, waiting up to 100 ms
  // for the first.
  void Collect(std::vector<rd_kafka_message_t*>* batch);
  void Process(const std::vector<rd_kafka_message_t*>& batch);
  // Pauses the assignment until the learn queue has room for `n`.
  void WaitForLearnRoom(size_t n);
  void RefreshLag();

  // Group membership and offsets (kafka_consumer.cc).
  void OnAssign(std::vector<RdKafka::TopicPartition*>& partitions);
  void OnRevoke(std::vector<RdKafka::TopicPartition*>& partitions);
  // Commits the offsets a durable checkpoint (or, without one, the learner)
  // reached, once the verdicts before them are delivered.
  void CommitReady(bool sync);

  const KafkaOptions options_;
  Engine* const engine_;
  KafkaMetrics metrics_;
  const bool durable_;
  std::unique_ptr<KafkaRecordDecoder> decoder_;
  std::unique_ptr<VerdictProducer> producer_;
  std::unique_ptr<Callbacks> callbacks_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  rd_kafka_queue_t* queue_ = nullptr;
  // Mutable: status queries (FillModelInfo) apply the learner's progress.
  mutable KafkaPositions positions_;
  RateLimitedLog bad_log_{10, absl::Seconds(10)};
  RateLimitedLog error_log_{5, absl::Seconds(10)};

  // Messages fetched while paused, handled first by the next batch.
  std::vector<rd_kafka_message_t*> held_;
  // One batch on its way through the engine (consumer thread only), kept
  // across batches so that their storage is reused: the entries, the
  // strings their ids and sensor ids point to, each entry's message.
  std::vector<BatchEntry> entries_;
  std::vector<std::string> ids_, sensors_;
  std::vector<const rd_kafka_message_t*> sources_;
  // The message of a verdict being produced, reused.
  v1::Verdict verdict_;

  mutable absl::Mutex commit_mu_;
  std::optional<v1::KafkaState> to_commit_ ABSL_GUARDED_BY(commit_mu_);
  absl::Time last_memory_commit_ ABSL_GUARDED_BY(commit_mu_);

  std::atomic<bool> paused_{false};
  std::atomic<uint64_t> consumed_{0}, bad_{0}, rebalances_{0}, commits_{0},
      commit_failures_{0}, pauses_{0};
  uint64_t verdicts_reported_ = 0, verdict_failures_reported_ = 0;
  // Revocations so far (consumer thread only): a batch that waited for the
  // learner across one is dropped, not scored.
  uint64_t revocations_ = 0;
  absl::Notification stop_;
  std::thread thread_;
  bool started_ = false, stopped_ = false, closed_ = false;
};

}  // namespace dwae::server

#endif  // DWAE_SERVER_KAFKA_CONSUMER_H_
