#include "core/detector.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/record_proto.h"
#include "core/rng.h"

namespace dwae {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
// Below this much histogram mass the adaptive threshold falls back to the
// quantile one.
constexpr double kMinAdaptiveMass = 200;
// The histogram decays in this many small steps per half-life.
constexpr int kDecayStepsPerHalfLife = 20;
constexpr uint64_t kWarmupShuffleStream = 0x3a2b;
// The flood guard's running anomaly share averages about this many records.
constexpr double kFloodWindow = 1000;

uint64_t NextEncoderId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1);
}

void FeatureRowToProto(const Record& r, v1::FeatureRow* out) {
  out->mutable_numeric()->Add(r.numeric.begin(), r.numeric.end());
  out->mutable_extra()->Add(r.extra.begin(), r.extra.end());
  out->set_protocol_type(r.protocol_type);
  out->set_service(r.service);
  out->set_flag(r.flag);
}

absl::StatusOr<Record> FeatureRowFromProto(const v1::FeatureRow& row,
                                           FeatureSchema schema) {
  Record r;
  r.schema = schema;
  if (row.numeric_size() != kNumFeatures ||
      row.extra_size() != kNumZeekExtras) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "a row has %d numeric and %d extra values, expected %d and %d",
        row.numeric_size(), row.extra_size(), kNumFeatures, kNumZeekExtras));
  }
  std::copy(row.numeric().begin(), row.numeric().end(), r.numeric.begin());
  std::copy(row.extra().begin(), row.extra().end(), r.extra.begin());
  r.protocol_type = row.protocol_type();
  r.service = row.service();
  r.flag = row.flag();
  if (absl::Status s = ValidateRecord(r); !s.ok()) return s;
  for (double x : r.extra) {
    if (!std::isfinite(x) || x < 0 || x > 1e15) {
      return absl::InvalidArgumentError("extra: a value is not in [0, 1e15]");
    }
  }
  return r;
}

}  // namespace

// ---------------------------------------------------------- ScoringModel ---

ScoringModel::ScoringModel(const FeatureEncoder& encoder, const Ensemble& model,
                           double threshold, std::string threshold_source,
                           uint64_t version, bool warming_up,
                           uint64_t encoder_id)
    : encoder_(encoder),
      model_(model, encoder.num_numeric()),
      threshold_(threshold),
      threshold_source_(std::move(threshold_source)),
      version_(version),
      warming_up_(warming_up),
      encoder_id_(encoder_id) {}

ScoringScratch ScoringModel::MakeScratch() const {
  const size_t dim = size_t(model_.dim());
  return {model_.MakeScratch(), std::vector<float>(dim),
          std::vector<float>(dim), std::vector<float>(dim),
          CacheAlignedBytes(size_t(encoder_.quantized_size()))};
}

void ScoringModel::Score(const Record& record, int top_k,
                         ScoringScratch* scratch, ScoreResult* out) const {
  const Record* r = &record;
  ScoreBatch(1, &r, top_k, &scratch, &out);
}

void ScoringModel::ScoreBatch(int n, const Record* const* records, int top_k,
                              ScoringScratch* const* scratch,
                              ScoreResult* const* out) const {
  constexpr int kChunk = ScoringEnsemble::kMaxScoreBatch;
  const float* x[kChunk];
  const uint8_t* q[kChunk];
  ScoringEnsembleScratch* model_scratch[kChunk];
  float scores[kChunk];
  for (int first = 0; first < n; first += kChunk) {
    const int count = std::min(kChunk, n - first);
    for (int i = 0; i < count; ++i) {
      if (first + i + FeatureEncoder::kPrefetchAhead < n) {
        FeatureEncoder::PrefetchForEncoding(
            *records[first + i + FeatureEncoder::kPrefetchAhead]);
      }
      ScoringScratch* s = scratch[first + i];
      // The bytes too: the integer pass starts from them. MakeScratch sized
      // them, as it sized `input` (ScoringScratch).
      encoder_.EncodeQuantized(*records[first + i], s->input.data(),
                               s->quantized.data());
      x[i] = s->input.data();
      q[i] = s->quantized.data();
      model_scratch[i] = &s->model;
    }
    model_.ScoreEncodedBatch(count, x, q, model_scratch, scores);
    for (int i = 0; i < count; ++i) {
      Conclude(scores[i], top_k, scratch[first + i], out[first + i]);
    }
  }
}

void ScoringModel::Conclude(float score, int top_k, ScoringScratch* scratch,
                            ScoreResult* out) const {
  out->score = score;
  // Written so that a NaN score (a diverged model) is flagged.
  out->anomalous = !(out->score <= threshold_);
  out->num_top = std::clamp(top_k, 0, kMaxTopK);
  if (out->num_top == 0) return;
  model_.Explain(&scratch->model, scratch->errors.data(),
                 scratch->reconstruction.data());
  out->num_top = TopDeviations(scratch->errors.data(), scratch->input.data(),
                               scratch->reconstruction.data(),
                               static_cast<int>(scratch->errors.size()),
                               out->num_top, out->top.data());
}

// -------------------------------------------------------------- Detector ---

absl::StatusOr<std::unique_ptr<Detector>> Detector::Create(
    const DetectorConfig& config) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<Ensemble>> model =
      Ensemble::CreateWithGroups(config.model, WarmupLayout(config.ensemble),
                                 config.model.shape.input_dim, {{}});
  if (!model.ok()) return model.status();
  return std::unique_ptr<Detector>(new Detector(config, *std::move(model)));
}

EnsembleOptions Detector::WarmupLayout(const EnsembleOptions& configured) {
  EnsembleOptions o = configured;
  if (o.group_size > 0) {
    o.members = 1;
    o.group_size = 0;
  }
  return o;
}

Detector::Detector(const DetectorConfig& config,
                   std::unique_ptr<Ensemble> model)
    : config_(config),
      encoder_(config.schema),
      model_(std::move(model)),
      ws_(model_->MakeWorkspace()),
      input_(config.model.shape.input_dim),
      encoder_id_(NextEncoderId()),
      mode_(config.threshold.mode),
      gate_threshold_(kInfinity) {}

void Detector::Observe(double score) {
  histogram_.Add(score);
  const double step =
      config_.threshold.half_life_records / kDecayStepsPerHalfLife;
  if (++observed_since_decay_ >= step) {
    histogram_.Decay(std::pow(0.5, 1.0 / kDecayStepsPerHalfLife));
    observed_since_decay_ = 0;
  }
}

bool Detector::Process(const Record& record, LearnDecision decision,
                       const float* encoded, uint64_t encoder_id) {
  if (record.schema != schema()) return false;  // see CheckRecord
  const bool warming = warming_up();
  // During warm-up the encoder's ranges widen with every learned record
  // (gated learning learns everything then: the threshold is +inf).
  if (warming && decision != LearnDecision::kNo) encoder_.Update(record);
  if (encoded != nullptr && !warming && encoder_id == encoder_id_) {
    std::copy_n(encoded, input_.size(), input_.data());
  } else {
    encoder_.Encode(record, input_.data());
  }
  const float score = model_->Score(input_.data(), &ws_);
  const bool anomalous = !(score <= gate_threshold_);
  if (!warming) {
    Observe(score);
    recent_anomaly_share_ +=
        ((anomalous ? 1.0 : 0.0) - recent_anomaly_share_) / kFloodWindow;
  }
  const bool learn = decision == LearnDecision::kYes ||
                     (decision == LearnDecision::kIfNormal && !anomalous &&
                      !flood_guard_active());
  if (!learn) return false;
  if (warming) warmup_buffer_.push_back(record);
  model_->LearnAfterScore(input_.data(), &ws_);
  ++records_learned_;
  if (records_learned_ == config_.learning.warmup_records) Consolidate();
  return true;
}

std::vector<float> Detector::EncodeAll(
    const std::vector<const Record*>& rows) const {
  const int dim = config_.model.shape.input_dim;
  std::vector<float> out(rows.size() * dim);
  for (size_t i = 0; i < rows.size(); ++i) {
    encoder_.Encode(*rows[i], &out[i * dim]);
  }
  return out;
}

void Detector::Consolidate() {
  std::vector<const Record*> rows;
  for (const Record& r : warmup_buffer_) rows.push_back(&r);
  Rng rng(HashPair(config_.model.seed, kWarmupShuffleStream));
  for (size_t i = rows.size(); i > 1; --i) {
    std::swap(rows[i - 1], rows[rng.Below(i)]);
  }
  const size_t holdout = std::clamp<size_t>(
      std::lround(rows.size() * config_.learning.warmup_holdout_fraction), 1,
      rows.size() - 1);
  std::vector<const Record*> held(rows.end() - holdout, rows.end());
  rows.resize(rows.size() - holdout);

  std::vector<Record> fit;
  for (const Record* r : rows) fit.push_back(*r);
  encoder_.Fit(fit);
  const int dim = config_.model.shape.input_dim;
  const std::vector<float> x = EncodeAll(rows);
  if (config_.ensemble.group_size > 0) {
    // The groups are formed on the fit rows, as the offline evaluation
    // forms them; the grouped members start fresh. (Create fails only
    // with fewer than two fit rows: the warm-up model then stays.)
    absl::StatusOr<std::unique_ptr<Ensemble>> grouped =
        Ensemble::Create(config_.model, config_.ensemble, dim, x);
    if (grouped.ok()) {
      model_ = *std::move(grouped);
      ws_ = model_->MakeWorkspace();
    }
  }
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0);
  for (int epoch = 0; epoch < config_.learning.warmup_epochs; ++epoch) {
    for (size_t i = order.size(); i > 1; --i) {
      std::swap(order[i - 1], order[rng.Below(i)]);
    }
    for (size_t i : order) model_->Learn(&x[i * dim]);
  }
  model_->FitScale(x);  // a no-op without -std or -ms
  const std::vector<float> h = EncodeAll(held);
  reference_scores_.clear();
  // Scored as the published snapshots will score (integer kernels).
  const ScoringEnsemble scorer(*model_, encoder_.num_numeric());
  ScoringEnsembleScratch scratch = scorer.MakeScratch();
  for (size_t i = 0; i < held.size(); ++i) {
    reference_scores_.push_back(scorer.Score(&h[i * dim], &scratch));
  }
  std::sort(reference_scores_.begin(), reference_scores_.end());
  warmup_buffer_.clear();
  warmup_buffer_.shrink_to_fit();
  // Scores observed so far came from a model still warming up.
  histogram_ = ScoreHistogram();
  observed_since_decay_ = 0;
  recent_anomaly_share_ = 0;
  RefreshGateThreshold();
}

double Detector::AdaptiveBoundsQuantile(double q) const {
  return Quantile(reference_scores_, q);
}

double Detector::threshold() const {
  if (fixed_threshold_) return *fixed_threshold_;
  if (warming_up() || reference_scores_.empty()) return kInfinity;
  const ThresholdPolicy& t = config_.threshold;
  if (mode_ == ThresholdMode::kQuantile ||
      histogram_.total() < kMinAdaptiveMass) {
    return AdaptiveBoundsQuantile(t.quantile);
  }
  return AdaptiveThreshold(AnchoredHistogram(),
                           {AdaptiveBoundsQuantile(t.adaptive_lower_quantile),
                            AdaptiveBoundsQuantile(t.adaptive_upper_quantile)});
}

ScoreHistogram Detector::AnchoredHistogram() const {
  // The held-out normal scores join the stream's histogram with
  // anchor_share of the combined mass: a stream of nothing but attacks still
  // has a normal mode, so Otsu's split stays between normal and attack
  // instead of cutting through the attacks.
  ScoreHistogram anchored = histogram_;
  const double share = config_.threshold.anchor_share;
  if (share <= 0 || reference_scores_.empty()) return anchored;
  const double weight = histogram_.total() * share / (1 - share) /
                        double(reference_scores_.size());
  for (float s : reference_scores_) anchored.Add(s, weight);
  return anchored;
}

std::string Detector::threshold_source() const {
  if (fixed_threshold_) return "fixed";
  if (warming_up() || reference_scores_.empty()) return "warmup";
  if (mode_ == ThresholdMode::kQuantile ||
      histogram_.total() < kMinAdaptiveMass) {
    return "quantile";
  }
  return "adaptive";
}

std::shared_ptr<const ScoringModel> Detector::Publish() {
  ++version_;
  RefreshGateThreshold();
  return std::make_shared<const ScoringModel>(encoder_, *model_, threshold(),
                                              threshold_source(), version_,
                                              warming_up(), encoder_id_);
}

void Detector::SetFixedThreshold(double threshold) {
  fixed_threshold_ = threshold;
  RefreshGateThreshold();
}

void Detector::SetAutomaticThreshold(ThresholdMode mode) {
  fixed_threshold_.reset();
  mode_ = mode;
  RefreshGateThreshold();
}

// ------------------------------------------------------------ checkpoint ---

void Detector::Save(v1::ModelState* state) const {
  *state->mutable_config() = DetectorConfigToProto(config_);
  v1::EncoderState* enc = state->mutable_encoder();
  enc->mutable_min()->Add(encoder_.mins().begin(), encoder_.mins().end());
  enc->mutable_max()->Add(encoder_.maxs().begin(), encoder_.maxs().end());
  model_->SaveMembers(state->mutable_members());
  v1::ThresholdState* t = state->mutable_threshold();
  t->mutable_warmup_scores()->Add(reference_scores_.begin(),
                                  reference_scores_.end());
  t->mutable_histogram()->Add(histogram_.counts().begin(),
                              histogram_.counts().end());
  if (fixed_threshold_) t->set_fixed(*fixed_threshold_);
  t->set_current(threshold());
  t->set_source(threshold_source());
  t->set_mode(mode_ == ThresholdMode::kQuantile ? v1::THRESHOLD_MODE_QUANTILE
                                                : v1::THRESHOLD_MODE_ADAPTIVE);
  t->set_observed_since_decay(observed_since_decay_);
  state->set_records_learned(records_learned_);
  state->set_recent_anomaly_share(recent_anomaly_share_);
  state->set_model_version(version_);
  for (const Record& r : warmup_buffer_) {
    if (schema() == FeatureSchema::kKdd) {
      *state->add_warmup_buffer() = RecordToProto(r, "", "");
    } else {
      FeatureRowToProto(r, state->add_feature_warmup_buffer());
    }
  }
}

absl::StatusOr<std::unique_ptr<Detector>> Detector::Restore(
    const v1::ModelState& state) {
  absl::StatusOr<DetectorConfig> config =
      DetectorConfigFromProto(state.config());
  if (!config.ok()) return config.status();
  absl::StatusOr<std::unique_ptr<Detector>> created = Create(*config);
  if (!created.ok()) return created.status();
  Detector& d = **created;
  const v1::EncoderState& enc = state.encoder();
  absl::Status s;
  // An encoder that has seen no row stays fresh: its first Update starts
  // from that row instead of widening the restored (empty) ranges.
  if (state.records_learned() > 0) {
    s = d.encoder_.Restore({enc.min().begin(), enc.min().end()},
                           {enc.max().begin(), enc.max().end()});
    if (!s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("encoder: ", s.message()));
    }
  }
  if (s = d.RestoreMembers(state); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("members: ", s.message()));
  }
  const v1::ThresholdState& t = state.threshold();
  if (t.histogram_size() != ScoreHistogram::kNumBins) {
    return absl::InvalidArgumentError(
        absl::StrFormat("threshold: histogram has %d bins, expected %d",
                        t.histogram_size(), ScoreHistogram::kNumBins));
  }
  d.histogram_.set_counts({t.histogram().begin(), t.histogram().end()});
  d.reference_scores_.assign(t.warmup_scores().begin(),
                             t.warmup_scores().end());
  std::sort(d.reference_scores_.begin(), d.reference_scores_.end());
  if (t.has_fixed()) d.fixed_threshold_ = t.fixed();
  d.mode_ = t.mode() == v1::THRESHOLD_MODE_QUANTILE ? ThresholdMode::kQuantile
                                                    : ThresholdMode::kAdaptive;
  d.observed_since_decay_ = t.observed_since_decay();
  d.records_learned_ = state.records_learned();
  d.recent_anomaly_share_ = state.recent_anomaly_share();
  d.version_ = state.model_version();
  if (d.schema() != FeatureSchema::kKdd && state.warmup_buffer_size() > 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("warmup_buffer: kdd records in a model of schema ",
                     FeatureSchemaName(d.schema())));
  }
  for (const v1::FeatureRow& row : state.feature_warmup_buffer()) {
    absl::StatusOr<Record> record = FeatureRowFromProto(row, d.schema());
    if (!record.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("feature_warmup_buffer: ", record.status().message()));
    }
    d.warmup_buffer_.push_back(*std::move(record));
  }
  for (const v1::Record& r : state.warmup_buffer()) {
    absl::StatusOr<Record> record = RecordFromProto(r);
    if (!record.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("warmup_buffer: ", record.status().message()));
    }
    d.warmup_buffer_.push_back(*std::move(record));
  }
  const uint64_t expected =
      std::min(d.records_learned_, d.config_.learning.warmup_records);
  if (d.warmup_buffer_.size() != (d.warming_up() ? expected : 0)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("warmup_buffer: %d records for %d learned",
                        d.warmup_buffer_.size(), d.records_learned_));
  }
  d.RefreshGateThreshold();
  return created;
}

absl::Status Detector::RestoreMembers(const v1::ModelState& state) {
  const auto& members = state.members();
  if (members.empty()) {
    return absl::InvalidArgumentError(
        state.has_rule() ? "none, and a version-1 rule that was not migrated"
                         : "none");
  }
  // The layout: the configured one, or the warm-up's single full-width
  // autoencoder while a grouped ensemble has not been formed yet.
  EnsembleOptions layout = config_.ensemble;
  if (members[0].dims().empty()) layout = WarmupLayout(layout);
  if (members.size() % layout.members != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%d saved, not a multiple of the ensemble's %d per group",
        members.size(), layout.members));
  }
  std::vector<std::vector<int>> groups;
  for (int i = 0; i < members.size(); i += layout.members) {
    if (layout.group_size == 0 && !members[i].dims().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "member ", i, " covers a feature group but the ensemble '",
          config_.ensemble.ToString(), "' has none"));
    }
    groups.emplace_back(members[i].dims().begin(), members[i].dims().end());
  }
  if (layout.group_size == 0 && groups.size() != 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%d saved for an ensemble of %d", members.size(), layout.members));
  }
  absl::StatusOr<std::unique_ptr<Ensemble>> model = Ensemble::CreateWithGroups(
      config_.model, layout, config_.model.shape.input_dim, groups);
  if (!model.ok()) return model.status();
  if (absl::Status s = (*model)->LoadMembers(members); !s.ok()) return s;
  model_ = *std::move(model);
  ws_ = model_->MakeWorkspace();
  return absl::OkStatus();
}

}  // namespace dwae
