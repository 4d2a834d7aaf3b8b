// DetectorConfig: every setting of a live detector (model, devices,
// learning policy, threshold, serving limits), resolved from the
// dwae.v1.DaemonConfig message (proto/dwae/v1/config.proto) that operators
// write as text and that every checkpoint carries. Unset proto fields take
// the defaults of the structs below, which are the defaults of core/.
//
// Thread-safety: values and pure functions.
#ifndef DWAE_CORE_CONFIG_H_
#define DWAE_CORE_CONFIG_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/encoder.h"
#include "core/ensemble.h"
#include "core/feature_schema.h"
#include "core/model.h"
#include "core/threshold.h"
#include "dwae/v1/config.pb.h"

namespace dwae {

struct LearningPolicy {
  uint64_t warmup_records = 10000;
  int warmup_epochs = 10;
  double warmup_holdout_fraction = 0.2;
  uint32_t queue_capacity = 8192;
  bool drop_when_full = false;
  double publish_interval_seconds = 0.05;
  double flood_anomaly_share = 0.5;
};

struct ThresholdPolicy {
  ThresholdMode mode = ThresholdMode::kAdaptive;
  double quantile = 0.95;
  double adaptive_lower_quantile = 0.80;
  double adaptive_upper_quantile = 0.99;
  double half_life_records = 20000;
  double anchor_share = 0.2;
};

struct ServingPolicy {
  uint32_t max_batch_records = 4096;
  uint32_t default_top_k = 3;
  uint32_t verdict_window = 20000;
  uint32_t max_sensors = 256;
};

struct DetectorConfig {
  DetectorConfig();  // dw-shadow, the best rule of the offline evaluation
  // The features the model learns; model.shape.input_dim follows it (use
  // SetSchema).
  FeatureSchema schema = FeatureSchema::kKdd;
  ModelConfig model;
  // The served model as an ensemble (model.ensemble; default
  // DaemonDefaultEnsemble(rule)). Feature groups (group_size > 0) are formed on
  // the fit rows at the end of the warm-up; until then one full-width
  // autoencoder learns (detector.h).
  EnsembleOptions ensemble;
  LearningPolicy learning;
  ThresholdPolicy threshold;
  ServingPolicy serving;

  // Sets the schema and the input width; the adaptive threshold's bounds
  // follow the schema's defaults (DefaultAdaptiveQuantiles) unless they were
  // changed from the previous schema's.
  void SetSchema(FeatureSchema s);

  // Errors name the setting, e.g. "learning.warmup_records: ...".
  absl::Status Validate() const;
};

// The daemon's ensemble when model.ensemble is unset: k5-g32 for
// dw-stochastic, k1 (one autoencoder) for the other rules.
EnsembleOptions DaemonDefaultEnsemble(RuleKind rule);

// Resolves `proto` over the defaults and validates the result.
absl::StatusOr<DetectorConfig> DetectorConfigFromProto(
    const v1::DaemonConfig& proto);
// The fully resolved settings, every field set.
v1::DaemonConfig DetectorConfigToProto(const DetectorConfig& config);
// Parses the text format of dwae.v1.DaemonConfig; errors carry the line and
// column of the problem.
absl::StatusOr<v1::DaemonConfig> ParseDaemonConfigText(absl::string_view text);

}  // namespace dwae

#endif  // DWAE_CORE_CONFIG_H_
