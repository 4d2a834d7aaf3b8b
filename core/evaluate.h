// The offline evaluation protocol behind `dwae eval`.
//
// Rows may be of either feature schema (all of one); the encoder follows
// it. Unlabeled rows (Record::has_label false) are never trained on; in the
// test set they are scored but left out of accuracy and AUC.
//
// 1. The normal rows of the training file are split (fixed split seed) into
//    fit rows and held-out normal rows; the training file's attack rows are
//    never trained on.
// 2. The encoder is fitted on the fit rows; the model trains online on them
//    for `epochs` passes in a seed-shuffled order.
// 3. Label-free thresholds: the `quantile` of the held-out normal scores, and
//    the adaptive Otsu split of the unlabeled test-score distribution bounded
//    by two held-out quantiles (threshold.h). `threshold_mode` picks the
//    headline one; both are reported.
// 4. Validation metrics (held-out normal rows against the training file's
//    attack rows) are what model and hyper-parameter choices are made on.
//    The test labels are used only to compute the reported metrics and the
//    oracle accuracy, never to choose anything.
//
// Thread-safety: pure functions over their arguments.
#ifndef DWAE_CORE_EVALUATE_H_
#define DWAE_CORE_EVALUATE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/ensemble.h"
#include "core/model.h"
#include "core/record.h"
#include "core/threshold.h"

namespace dwae {

struct EvalOptions {
  // Shape and rule settings; rule.kind and seed are set per run.
  ModelConfig model;
  // How many autoencoders, over which feature groups, and whether their
  // errors are standardized (ensemble.h). The per-dimension scales are fitted
  // on the fit rows after training: no held-out or attack row is involved.
  EnsembleOptions ensemble;
  int epochs = 10;
  // The learning rate decays linearly over the whole schedule from its
  // initial value to this fraction of it (1: constant).
  double final_lr_fraction = 1.0;
  double holdout_fraction = 0.2;
  uint64_t split_seed = 0;
  ThresholdMode threshold_mode = ThresholdMode::kAdaptive;
  double quantile = 0.95;
  double adaptive_lower_quantile = 0.80;
  double adaptive_upper_quantile = 0.99;

  absl::Status Validate() const;
};

// Encoded data shared by every run of one evaluation.
struct EvalData {
  int dim = 0;
  std::vector<float> fit;             // rows x dim, row-major
  std::vector<float> holdout_normal;  // held-out normal training rows
  std::vector<float> train_attacks;   // attack rows of the training file
  std::vector<float> test;
  std::vector<bool> test_is_anomaly;
  // False for unlabeled test rows (e.g. Zeek "Background"): scored, left
  // out of accuracy and AUC.
  std::vector<bool> test_is_labeled;
  size_t rows(const std::vector<float>& m) const { return m.size() / dim; }
};

absl::StatusOr<EvalData> PrepareEvalData(const std::vector<Record>& train,
                                         const std::vector<Record>& test,
                                         const EvalOptions& options);

// Named metrics of one run, in output order.
using Metrics = std::vector<std::pair<std::string, double>>;
// The value named `name`; NaN when absent.
double MetricValue(const Metrics& metrics, absl::string_view name);

struct RunResult {
  RuleKind rule;
  uint64_t seed;
  Metrics metrics;
  double threshold = 0;
  std::vector<float> test_scores;
  // Cumulative weight updates (pulses; parameters x steps for float) after
  // `steps` training steps, at about 20 log-spaced points a decade.
  std::vector<std::pair<uint64_t, uint64_t>> write_trace;
};

absl::StatusOr<RunResult> TrainAndEvaluate(const EvalData& data, RuleKind rule,
                                           uint64_t seed,
                                           const EvalOptions& options);

// Mean and sample standard deviation of each metric over runs.
struct MetricSummary {
  std::string name;
  double mean = 0;
  double stddev = 0;
};
std::vector<MetricSummary> Summarize(const std::vector<RunResult>& runs);

}  // namespace dwae

#endif  // DWAE_CORE_EVALUATE_H_
