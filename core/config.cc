#include "core/config.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/encoder.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace dwae {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

// Collects text-format parse errors with their position.
class ErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (error.empty()) {
      error = absl::StrFormat("line %d column %d: %s", line + 1, column + 1,
                              message);
    }
  }
  std::string error;
};

absl::Status ApplyModel(const v1::ModelSettings& m, ModelConfig* out) {
  if (m.hidden_size() > 0) {
    out->shape.hidden.assign(m.hidden().begin(), m.hidden().end());
  }
  if (m.has_activation()) {
    absl::StatusOr<Activation> a = ParseActivation(m.activation());
    if (!a.ok()) return Invalid("model.activation", a.status().message());
    out->shape.hidden_activation = *a;
  }
  if (m.has_rule()) {
    absl::StatusOr<RuleKind> r = ParseRuleKind(m.rule());
    if (!r.ok()) return Invalid("model.rule", r.status().message());
    out->rule.kind = *r;
  }
  RuleConfig& rule = out->rule;
  if (m.has_learning_rate()) rule.learning_rate = float(m.learning_rate());
  if (m.has_weight_alpha_gain()) {
    rule.weight_alpha_gain = float(m.weight_alpha_gain());
  }
  if (m.has_bias_alpha()) rule.bias_alpha = float(m.bias_alpha());
  if (m.has_shadow_margin()) rule.shadow_margin = float(m.shadow_margin());
  if (m.has_seed()) out->seed = m.seed();
  return absl::OkStatus();
}

void ApplyDevice(const v1::DeviceSettings& d, DeviceParams* out) {
  if (d.has_num_levels()) out->num_levels = d.num_levels();
  if (d.has_p_fail()) out->p_fail = d.p_fail();
  if (d.has_p_over()) out->p_over = d.p_over();
  if (d.has_level_sigma()) out->level_sigma = d.level_sigma();
  if (d.has_energy_per_pulse_joules()) {
    out->energy_per_pulse_joules = d.energy_per_pulse_joules();
  }
}

void ApplyLearning(const v1::LearningSettings& l, LearningPolicy* out) {
  if (l.has_warmup_records()) out->warmup_records = l.warmup_records();
  if (l.has_warmup_epochs()) out->warmup_epochs = int(l.warmup_epochs());
  if (l.has_warmup_holdout_fraction()) {
    out->warmup_holdout_fraction = l.warmup_holdout_fraction();
  }
  if (l.has_queue_capacity()) out->queue_capacity = l.queue_capacity();
  if (l.has_drop_when_full()) out->drop_when_full = l.drop_when_full();
  if (l.has_publish_interval_seconds()) {
    out->publish_interval_seconds = l.publish_interval_seconds();
  }
  if (l.has_flood_anomaly_share()) {
    out->flood_anomaly_share = l.flood_anomaly_share();
  }
}

absl::Status ApplyThreshold(const v1::ThresholdSettings& t,
                            ThresholdPolicy* out) {
  if (t.has_mode()) {
    switch (t.mode()) {
      case v1::THRESHOLD_MODE_QUANTILE:
        out->mode = ThresholdMode::kQuantile;
        break;
      case v1::THRESHOLD_MODE_ADAPTIVE:
        out->mode = ThresholdMode::kAdaptive;
        break;
      default:
        return Invalid("threshold.mode", "must be QUANTILE or ADAPTIVE");
    }
  }
  if (t.has_quantile()) out->quantile = t.quantile();
  if (t.has_adaptive_lower_quantile()) {
    out->adaptive_lower_quantile = t.adaptive_lower_quantile();
  }
  if (t.has_adaptive_upper_quantile()) {
    out->adaptive_upper_quantile = t.adaptive_upper_quantile();
  }
  if (t.has_half_life_records()) out->half_life_records = t.half_life_records();
  if (t.has_anchor_share()) out->anchor_share = t.anchor_share();
  return absl::OkStatus();
}

void ApplyServing(const v1::ServingSettings& s, ServingPolicy* out) {
  if (s.has_max_batch_records()) out->max_batch_records = s.max_batch_records();
  if (s.has_default_top_k()) out->default_top_k = s.default_top_k();
  if (s.has_verdict_window()) out->verdict_window = s.verdict_window();
  if (s.has_max_sensors()) out->max_sensors = s.max_sensors();
}

bool InUnitInterval(double x) { return x >= 0 && x <= 1; }

}  // namespace

EnsembleOptions DaemonDefaultEnsemble(RuleKind rule) {
  // Measured in docs/daemon.md ("Ensembles"): dw-stochastic takes the
  // offline evaluation's validated k5-g32; for dw-shadow and float the
  // evaluation's K = 5 was a validation tie that costs the daemon half its
  // stream throughput, so they keep one autoencoder (dw-shadow's scored by
  // absolute errors, which won on validation at K = 1 too).
  if (rule == RuleKind::kDwStochastic) return DefaultEnsemble(rule);
  EnsembleOptions o;
  o.absolute_error = rule == RuleKind::kDwShadow;
  return o;
}

DetectorConfig::DetectorConfig() {
  model.shape.input_dim = kInputDim;
  model.rule.kind = RuleKind::kDwShadow;
  ensemble = DaemonDefaultEnsemble(model.rule.kind);
}

void DetectorConfig::SetSchema(FeatureSchema s) {
  const AdaptiveQuantiles old = DefaultAdaptiveQuantiles(schema);
  if (threshold.adaptive_lower_quantile == old.lower &&
      threshold.adaptive_upper_quantile == old.upper) {
    const AdaptiveQuantiles q = DefaultAdaptiveQuantiles(s);
    threshold.adaptive_lower_quantile = q.lower;
    threshold.adaptive_upper_quantile = q.upper;
  }
  schema = s;
  model.shape.input_dim = InputDim(s);
}

absl::Status DetectorConfig::Validate() const {
  if (model.shape.input_dim != InputDim(schema)) {
    return Invalid("model.input_dim",
                   absl::StrCat("must be ", InputDim(schema), " for schema ",
                                FeatureSchemaName(schema)));
  }
  if (absl::Status s = model.Validate(); !s.ok()) return s;
  if (absl::Status s = ensemble.Validate(); !s.ok()) {
    return Invalid("model.ensemble", s.message());
  }
  const LearningPolicy& l = learning;
  if (l.warmup_records < 20 || l.warmup_records > 1000000) {
    return Invalid("learning.warmup_records", "must be in [20, 1000000]");
  }
  if (l.warmup_epochs < 0 || l.warmup_epochs > 1000) {
    return Invalid("learning.warmup_epochs", "must be in [0, 1000]");
  }
  if (!(l.warmup_holdout_fraction > 0 && l.warmup_holdout_fraction < 1)) {
    return Invalid("learning.warmup_holdout_fraction", "must be in (0, 1)");
  }
  if (l.queue_capacity < 1 || l.queue_capacity > (1u << 24)) {
    return Invalid("learning.queue_capacity", "must be in [1, 16777216]");
  }
  if (!(l.publish_interval_seconds > 0 && l.publish_interval_seconds <= 60)) {
    return Invalid("learning.publish_interval_seconds", "must be in (0, 60]");
  }
  if (!InUnitInterval(l.flood_anomaly_share)) {
    return Invalid("learning.flood_anomaly_share", "must be in [0, 1]");
  }
  const ThresholdPolicy& t = threshold;
  if (!InUnitInterval(t.quantile)) {
    return Invalid("threshold.quantile", "must be in [0, 1]");
  }
  if (!InUnitInterval(t.adaptive_lower_quantile) ||
      !InUnitInterval(t.adaptive_upper_quantile) ||
      t.adaptive_lower_quantile > t.adaptive_upper_quantile) {
    return Invalid("threshold.adaptive_lower_quantile",
                   "bounds must satisfy 0 <= lower <= upper <= 1");
  }
  if (!(t.anchor_share >= 0 && t.anchor_share < 1)) {
    return Invalid("threshold.anchor_share", "must be in [0, 1)");
  }
  if (!(t.half_life_records >= 10 && std::isfinite(t.half_life_records))) {
    return Invalid("threshold.half_life_records", "must be >= 10");
  }
  const ServingPolicy& s = serving;
  if (s.max_batch_records < 1 || s.max_batch_records > 100000) {
    return Invalid("serving.max_batch_records", "must be in [1, 100000]");
  }
  if (s.default_top_k > 32) {
    return Invalid("serving.default_top_k", "must be at most 32");
  }
  if (s.verdict_window < 1 || s.verdict_window > 10000000) {
    return Invalid("serving.verdict_window", "must be in [1, 10000000]");
  }
  if (s.max_sensors < 1 || s.max_sensors > 1000000) {
    return Invalid("serving.max_sensors", "must be in [1, 1000000]");
  }
  return absl::OkStatus();
}

absl::StatusOr<DetectorConfig> DetectorConfigFromProto(
    const v1::DaemonConfig& proto) {
  DetectorConfig config;
  if (absl::Status s = ApplyModel(proto.model(), &config.model); !s.ok()) {
    return s;
  }
  if (proto.model().has_feature_schema()) {
    absl::StatusOr<FeatureSchema> schema =
        ParseFeatureSchema(proto.model().feature_schema());
    if (!schema.ok()) {
      return Invalid("model.feature_schema", schema.status().message());
    }
    config.SetSchema(*schema);
  }
  config.ensemble = DaemonDefaultEnsemble(config.model.rule.kind);
  if (proto.model().has_ensemble()) {
    absl::StatusOr<EnsembleOptions> ensemble =
        ParseEnsembleSpec(proto.model().ensemble(), config.ensemble);
    if (!ensemble.ok()) {
      return Invalid("model.ensemble", ensemble.status().message());
    }
    config.ensemble = *ensemble;
  }
  ApplyDevice(proto.device(), &config.model.rule.device);
  ApplyLearning(proto.learning(), &config.learning);
  if (absl::Status s = ApplyThreshold(proto.threshold(), &config.threshold);
      !s.ok()) {
    return s;
  }
  ApplyServing(proto.serving(), &config.serving);
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  return config;
}

v1::DaemonConfig DetectorConfigToProto(const DetectorConfig& c) {
  v1::DaemonConfig p;
  v1::ModelSettings* m = p.mutable_model();
  for (int width : c.model.shape.hidden) m->add_hidden(width);
  m->set_activation(ActivationName(c.model.shape.hidden_activation));
  m->set_rule(RuleName(c.model.rule.kind));
  m->set_learning_rate(c.model.rule.EffectiveLearningRate());
  m->set_weight_alpha_gain(c.model.rule.weight_alpha_gain);
  m->set_bias_alpha(c.model.rule.bias_alpha);
  m->set_shadow_margin(c.model.rule.shadow_margin);
  m->set_seed(c.model.seed);
  m->set_feature_schema(FeatureSchemaName(c.schema));
  m->set_ensemble(c.ensemble.ToString());
  const DeviceParams& d = c.model.rule.device;
  v1::DeviceSettings* dp = p.mutable_device();
  dp->set_num_levels(d.num_levels);
  dp->set_p_fail(d.p_fail);
  dp->set_p_over(d.p_over);
  dp->set_level_sigma(d.level_sigma);
  dp->set_energy_per_pulse_joules(d.energy_per_pulse_joules);
  v1::LearningSettings* l = p.mutable_learning();
  l->set_warmup_records(c.learning.warmup_records);
  l->set_warmup_epochs(c.learning.warmup_epochs);
  l->set_warmup_holdout_fraction(c.learning.warmup_holdout_fraction);
  l->set_queue_capacity(c.learning.queue_capacity);
  l->set_drop_when_full(c.learning.drop_when_full);
  l->set_publish_interval_seconds(c.learning.publish_interval_seconds);
  l->set_flood_anomaly_share(c.learning.flood_anomaly_share);
  v1::ThresholdSettings* t = p.mutable_threshold();
  t->set_mode(c.threshold.mode == ThresholdMode::kQuantile
                  ? v1::THRESHOLD_MODE_QUANTILE
                  : v1::THRESHOLD_MODE_ADAPTIVE);
  t->set_quantile(c.threshold.quantile);
  t->set_adaptive_lower_quantile(c.threshold.adaptive_lower_quantile);
  t->set_adaptive_upper_quantile(c.threshold.adaptive_upper_quantile);
  t->set_half_life_records(c.threshold.half_life_records);
  t->set_anchor_share(c.threshold.anchor_share);
  v1::ServingSettings* s = p.mutable_serving();
  s->set_max_batch_records(c.serving.max_batch_records);
  s->set_default_top_k(c.serving.default_top_k);
  s->set_verdict_window(c.serving.verdict_window);
  s->set_max_sensors(c.serving.max_sensors);
  return p;
}

absl::StatusOr<v1::DaemonConfig> ParseDaemonConfigText(absl::string_view text) {
  google::protobuf::TextFormat::Parser parser;
  ErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  v1::DaemonConfig config;
  if (!parser.ParseFromString(std::string(text), &config)) {
    return absl::InvalidArgumentError(errors.error.empty() ? "parse error"
                                                           : errors.error);
  }
  return config;
}

}  // namespace dwae
