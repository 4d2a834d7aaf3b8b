// Engine: everything dwaed does, without gRPC: scoring on the callers'
// threads, one learner thread, the published model, the verdict window,
// counters, checkpoints and administration. The gRPC service (service.h) is
// a thin adapter over it, and tests can drive it directly.
//
// Threads:
//   - any thread: Score, QueryVerdicts, GetModelInfo and the admin calls;
//   - the learner thread (Start) takes LearnItems from the queue, feeds the
//     threshold, learns, and publishes a new ScoringModel at most every
//     publish_interval_seconds (immediately when the warm-up ends, and
//     after every batch while a Sync call waits);
//   - the housekeeping thread writes a checkpoint every
//     checkpoint_interval_seconds when a state_dir is set, and refreshes
//     the checkpoint-age and queue-depth gauges every second.
// Scoring reads the published std::shared_ptr<const ScoringModel> and never
// waits for the learner, except when the learn queue is full (back-pressure).
// GetModelInfo reads what the learner published with the model, so it
// answers at once even while the learner consolidates a warm-up.
//
// Lifecycle: Create (restores the checkpoint, or refuses to start on a bad
// one unless start_fresh) -> Start -> Stop (drains the queue, joins the
// threads, writes a final checkpoint). Stop is idempotent; the destructor
// calls it.
#ifndef DWAE_SERVER_ENGINE_H_
#define DWAE_SERVER_ENGINE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "core/detector.h"
#include "core/file_system.h"
#include "dwae/v1/detector.pb.h"
#include "server/engine_verdicts.h"
#include "server/featurizer.h"
#include "server/learn_queue.h"
#include "server/metrics.h"
#include "server/options.h"
#include "server/verdict_log.h"

namespace dwae::server {

// Names the calling thread (at most 15 characters) as `top -H`, `ps -L` and
// perf show it; a no-op where the platform has no thread names.
void NameThisThread(const char* name);

// A record source whose position belongs in the checkpoint beside the model
// (the Kafka consumer, server/kafka_consumer.h), so that a restart resumes
// exactly where the saved model stopped learning.
class CheckpointedSource {
 public:
  virtual ~CheckpointedSource() = default;
  // Called by the checkpointing thread while the learner is between
  // batches: exactly `learn_items_processed` items (Engine::
  // learn_items_queued tickets) have been through the learner. Adds the
  // source's position to `state`.
  virtual void SaveCheckpoint(uint64_t learn_items_processed,
                              v1::ModelState* state) = 0;
  // `state` as saved is now durable on disk.
  virtual void CheckpointDurable(const v1::ModelState& state) = 0;
  virtual void FillModelInfo(v1::ModelInfo* info) const = 0;
};

class Engine {
 public:
  // `metrics` and `fs` must outlive the engine.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(
      const EngineOptions& options, Metrics* metrics, FileSystem* fs);
  ~Engine();

  void Start();
  void Stop();

  // Scores `records` (KDD features) or `connections` (Zeek conn.log
  // entries, featurized per sensor: server/featurizer.h), never both, in
  // order into `out` (one verdict each; an invalid entry, or one of another
  // feature schema than the model's, gets an error verdict) and queues them
  // for the learner according to `mode`. Blocks while the learn queue is
  // full unless drop_when_full. A batch larger than max_batch_records, or
  // with both kinds, is refused as a whole.
  //
  // Schema: a daemon without a checkpoint and without a pinned schema
  // (EngineOptions::schema_pinned) takes the schema of the first valid
  // entry it receives; after that, entries of the other schema are refused
  // one by one, the error naming both schemas.
  absl::Status Score(
      const google::protobuf::RepeatedPtrField<v1::Record>& records,
      const google::protobuf::RepeatedPtrField<v1::Connection>& connections,
      v1::LearningMode mode, uint32_t top_k,
      google::protobuf::RepeatedPtrField<v1::Verdict>* out);
  // Records only.
  absl::Status Score(
      const google::protobuf::RepeatedPtrField<v1::Record>& records,
      v1::LearningMode mode, uint32_t top_k,
      google::protobuf::RepeatedPtrField<v1::Verdict>* out) {
    return Score(records, {}, mode, top_k, out);
  }

  // The largest batch Score and its variants take (ServingPolicy::
  // max_batch_records); a larger one is refused as a whole.
  size_t max_batch_records() const {
    return options_.detector.serving.max_batch_records;
  }
  // The checks of a batch of `size` entries before its entries are read:
  // the size limit, then the learning mode; an error refuses the batch as a
  // whole, as Score and its variants refuse it (the same status). For the
  // Stream handler, which counts an oversized batch without reading it.
  absl::Status CheckBatch(size_t size, v1::LearningMode mode) const;
  // The same for a batch of `records` and `connections` (Score's checks, in
  // its order): first both kinds in one batch, then the size (the error
  // naming the kind the batch holds), then the mode.
  // For the Stream handler, which counts a batch's entries before protobuf
  // parses it.
  absl::Status CheckBatch(size_t records, size_t connections,
                          v1::LearningMode mode) const;

  // Score, with the verdicts as a serialized VerdictBatch (the bytes of the
  // VerdictBatch Score would fill; server/engine_verdicts.h) written into
  // the buffer `allocate(size)` returns, for the Stream RPC, which sends
  // them as they are. `allocate` is called once when the batch is scored
  // (an empty batch: size 0), not at all when it is refused.
  absl::Status ScoreToWire(
      const google::protobuf::RepeatedPtrField<v1::Record>& records,
      const google::protobuf::RepeatedPtrField<v1::Connection>& connections,
      v1::LearningMode mode, uint32_t top_k,
      absl::FunctionRef<char*(size_t)> allocate);

  // The verdicts of a scored batch: rows[0, n), top features in `schema`.
  // The rows are a per-thread buffer, valid until the thread scores again.
  struct ScoredRows {
    VerdictRow* rows = nullptr;
    size_t n = 0;
    FeatureSchema schema = FeatureSchema::kKdd;
  };

  // Scores entries that are already core rows, as Featurizer::Convert
  // leaves them (a bad entry carries its status; ids unique within the
  // batch; connections not yet extracted), all of `schema`: the Kafka
  // consumer parses message values straight into them (server/
  // kafka_records.h), without a wire-message round trip. Same verdicts,
  // learning, metrics and verdict window as Score; the verdicts come back
  // as rows (`scored`, empty on error), so that the consumer builds
  // messages only for the verdicts it produces. The entries' records are
  // moved to the learner; the caller may reuse the vector.
  absl::Status ScoreEntries(FeatureSchema schema,
                            std::vector<BatchEntry>* entries,
                            v1::LearningMode mode, uint32_t top_k,
                            ScoredRows* scored);

  // ScoreEntries of KDD records, with the verdicts written as ScoreToWire
  // writes them: the Stream RPC's path for the batches it reads without
  // protobuf (server/service_wire.h). Same checks, verdicts and bytes as
  // ScoreToWire on the same batch.
  absl::Status ScoreEntriesToWire(std::vector<BatchEntry>* entries,
                                  v1::LearningMode mode, uint32_t top_k,
                                  absl::FunctionRef<char*(size_t)> allocate);

  absl::Status QueryVerdicts(const v1::QueryVerdictsRequest& request,
                             v1::QueryVerdictsResponse* response) const;
  void GetModelInfo(v1::ModelInfo* info) const;
  // Waits until every record queued for the learner before the call has
  // been processed and a model including it published (engine_sync.cc).
  // Errors: DeadlineExceeded at `deadline`, Cancelled when `cancelled`
  // (polled every 100 ms; may be empty) returns true, FailedPrecondition
  // when the learner was never started.
  absl::StatusOr<v1::SyncResponse> Sync(absl::Time deadline,
                                        const std::function<bool()>& cancelled);

  absl::StatusOr<v1::CheckpointResponse> Checkpoint();
  absl::StatusOr<v1::LearningState> SetLearning(v1::LearningState state);
  absl::StatusOr<v1::SetThresholdResponse> SetThreshold(
      const v1::SetThresholdRequest& request);
  absl::Status ResetModel();

  // Registers the source whose position checkpoints carry (at most one;
  // null clears it). It must outlive the engine or be cleared first.
  void SetCheckpointedSource(CheckpointedSource* source);
  // The `kafka` part of the checkpoint restored at Create (empty if none).
  const v1::KafkaState& restored_kafka_state() const { return restored_kafka_; }
  // A ticket: items appended to the learn queue so far. Once
  // learn_items_processed() reaches it, everything scored before is learned.
  uint64_t learn_items_queued() const { return queue_.appended_total(); }
  uint64_t learn_items_processed() const { return processed_; }
  // Waits up to `timeout` for room for `n` records in the learn queue.
  bool WaitForLearnRoom(size_t n, absl::Duration timeout) {
    return queue_.WaitForRoom(n, timeout);
  }
  size_t learn_queue_capacity() const { return queue_.capacity(); }

  // Testing only: `hook` runs on the learner thread when it takes the record
  // that completes the warm-up (whose learning runs the consolidation),
  // after GetModelInfo reports `consolidating` and before the consolidation
  // runs, with the detector lock held: the learner processes and publishes
  // nothing until it returns, while GetModelInfo and Sync still answer. A
  // test blocks in it to hold the learner at that point instead of racing
  // the clock, and must release it before the engine stops. Call before
  // Start; empty: no hook.
  void SetConsolidationHookForTesting(std::function<void()> hook) {
    consolidation_hook_ = std::move(hook);
  }

  // True once a model is loaded (from a checkpoint or fresh).
  bool ready() const { return current_model() != nullptr; }
  std::string checkpoint_path() const;

 private:
  Engine(const EngineOptions& options, Metrics* metrics, FileSystem* fs,
         std::unique_ptr<Detector> detector,
         std::unique_ptr<Featurizer> featurizer);
  void RestoreCounters(const v1::ModelState& state);
  // Score and ScoreToWire up to the verdicts (none for an empty batch).
  absl::Status ConvertAndScore(
      const google::protobuf::RepeatedPtrField<v1::Record>& records,
      const google::protobuf::RepeatedPtrField<v1::Connection>& connections,
      v1::LearningMode mode, uint32_t top_k, ScoredRows* scored);
  // Score and ScoreEntries after their checks; `entries` is not empty:
  // scores, queues for the learner, counts, and appends the verdicts to the
  // window.
  ScoredRows ScoreConverted(FeatureSchema schema,
                            std::vector<BatchEntry>* entries,
                            v1::LearningMode mode, uint32_t top_k);

  std::shared_ptr<const ScoringModel> current_model() const;
  void PublishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(detector_mu_);
  // The learner's part of GetModelInfo, for the model being published.
  void FillLearnerInfoLocked(const ScoringModel& published,
                             v1::ModelInfo* info) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(detector_mu_);
  // Learns or observes one item (the learner thread), flagging a warm-up
  // consolidation while it runs.
  void ProcessLocked(const LearnItem& item)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(detector_mu_);
  void RefreshWarmupProgressLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(detector_mu_);
  // The learner published everything it processed of the first `processed`
  // queue items: wakes Sync calls waiting for them.
  void MarkPublished(uint64_t processed) ABSL_LOCKS_EXCLUDED(sync_mu_);
  void LearnerLoop();
  void HousekeepingLoop();
  void ExportLearnerMetricsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(detector_mu_);
  // What the learner should do with a record under `mode` and the learning
  // state.
  Detector::LearnDecision Decide(v1::LearningMode mode,
                                 const Record& record) const;
  // Counts a scored record into `counts`, which ObserveVerdicts adds to the
  // engine's counters and the metrics once per batch.
  void CountVerdict(const Record& record, bool anomalous, float score,
                    Metrics::VerdictCounts* counts);
  void ObserveVerdicts(const Metrics::VerdictCounts& counts);
  // The model to score entries of `schema` with: a fresh, unpinned engine
  // first switches to a new detector of that schema (see Score).
  std::shared_ptr<const ScoringModel> ModelFor(FeatureSchema schema);

  const EngineOptions options_;
  Metrics* const metrics_;
  FileSystem* const fs_;

  mutable absl::Mutex detector_mu_;
  std::unique_ptr<Detector> detector_ ABSL_GUARDED_BY(detector_mu_);

  mutable absl::Mutex model_mu_;
  std::shared_ptr<const ScoringModel> model_ ABSL_GUARDED_BY(model_mu_);
  // The learner's part of GetModelInfo, as of model_.
  std::shared_ptr<const v1::ModelInfo> learner_info_ ABSL_GUARDED_BY(model_mu_);
  // True while the learner consolidates the warm-up buffer.
  std::atomic<bool> consolidating_{false};
  // SetConsolidationHookForTesting; set before Start, then read only by the
  // learner thread.
  std::function<void()> consolidation_hook_;
  // The learner's records learned towards the warm-up (capped at
  // warmup_records), live: set before learned_ counts the record, so a
  // caller that sees learned_ grow also sees the warm-up progress.
  std::atomic<uint64_t> warmup_learned_{0};

  // Sync: queue items whose effect is in the published model, and how many
  // callers wait (the learner publishes after every batch while any does).
  mutable absl::Mutex sync_mu_;
  uint64_t published_through_ ABSL_GUARDED_BY(sync_mu_) = 0;
  std::atomic<int> sync_waiters_{0};

  LearnQueue queue_;
  VerdictLog verdicts_;
  std::unique_ptr<Featurizer> featurizer_;
  // True until the model's schema is settled: no checkpoint was restored,
  // the schema is not pinned, and no valid entry has been scored yet.
  std::atomic<bool> schema_open_{false};
  std::atomic<int> learning_state_{v1::LEARNING_STATE_AUTO};

  // Cumulative counters, restored from checkpoints.
  std::atomic<uint64_t> scored_{0}, normal_{0}, anomalous_{0}, invalid_{0},
      learned_{0}, dropped_{0}, tp_{0}, fp_{0}, tn_{0}, fn_{0};

  // Learn-queue items the learner has finished (written under detector_mu_).
  std::atomic<uint64_t> processed_{0};
  v1::KafkaState restored_kafka_;
  mutable absl::Mutex source_mu_;
  CheckpointedSource* source_ ABSL_GUARDED_BY(source_mu_) = nullptr;

  absl::Mutex checkpoint_mu_;  // one checkpoint at a time
  std::atomic<int64_t> last_checkpoint_unix_ns_{0};

  absl::Mutex lifecycle_mu_;
  bool started_ ABSL_GUARDED_BY(lifecycle_mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(lifecycle_mu_) = false;
  absl::Notification stop_housekeeping_;
  std::thread learner_;
  std::thread housekeeper_;
};

}  // namespace dwae::server

#endif  // DWAE_SERVER_ENGINE_H_
