// Engine lifecycle, the learner and checkpoints. Scoring, queries and
// administration are in engine_api.cc.
#include "server/engine.h"

#include <malloc.h>
#include <pthread.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/checkpoint.h"
#include "google/protobuf/util/message_differencer.h"

namespace dwae::server {
namespace {

constexpr size_t kLearnBatch = 512;
// How long the learner lets a partial batch fill before taking it. Small
// calls (unary Score at a steady rate) would otherwise wake it once per
// call: on two cores each wake-up preempts a scoring thread or the client.
// Far below publish_interval_seconds, and a Sync nudge cuts it short.
constexpr absl::Duration kLearnLinger = absl::Milliseconds(5);
// How often the housekeeper refreshes gauges and checks the checkpoint timer.
constexpr absl::Duration kHousekeepingPeriod = absl::Seconds(1);
// Every this many housekeeping ticks, freed heap goes back to the system.
constexpr int kTrimEveryTicks = 10;

// Returns freed heap memory to the system: glibc keeps what bursts of
// traffic freed, which would otherwise stay in the daemon's resident size.
void ReleaseFreeMemory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

void LogLine(const std::string& message) {
  std::fprintf(stderr, "dwaed: %s\n", message.c_str());
}

// A checkpoint that can be restored: the detector and the daemon's state.
struct Restored {
  v1::ModelState state;
  std::unique_ptr<Detector> detector;
};

// Reads and checks everything in the checkpoint at `path`; errors say what
// is wrong with it.
absl::StatusOr<Restored> LoadCheckpoint(FileSystem* fs,
                                        const std::string& path) {
  absl::StatusOr<v1::ModelState> state = ReadCheckpoint(fs, path);
  if (!state.ok()) return state.status();
  const int learning = state->learning_state();
  if (!v1::LearningState_IsValid(learning) ||
      learning == v1::LEARNING_STATE_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        absl::StrCat("learning_state ", learning, " is not valid"));
  }
  absl::StatusOr<std::unique_ptr<Detector>> detector =
      Detector::Restore(*state);
  if (!detector.ok()) return detector.status();
  return Restored{*std::move(state), *std::move(detector)};
}

// Restores the checkpoint of `options.state_dir` if there is one. An
// unusable one is an error naming the file, or with start_fresh is moved
// aside (never deleted) and nullopt returned.
absl::StatusOr<std::optional<Restored>> RestoreFromStateDir(
    const EngineOptions& options, FileSystem* fs) {
  if (options.state_dir.empty()) return std::nullopt;
  if (absl::Status s = fs->CreateDirectories(options.state_dir); !s.ok()) {
    return s;
  }
  const std::string path =
      absl::StrCat(options.state_dir, "/", kCheckpointFileName);
  // A process killed mid-checkpoint leaves its temporary file behind; the
  // checkpoint itself is whole (renamed atomically), the rest is litter.
  if (absl::StatusOr<int> removed = fs->RemoveTemporaryFiles(path);
      removed.ok() && *removed > 0) {
    LogLine(absl::StrCat("removed ", *removed,
                         " temporary file(s) of interrupted checkpoints"));
  }
  if (!fs->Exists(path)) return std::nullopt;
  absl::StatusOr<Restored> restored = LoadCheckpoint(fs, path);
  if (restored.ok()) {
    LogLine(absl::StrCat("restored ", path, " (",
                         restored->detector->records_learned(),
                         " records learned)"));
    if (!google::protobuf::util::MessageDifferencer::Equals(
            restored->state.config(),
            DetectorConfigToProto(options.detector))) {
      LogLine(
          "the checkpoint's settings differ from --config; the "
          "checkpoint's are in force (ResetModel applies --config)");
    }
    return std::optional<Restored>(*std::move(restored));
  }
  std::string why(restored.status().message());
  if (!absl::StartsWith(why, path)) why = absl::StrCat(path, ": ", why);
  if (!options.start_fresh) {
    return absl::Status(
        restored.status().code(),
        absl::StrCat("cannot use checkpoint ", why,
                     "; fix or move the file, or pass --start_fresh to set it "
                     "aside and start with a new model"));
  }
  const std::string aside =
      absl::StrCat(path, ".bad-", absl::ToUnixSeconds(absl::Now()));
  if (absl::Status s = fs->Rename(path, aside); !s.ok()) return s;
  LogLine(absl::StrCat("checkpoint unusable (", why, "); moved to ", aside,
                       ", starting fresh"));
  return std::nullopt;
}

}  // namespace

void NameThisThread(const char* name) {
#ifdef __linux__
  pthread_setname_np(pthread_self(), name);
#endif
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(
    const EngineOptions& options, Metrics* metrics, FileSystem* fs) {
  absl::StatusOr<std::optional<Restored>> restored =
      RestoreFromStateDir(options, fs);
  if (!restored.ok()) return restored.status();
  std::unique_ptr<Detector> detector;
  if (restored->has_value()) {
    detector = std::move((*restored)->detector);
    if (options.schema_pinned &&
        detector->schema() != options.detector.schema) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the checkpoint's model learned feature schema '",
          FeatureSchemaName(detector->schema()),
          "' but the schema is pinned "
          "to '",
          FeatureSchemaName(options.detector.schema),
          "' (--schema or model.feature_schema); drop the pin, or move the "
          "checkpoint aside to start a new model"));
    }
  } else {
    absl::StatusOr<std::unique_ptr<Detector>> d =
        Detector::Create(options.detector);
    if (!d.ok()) return d.status();
    detector = *std::move(d);
  }
  absl::StatusOr<std::unique_ptr<Featurizer>> featurizer =
      Featurizer::Create(options.zeek, &metrics->registry());
  if (!featurizer.ok()) return featurizer.status();
  std::unique_ptr<Engine> engine(new Engine(
      options, metrics, fs, std::move(detector), *std::move(featurizer)));
  if (restored->has_value()) engine->RestoreCounters((*restored)->state);
  engine->schema_open_ = !restored->has_value() && !options.schema_pinned;
  return engine;
}

Engine::Engine(const EngineOptions& options, Metrics* metrics, FileSystem* fs,
               std::unique_ptr<Detector> detector,
               std::unique_ptr<Featurizer> featurizer)
    : options_(options),
      metrics_(metrics),
      fs_(fs),
      detector_(std::move(detector)),
      queue_(options.detector.learning.queue_capacity),
      verdicts_(options.detector.serving.verdict_window),
      featurizer_(std::move(featurizer)) {
  absl::MutexLock lock(&detector_mu_);
  PublishLocked();
  RefreshWarmupProgressLocked();
  metrics_->learn_queue_capacity().Set(double(queue_.capacity()));
}

Engine::~Engine() { Stop(); }

void Engine::RestoreCounters(const v1::ModelState& state) {
  const v1::DetectorCounterState& c = state.counters();
  scored_ = c.records_scored();
  normal_ = c.records_normal();
  anomalous_ = c.records_anomalous();
  invalid_ = c.records_invalid();
  learned_ = c.records_learned();
  dropped_ = c.records_dropped();
  tp_ = c.true_positives();
  fp_ = c.false_positives();
  tn_ = c.true_negatives();
  fn_ = c.false_negatives();
  learning_state_ = state.learning_state();  // checked by LoadCheckpoint
  restored_kafka_ = state.kafka();
  const absl::Time written =
      absl::FromUnixSeconds(state.written_at().seconds());
  last_checkpoint_unix_ns_ = absl::ToUnixNanos(written);
  metrics_->SetLastCheckpointSuccess(written);
}

void Engine::SetCheckpointedSource(CheckpointedSource* source) {
  absl::MutexLock lock(&source_mu_);
  source_ = source;
}

std::string Engine::checkpoint_path() const {
  return options_.state_dir.empty()
             ? std::string()
             : absl::StrCat(options_.state_dir, "/", kCheckpointFileName);
}

void Engine::Start() {
  absl::MutexLock lock(&lifecycle_mu_);
  if (started_) return;
  started_ = true;
  metrics_->SetLearningEnabled(learning_state_ != v1::LEARNING_STATE_OFF);
  learner_ = std::thread([this] {
    NameThisThread("dwae-learner");
    LearnerLoop();
  });
  housekeeper_ = std::thread([this] {
    NameThisThread("dwae-housekeep");
    HousekeepingLoop();
  });
}

void Engine::Stop() {
  {
    absl::MutexLock lock(&lifecycle_mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  queue_.Close();
  if (learner_.joinable()) learner_.join();
  stop_housekeeping_.Notify();
  if (housekeeper_.joinable()) housekeeper_.join();
  if (!options_.state_dir.empty()) {
    absl::StatusOr<v1::CheckpointResponse> r = Checkpoint();
    if (!r.ok())
      LogLine(absl::StrCat("final checkpoint failed: ", r.status().message()));
  }
}

std::shared_ptr<const ScoringModel> Engine::current_model() const {
  absl::MutexLock lock(&model_mu_);
  return model_;
}

void Engine::PublishLocked() {
  std::shared_ptr<const ScoringModel> model = detector_->Publish();
  auto info = std::make_shared<v1::ModelInfo>();
  FillLearnerInfoLocked(*model, info.get());
  metrics_->threshold().Set(model->threshold());
  metrics_->model_version().Set(double(model->version()));
  metrics_->SetWarmingUp(model->warming_up());
  absl::MutexLock lock(&model_mu_);
  model_ = std::move(model);
  learner_info_ = std::move(info);
}

void Engine::ExportLearnerMetricsLocked() {
  const Ensemble& model = detector_->model();
  const std::vector<LayerDeviceCounters> layers = model.layer_device_counters();
  const DeviceParams& device = options_.detector.model.rule.device;
  metrics_->ensemble_members().Set(double(model.num_members()));
  for (size_t l = 0; l < layers.size(); ++l) {
    for (bool bias : {false, true}) {
      const DeviceCounters& c = bias ? layers[l].biases : layers[l].weights;
      metrics_->SetDeviceCounters(int(l), bias, c.pulses, c.level_changes,
                                  c.failures, c.overshoots,
                                  c.energy_joules(device));
    }
  }
  metrics_->SetLearningCounters(model.steps(),
                                model.float_equivalent_updates());
  metrics_->learn_queue_depth().Set(double(queue_.size()));
}

void Engine::ProcessLocked(const LearnItem& item) {
  // The record that completes the warm-up starts the consolidation (all of
  // it inside Process): flag it for GetModelInfo meanwhile.
  const bool may_consolidate = item.decision != Detector::LearnDecision::kNo &&
                               detector_->warming_up() &&
                               detector_->records_learned() + 1 ==
                                   detector_->config().learning.warmup_records;
  if (may_consolidate) {
    consolidating_ = true;
    if (consolidation_hook_) consolidation_hook_();
  }
  const float* encoded = item.encoded.empty() ? nullptr : item.encoded.data();
  const bool learned =
      detector_->Process(item.record, item.decision, encoded, item.encoder_id);
  if (may_consolidate) consolidating_ = false;
  if (!learned) return;
  RefreshWarmupProgressLocked();
  ++learned_;
}

void Engine::RefreshWarmupProgressLocked() {
  warmup_learned_ = std::min(detector_->records_learned(),
                             detector_->config().learning.warmup_records);
}

void Engine::MarkPublished(uint64_t processed) {
  absl::MutexLock lock(&sync_mu_);
  published_through_ = processed;
}

void Engine::LearnerLoop() {
  const absl::Duration interval =
      absl::Seconds(options_.detector.learning.publish_interval_seconds);
  absl::Time last_publish = absl::Now();
  std::vector<LearnChunk> chunks;
  bool dirty = false;
  while (queue_.PopChunks(&chunks, kLearnBatch, interval, kLearnLinger)) {
    {
      absl::MutexLock lock(&detector_mu_);
      const bool was_warming_up = detector_->warming_up();
      size_t n = 0;
      for (const LearnChunk& chunk : chunks) {
        for (const LearnItem& item : chunk) ProcessLocked(item);
        n += chunk.size();
      }
      processed_ += n;
      dirty = dirty || n > 0;
      const absl::Time now = absl::Now();
      if (dirty && (now - last_publish >= interval ||
                    was_warming_up != detector_->warming_up() ||
                    sync_waiters_.load() > 0)) {
        PublishLocked();
        ExportLearnerMetricsLocked();
        last_publish = now;
        dirty = false;
      }
      if (!dirty) MarkPublished(processed_);
    }
    queue_.Recycle(&chunks);
  }
  absl::MutexLock lock(&detector_mu_);
  PublishLocked();
  ExportLearnerMetricsLocked();
  MarkPublished(processed_);
}

void Engine::HousekeepingLoop() {
  const double interval = options_.checkpoint_interval_seconds;
  const bool periodic = !options_.state_dir.empty() && interval > 0;
  absl::Time next_checkpoint = absl::Now() + absl::Seconds(interval);
  int ticks = 0;
  while (
      !stop_housekeeping_.WaitForNotificationWithTimeout(kHousekeepingPeriod)) {
    const absl::Time now = absl::Now();
    if (periodic && now >= next_checkpoint) {
      absl::StatusOr<v1::CheckpointResponse> r = Checkpoint();
      if (!r.ok()) {
        LogLine(absl::StrCat("checkpoint failed: ", r.status().message()));
      }
      next_checkpoint = absl::Now() + absl::Seconds(interval);
    }
    metrics_->UpdateCheckpointAge(absl::Now());
    metrics_->learn_queue_depth().Set(double(queue_.size()));
    if (++ticks % kTrimEveryTicks == 0) ReleaseFreeMemory();
  }
}

absl::StatusOr<v1::CheckpointResponse> Engine::Checkpoint() {
  if (options_.state_dir.empty()) {
    return absl::FailedPreconditionError(
        "checkpoint: the daemon runs without --state_dir");
  }
  absl::MutexLock serial(&checkpoint_mu_);
  const absl::Time start = absl::Now();
  v1::ModelState state;
  uint64_t learned = 0;
  absl::MutexLock source_lock(&source_mu_);
  {
    absl::MutexLock lock(&detector_mu_);
    detector_->Save(&state);
    if (source_ != nullptr) source_->SaveCheckpoint(processed_, &state);
    // With the detector: the learner counts learned_ under detector_mu_,
    // so a value read after unlocking may include records the saved model
    // has not learned (a restart would report more than it restored).
    learned = learned_;
  }
  v1::DetectorCounterState* c = state.mutable_counters();
  c->set_records_scored(scored_);
  c->set_records_normal(normal_);
  c->set_records_anomalous(anomalous_);
  c->set_records_invalid(invalid_);
  c->set_records_learned(learned);
  c->set_records_dropped(dropped_);
  c->set_true_positives(tp_);
  c->set_false_positives(fp_);
  c->set_true_negatives(tn_);
  c->set_false_negatives(fn_);
  state.set_learning_state(learning_state_.load());
  state.mutable_written_at()->set_seconds(absl::ToUnixSeconds(start));
  const std::string path = checkpoint_path();
  const std::string bytes = EncodeCheckpoint(state);
  absl::Status s = fs_->WriteFileAtomically(path, bytes);
  const absl::Time end = absl::Now();
  if (!s.ok()) {
    metrics_->RecordCheckpointFailure(end - start);
    return s;
  }
  metrics_->RecordCheckpointSuccess(end, end - start);
  if (source_ != nullptr) source_->CheckpointDurable(state);
  last_checkpoint_unix_ns_ = absl::ToUnixNanos(start);
  v1::CheckpointResponse response;
  response.set_path(path);
  response.set_bytes(bytes.size());
  response.set_seconds(absl::ToDoubleSeconds(end - start));
  return response;
}

}  // namespace dwae::server
