#include "core/evaluate.h"

#include <chrono>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/encoder.h"
#include "core/metrics.h"
#include "core/rng.h"

namespace dwae {
namespace {

std::vector<float> EncodeRows(const FeatureEncoder& encoder,
                              const std::vector<const Record*>& rows) {
  const size_t dim = static_cast<size_t>(encoder.input_dim());
  std::vector<float> out(rows.size() * dim);
  for (size_t i = 0; i < rows.size(); ++i) {
    encoder.Encode(*rows[i], &out[i * dim]);
  }
  return out;
}

std::vector<float> ScoreRows(const Ensemble& model,
                             const std::vector<float>& rows, int dim) {
  EnsembleWorkspace ws = model.MakeWorkspace();
  std::vector<float> scores(rows.size() / dim);
  for (size_t i = 0; i < scores.size(); ++i) {
    scores[i] = model.Score(&rows[i * dim], &ws);
  }
  return scores;
}

void Shuffle(std::vector<int>* order, Rng* rng) {
  for (size_t i = order->size(); i > 1; --i) {
    std::swap((*order)[i - 1], (*order)[rng->Below(i)]);
  }
}

// Trains `model` online for `epochs` passes over `rows`, decaying the
// learning rate linearly to `final_lr_fraction` of its initial value.
// Appends (steps, weight updates) to `trace` at log-spaced steps.
void Train(const std::vector<float>& rows, int dim, int epochs,
           double final_lr_fraction, uint64_t seed, Ensemble* model,
           std::vector<std::pair<uint64_t, uint64_t>>* trace) {
  std::vector<int> order(rows.size() / dim);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(HashPair(seed, 0x5f1e));
  const double lr0 = model->learning_rate();
  const double total = double(order.size()) * epochs;
  double step = 0;
  uint64_t next_trace = 1;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    Shuffle(&order, &rng);
    for (int i : order) {
      if (final_lr_fraction != 1.0) {
        const double scale = 1.0 - (1.0 - final_lr_fraction) * (step / total);
        model->set_learning_rate(float(lr0 * scale));
      }
      model->Learn(&rows[size_t(i) * dim]);
      step += 1;
      if (uint64_t(step) == next_trace || step == total) {
        trace->push_back({uint64_t(step), model->weight_updates()});
        next_trace = std::max<uint64_t>(
            next_trace + 1, uint64_t(std::ceil(double(next_trace) * 1.122)));
      }
    }
  }
}

}  // namespace

absl::Status EvalOptions::Validate() const {
  if (epochs < 1 || epochs > 10000) {
    return absl::InvalidArgumentError(
        absl::StrFormat("epochs: %d is outside [1, 10000]", epochs));
  }
  if (!(final_lr_fraction >= 0 && final_lr_fraction <= 1)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "final_lr_fraction: %g is outside [0, 1]", final_lr_fraction));
  }
  if (!(holdout_fraction > 0 && holdout_fraction < 1)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "holdout_fraction: %g is outside (0, 1)", holdout_fraction));
  }
  for (double q :
       {quantile, adaptive_lower_quantile, adaptive_upper_quantile}) {
    if (!(q >= 0 && q <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("quantile: %g is outside [0, 1]", q));
    }
  }
  if (adaptive_lower_quantile > adaptive_upper_quantile) {
    return absl::InvalidArgumentError(
        "adaptive_lower_quantile: exceeds adaptive_upper_quantile");
  }
  if (absl::Status s = ensemble.Validate(); !s.ok()) return s;
  ModelConfig resolved = model;
  if (resolved.shape.input_dim == 0) resolved.shape.input_dim = kInputDim;
  return resolved.Validate();
}

absl::StatusOr<EvalData> PrepareEvalData(const std::vector<Record>& train,
                                         const std::vector<Record>& test,
                                         const EvalOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  if (train.empty()) return absl::InvalidArgumentError("train: no rows");
  const FeatureSchema schema = train[0].schema;
  for (const std::vector<Record>* rows : {&train, &test}) {
    for (const Record& r : *rows) {
      if (r.schema != schema) {
        return absl::InvalidArgumentError(
            absl::StrCat(rows == &train ? "train" : "test", ": ",
                         CheckSchema(schema, r.schema).message()));
      }
    }
  }
  std::vector<const Record*> normal, attacks, test_rows;
  // Unlabeled training rows (a Zeek "Background") are neither.
  for (const Record& r : train) {
    if (r.is_normal()) {
      normal.push_back(&r);
    } else if (r.has_label()) {
      attacks.push_back(&r);
    }
  }
  if (normal.size() < 10) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "train: %d normal rows; at least 10 are needed", normal.size()));
  }
  if (test.empty()) return absl::InvalidArgumentError("test: no rows");
  Rng rng(HashPair(options.split_seed, 0x5b1175));
  for (size_t i = normal.size(); i > 1; --i) {
    std::swap(normal[i - 1], normal[rng.Below(i)]);
  }
  const size_t holdout = std::max<size_t>(
      1, static_cast<size_t>(
             std::lround(normal.size() * options.holdout_fraction)));
  std::vector<const Record*> holdout_rows(normal.end() - holdout, normal.end());
  normal.resize(normal.size() - holdout);

  std::vector<Record> fit_records;
  for (const Record* r : normal) fit_records.push_back(*r);
  FeatureEncoder encoder(schema);
  encoder.Fit(fit_records);

  EvalData data;
  data.dim = encoder.input_dim();
  data.fit = EncodeRows(encoder, normal);
  data.holdout_normal = EncodeRows(encoder, holdout_rows);
  data.train_attacks = EncodeRows(encoder, attacks);
  for (const Record& r : test) {
    test_rows.push_back(&r);
    data.test_is_anomaly.push_back(r.has_label() && !r.is_normal());
    data.test_is_labeled.push_back(r.has_label());
  }
  data.test = EncodeRows(encoder, test_rows);
  return data;
}

absl::StatusOr<RunResult> TrainAndEvaluate(const EvalData& data, RuleKind rule,
                                           uint64_t seed,
                                           const EvalOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  ModelConfig config = options.model;
  config.rule.kind = rule;
  config.seed = seed;
  config.shape.input_dim = data.dim;
  absl::StatusOr<std::unique_ptr<Ensemble>> created =
      Ensemble::Create(config, options.ensemble, data.dim, data.fit);
  if (!created.ok()) return created.status();
  Ensemble& model = **created;

  RunResult result{rule, seed, {}, 0, {}, {}};
  const auto start = std::chrono::steady_clock::now();
  Train(data.fit, data.dim, options.epochs, options.final_lr_fraction, seed,
        &model, &result.write_trace);
  const double train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  model.FitScale(data.fit);

  const std::vector<float> holdout =
      ScoreRows(model, data.holdout_normal, data.dim);
  result.test_scores = ScoreRows(model, data.test, data.dim);
  const std::vector<float>& scores = result.test_scores;

  const double quantile_threshold = Quantile(holdout, options.quantile);
  ScoreHistogram histogram;
  for (float s : scores) histogram.Add(s);
  const AdaptiveBounds bounds{
      Quantile(holdout, options.adaptive_lower_quantile),
      Quantile(holdout, options.adaptive_upper_quantile)};
  const double adaptive_threshold = AdaptiveThreshold(histogram, bounds);
  result.threshold = options.threshold_mode == ThresholdMode::kQuantile
                         ? quantile_threshold
                         : adaptive_threshold;

  // Validation: held-out normal rows against the training file's attacks.
  std::vector<float> val_scores = holdout;
  std::vector<bool> val_is_anomaly(holdout.size(), false);
  for (float s : ScoreRows(model, data.train_attacks, data.dim)) {
    val_scores.push_back(s);
    val_is_anomaly.push_back(true);
  }

  ScoreHistogram val_histogram;
  for (float s : val_scores) val_histogram.Add(s);
  const double val_adaptive_threshold =
      AdaptiveThreshold(val_histogram, bounds);

  // Accuracy and AUC count the labeled test rows only (every row was
  // scored, and all of them shaped the adaptive threshold).
  std::vector<float> labeled_scores;
  std::vector<bool> is_anomaly;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (!data.test_is_labeled[i]) continue;
    labeled_scores.push_back(scores[i]);
    is_anomaly.push_back(data.test_is_anomaly[i]);
  }
  const Confusion c = Classify(labeled_scores, is_anomaly, result.threshold);
  const DeviceCounters devices = model.device_counters();
  const double updates = double(model.weight_updates());
  const double baseline = double(model.float_equivalent_updates());
  result.metrics = {
      {"accuracy", c.accuracy()},
      {"precision", c.precision()},
      {"recall", c.recall()},
      {"f1", c.f1()},
      {"auc", RocAuc(labeled_scores, is_anomaly)},
      {"fpr", c.fpr()},
      {"threshold", result.threshold},
      {"oracle_accuracy", OracleAccuracy(labeled_scores, is_anomaly).accuracy},
      {"weight_updates", updates},
      {"update_reduction", updates > 0 ? baseline / updates : 0.0},
      {"level_changes", double(devices.level_changes)},
      {"write_energy_joules", devices.energy_joules(config.rule.device)},
      {"train_seconds", train_seconds},
      {"train_records_per_second", double(model.steps()) / train_seconds},
      {"model_bytes", double(model.model_bytes())},
      {"accuracy_quantile",
       Classify(labeled_scores, is_anomaly, quantile_threshold).accuracy()},
      {"threshold_quantile", quantile_threshold},
      {"accuracy_adaptive",
       Classify(labeled_scores, is_anomaly, adaptive_threshold).accuracy()},
      {"threshold_adaptive", adaptive_threshold},
      {"val_auc", RocAuc(val_scores, val_is_anomaly)},
      {"val_accuracy_quantile",
       Classify(val_scores, val_is_anomaly, quantile_threshold).accuracy()},
      {"val_accuracy_adaptive",
       Classify(val_scores, val_is_anomaly, val_adaptive_threshold).accuracy()},
      {"pulse_failures", double(devices.failures)},
      {"pulse_overshoots", double(devices.overshoots)},
      {"steps", double(model.steps())},
      {"parameters", double(model.num_parameters())},
      {"members", double(model.num_members())},
  };
  return result;
}

double MetricValue(const Metrics& metrics, absl::string_view name) {
  for (const auto& [key, value] : metrics) {
    if (key == name) return value;
  }
  return std::nan("");
}

std::vector<MetricSummary> Summarize(const std::vector<RunResult>& runs) {
  std::vector<MetricSummary> out;
  if (runs.empty()) return out;
  for (size_t m = 0; m < runs[0].metrics.size(); ++m) {
    MetricSummary s{runs[0].metrics[m].first, 0, 0};
    for (const RunResult& r : runs) s.mean += r.metrics[m].second;
    s.mean /= double(runs.size());
    if (runs.size() > 1) {
      double ss = 0;
      for (const RunResult& r : runs) {
        ss += (r.metrics[m].second - s.mean) * (r.metrics[m].second - s.mean);
      }
      s.stddev = std::sqrt(ss / double(runs.size() - 1));
    }
    out.push_back(s);
  }
  return out;
}

}  // namespace dwae
