// A live detector: the model that a daemon scores with and keeps learning.
//
// Two types split the work between threads:
//   ScoringModel  an immutable snapshot (encoder, network, threshold) that
//                 any number of threads score with concurrently; published
//                 by the learner, shared through std::shared_ptr.
//   Detector      the learner's mutable state: encoder, autoencoder and
//                 rule, warm-up buffer, threshold statistics. One thread
//                 (the learner) calls everything; Publish() hands snapshots
//                 to the others.
//
// Ensembles: the model is an Ensemble (config.ensemble, ensemble.h) of one
// or more autoencoders; every member learns every learned record, and
// scores, thresholds and the gate use the ensemble's score, as in the
// offline evaluation. A snapshot scores every member on the integer path
// where its weights are device levels (ScoringEnsemble). Feature groups need
// rows to be formed on: during warm-up one full-width autoencoder learns,
// and consolidation replaces it with the grouped ensemble, formed and
// trained on the fit rows exactly as `dwae eval` does.
//
// Life of a detector. Warm-up: the first `warmup_records` learned records
// are learned online (the encoder's min-max statistics widen with each) and
// buffered; scoring reports them normal (threshold +inf, source "warmup").
// At the end of warm-up the buffer is consolidated exactly like the offline
// evaluation (evaluate.h): split into fit and held-out rows, the encoder is
// refitted on the fit rows and frozen, the model trains `warmup_epochs`
// passes, and the held-out scores become the threshold's reference. After
// that, every learned record is one online step.
//
// Schema: a detector learns one feature schema (config.schema,
// feature_schema.h), kept in its checkpoint (old checkpoints are kdd).
// Records of another schema must not reach Score/Process: callers check
// with CheckRecord(), whose error names both schemas. (Process ignores such
// a record rather than encode it wrongly.)
//
// Thresholds (label-free): "quantile" of the held-out warm-up scores, or
// "adaptive": Otsu's split of an exponentially forgetting histogram of the
// scores the daemon observed, clamped to two held-out quantiles; "fixed"
// when an operator set one.
#ifndef DWAE_CORE_DETECTOR_H_
#define DWAE_CORE_DETECTOR_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/cache_aligned.h"
#include "core/config.h"
#include "core/detector_top_k.h"
#include "core/encoder.h"
#include "core/ensemble.h"
#include "core/feature_schema.h"
#include "core/inference_network.h"
#include "core/model.h"
#include "core/record.h"
#include "core/scoring_ensemble.h"
#include "core/threshold.h"
#include "dwae/v1/checkpoint.pb.h"

namespace dwae {

struct ScoreResult {
  float score = 0;
  bool anomalous = false;
  int num_top = 0;
  std::array<FeatureDeviation, kMaxTopK> top;  // largest error first
};

// Per-thread scratch space for ScoringModel::Score, made by MakeScratch() of
// the scoring model or of one whose model() Fits() its `model` (the same
// input dimension, so the same buffer sizes): Score does not resize it.
struct ScoringScratch {
  ScoringEnsembleScratch model;
  std::vector<float> input;  // the encoded record
  std::vector<float> errors;
  std::vector<float> reconstruction;
  // The encoded record's bytes for the integer pass
  // (FeatureEncoder::EncodeQuantized), starting a cache line.
  CacheAlignedBytes quantized;
};

class ScoringModel {
 public:
  // `encoder_id`: Detector::encoder_id() of the publisher (0: none).
  ScoringModel(const FeatureEncoder& encoder, const Ensemble& model,
               double threshold, std::string threshold_source, uint64_t version,
               bool warming_up, uint64_t encoder_id = 0);

  ScoringScratch MakeScratch() const;
  FeatureSchema schema() const { return encoder_.schema(); }
  // OK when `record` is of this model's schema, else FailedPrecondition
  // naming both ("record has feature schema 'zeek' but the model was
  // trained on schema 'kdd'").
  absl::Status CheckRecord(const Record& record) const {
    return CheckSchema(schema(), record.schema);
  }
  // Name of input dimension `d` in this model's schema.
  const std::string& DimensionName(int d) const {
    return FeatureEncoder::DimensionName(schema(), d);
  }
  const ScoringEnsemble& model() const { return model_; }
  // Scores a valid record of schema(); fills the `top_k` (<= kMaxTopK) largest
  // per-dimension errors.
  void Score(const Record& record, int top_k, ScoringScratch* scratch,
             ScoreResult* out) const;
  // Score() of n records at once, each with its own scratch (distinct):
  // *out[i] and *scratch[i] are bit for bit what Score(*records[i], top_k,
  // scratch[i], out[i]) gives, whatever n (ScoringEnsemble::ScoreBatch).
  void ScoreBatch(int n, const Record* const* records, int top_k,
                  ScoringScratch* const* scratch,
                  ScoreResult* const* out) const;

  double threshold() const { return threshold_; }
  const std::string& threshold_source() const { return threshold_source_; }
  uint64_t version() const { return version_; }
  bool warming_up() const { return warming_up_; }
  // Identifies the frozen encoder of a snapshot published after warm-up:
  // its encodings are what the publishing detector's Process would compute.
  uint64_t encoder_id() const { return encoder_id_; }

 private:
  // The verdict and top-k deviations of a record scored into `scratch`.
  void Conclude(float score, int top_k, ScoringScratch* scratch,
                ScoreResult* out) const;

  FeatureEncoder encoder_;
  ScoringEnsemble model_;  // integer kernels for device levels
  double threshold_;
  std::string threshold_source_;
  uint64_t version_;
  bool warming_up_;
  uint64_t encoder_id_;
};

class Detector {
 public:
  static absl::StatusOr<std::unique_ptr<Detector>> Create(
      const DetectorConfig& config);
  // Rebuilds a detector from a checkpoint's ModelState. Everything is
  // checked; an error names the part that is wrong.
  static absl::StatusOr<std::unique_ptr<Detector>> Restore(
      const v1::ModelState& state);
  // Writes the model's part of a checkpoint (not the daemon's counters).
  void Save(v1::ModelState* state) const;

  const DetectorConfig& config() const { return config_; }
  // The ensemble being trained (replaced at the end of a grouped warm-up).
  const Ensemble& model() const { return *model_; }
  FeatureSchema schema() const { return config_.schema; }
  // As ScoringModel::CheckRecord.
  absl::Status CheckRecord(const Record& record) const {
    return CheckSchema(schema(), record.schema);
  }

  // What the learner does with a scored record.
  enum class LearnDecision {
    kNo,        // only observe its score
    kYes,       // learn it
    kIfNormal,  // learn it if the current model scores it normal (gated;
                // during warm-up the threshold is +inf, so: learn)
  };
  // The learner's path for every scored record: re-scores it with the
  // current model (the record may have been scored by an older snapshot,
  // e.g. one still warming up), feeds that score to the adaptive threshold
  // once the warm-up is over, and learns the record as `decision` says.
  // Returns whether it learned.
  bool Process(const Record& record, LearnDecision decision) {
    return Process(record, decision, nullptr, 0);
  }
  // The same, reusing `encoded` (input_dim floats, or nullptr) when a
  // snapshot of this detector encoded it after warm-up (`encoder_id` is that
  // snapshot's encoder_id()): the encoder is frozen then, so re-encoding
  // would compute the same floats. Otherwise the record is encoded again.
  bool Process(const Record& record, LearnDecision decision,
               const float* encoded, uint64_t encoder_id);
  // One learning step on a valid record: Process(record, kYes).
  void Learn(const Record& record) { Process(record, LearnDecision::kYes); }
  // Feeds the adaptive threshold with one score.
  void Observe(double score);
  // A snapshot of the current state for scoring threads.
  std::shared_ptr<const ScoringModel> Publish();

  // Operator overrides.
  void SetFixedThreshold(double threshold);
  void SetAutomaticThreshold(ThresholdMode mode);

  // True while gated learning is paused because the recent share of
  // anomalous records exceeds learning.flood_anomaly_share.
  bool flood_guard_active() const {
    return !warming_up() &&
           recent_anomaly_share_ > config_.learning.flood_anomaly_share;
  }

  bool warming_up() const {
    return records_learned_ < config_.learning.warmup_records;
  }
  uint64_t records_learned() const { return records_learned_; }
  // Unique per detector in this process; published with every snapshot.
  uint64_t encoder_id() const { return encoder_id_; }
  uint64_t model_version() const { return version_; }
  double threshold() const;
  std::string threshold_source() const;

 private:
  Detector(const DetectorConfig& config, std::unique_ptr<Ensemble> model);
  // What learns during warm-up: config.ensemble, or one full-width
  // autoencoder when it has feature groups.
  static EnsembleOptions WarmupLayout(const EnsembleOptions& configured);
  void Consolidate();
  // Replaces model_ with the ensemble saved in state.members.
  absl::Status RestoreMembers(const v1::ModelState& state);
  // Recomputes gate_threshold_, the threshold gated learning uses.
  void RefreshGateThreshold() { gate_threshold_ = threshold(); }
  std::vector<float> EncodeAll(const std::vector<const Record*>& rows) const;
  double AdaptiveBoundsQuantile(double q) const;
  ScoreHistogram AnchoredHistogram() const;

  DetectorConfig config_;
  FeatureEncoder encoder_;
  std::unique_ptr<Ensemble> model_;
  EnsembleWorkspace ws_;
  std::vector<float> input_;
  const uint64_t encoder_id_;
  uint64_t records_learned_ = 0;
  uint64_t version_ = 0;
  std::vector<Record> warmup_buffer_;
  // Held-out scores from the end of warm-up, sorted ascending.
  std::vector<float> reference_scores_;
  ScoreHistogram histogram_;
  uint64_t observed_since_decay_ = 0;
  ThresholdMode mode_;
  std::optional<double> fixed_threshold_;
  // threshold() as of the last Publish/Consolidate/Set*: computing it per
  // record would cost more than learning.
  double gate_threshold_;
  // Running share of records scored anomalous (about the last
  // kFloodWindow), for the flood guard.
  double recent_anomaly_share_ = 0;
};

}  // namespace dwae

#endif  // DWAE_CORE_DETECTOR_H_
