#include "client/eval_command.h"

#include <cstdio>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/json.h"
#include "core/dataset.h"
#include "core/encoder.h"

namespace dwae {
namespace {

using RunsByRule = std::vector<std::pair<RuleKind, std::vector<RunResult>>>;

std::string ShapeString(NetworkShape shape) {
  if (shape.input_dim == 0) shape.input_dim = kInputDim;
  return shape.ToString();
}

// The "model" and "device" members of the report.
void AddConfig(const EvalCommandOptions& o, Json& doc) {
  const EvalOptions& e = o.eval;
  const NetworkShape& shape = e.model.shape;
  Json& model = doc["model"];
  model["shape"] = ShapeString(shape);
  Json& ensembles = model["ensembles"] = Json::object();
  for (RuleKind kind : o.rules) {
    ensembles[RuleName(kind)] = o.ensembles[int(kind)].ToString();
  }
  model["scale_floor"] = o.ensembles[0].scale_floor;
  model["group_hidden_ratio"] = o.ensembles[0].group_hidden_ratio;
  model["hidden_activation"] = ActivationName(shape.hidden_activation);
  model["output_activation"] = "sigmoid";
  model["epochs"] = e.epochs;
  model["holdout_fraction"] = e.holdout_fraction;
  Json& rates = model["learning_rates"] = Json::object();
  for (RuleKind kind : o.rules) {
    RuleConfig rc = e.model.rule;
    rc.kind = kind;
    rc.learning_rate = o.learning_rates[int(kind)];
    rates[RuleName(kind)] = rc.EffectiveLearningRate();
  }
  model["weight_alpha_gain"] = e.model.rule.weight_alpha_gain;
  model["bias_alpha"] = e.model.rule.bias_alpha;
  model["shadow_margin"] = e.model.rule.shadow_margin;
  model["threshold_mode"] = ThresholdModeName(e.threshold_mode);
  model["quantile"] = e.quantile;
  model["adaptive_bounds_quantiles"] = {e.adaptive_lower_quantile,
                                        e.adaptive_upper_quantile};
  const DeviceParams& d = e.model.rule.device;
  Json& device = doc["device"];
  device["num_levels"] = d.num_levels;
  device["p_move"] = d.p_move();
  device["p_fail"] = d.p_fail;
  device["p_over"] = d.p_over;
  device["level_sigma"] = d.level_sigma;
  device["energy_per_pulse_joules"] = d.energy_per_pulse_joules;
}

void PrintJson(const EvalCommandOptions& o, const RunsByRule& runs) {
  Json doc;
  doc["train"] = o.train_path;
  doc["test"] = o.test_path;
  doc["seeds"] = o.seeds;
  AddConfig(o, doc);
  Json& results = doc["results"] = Json::object();
  for (const auto& [kind, rule_runs] : runs) {
    Json& rule = results[RuleName(kind)];
    rule["mean"] = Json::object();
    rule["std"] = Json::object();
    for (const MetricSummary& m : Summarize(rule_runs)) {
      rule["mean"][m.name] = m.mean;
      rule["std"][m.name] = m.stddev;
    }
  }
  std::printf("%s\n", DumpJson(doc).c_str());
}

void PrintTable(const EvalCommandOptions& o, const RunsByRule& runs) {
  std::printf("dwae eval: train %s, test %s, %d seed(s), model %s, %d epochs\n",
              o.train_path.c_str(), o.test_path.c_str(), int(o.seeds.size()),
              ShapeString(o.eval.model.shape).c_str(), o.eval.epochs);
  std::printf("ensembles:");
  for (const auto& entry : runs) {
    std::printf(" %s %s", RuleName(entry.first),
                o.ensembles[int(entry.first)].ToString().c_str());
  }
  std::printf("\n");
  std::printf(
      "threshold: %s (label-free); oracle_accuracy uses test labels "
      "and is a reference only\n\n",
      ThresholdModeName(o.eval.threshold_mode));
  std::printf("%-26s", "metric (mean +- std)");
  for (const auto& entry : runs) std::printf("%28s", RuleName(entry.first));
  std::printf("\n");
  std::vector<std::vector<MetricSummary>> summaries;
  for (const auto& entry : runs) summaries.push_back(Summarize(entry.second));
  for (size_t m = 0; m < summaries[0].size(); ++m) {
    std::printf("%-26s", summaries[0][m].name.c_str());
    for (const auto& s : summaries) {
      std::printf(
          "%28s",
          absl::StrFormat("%.6g +- %.3g", s[m].mean, s[m].stddev).c_str());
    }
    std::printf("\n");
  }
}

absl::Status WriteScores(const std::string& path,
                         const std::vector<Record>& test,
                         const RunsByRule& runs) {
  std::ofstream out(path);
  if (!out) return absl::UnavailableError(absl::StrCat(path, ": cannot write"));
  out << "rule,index,score,threshold,label\n";
  for (const auto& [kind, rule_runs] : runs) {
    const RunResult& first = rule_runs.front();
    for (size_t i = 0; i < first.test_scores.size(); ++i) {
      out << absl::StrFormat("%s,%d,%.9g,%.9g,%s\n", RuleName(kind), i,
                             first.test_scores[i], first.threshold,
                             test[i].label);
    }
  }
  out.close();
  if (!out) return absl::DataLossError(absl::StrCat(path, ": write failed"));
  return absl::OkStatus();
}

absl::Status WriteTrace(const std::string& path, const RunsByRule& runs) {
  std::ofstream out(path);
  if (!out) return absl::UnavailableError(absl::StrCat(path, ": cannot write"));
  out << "rule,seed,steps,weight_updates\n";
  for (const auto& [kind, rule_runs] : runs) {
    const RunResult& first = rule_runs.front();
    for (const auto& [steps, updates] : first.write_trace) {
      out << absl::StrFormat("%s,%d,%d,%d\n", RuleName(kind), first.seed, steps,
                             updates);
    }
  }
  out.close();
  if (!out) return absl::DataLossError(absl::StrCat(path, ": write failed"));
  return absl::OkStatus();
}

}  // namespace

absl::Status RunEvalCommand(const EvalCommandOptions& options) {
  EvalCommandOptions o = options;
  if (o.rules.empty() || o.seeds.empty()) {
    return absl::InvalidArgumentError("eval: no rule or no seed to run");
  }
  absl::StatusOr<std::vector<Record>> train =
      LoadFeatureRows(o.train_path, o.format);
  if (!train.ok()) return train.status();
  absl::StatusOr<std::vector<Record>> test =
      LoadFeatureRows(o.test_path, o.format);
  if (!test.ok()) return test.status();
  if (!o.adaptive_quantiles_set && !train->empty()) {
    const AdaptiveQuantiles q = DefaultAdaptiveQuantiles(train->front().schema);
    o.eval.adaptive_lower_quantile = q.lower;
    o.eval.adaptive_upper_quantile = q.upper;
  }
  absl::StatusOr<EvalData> data = PrepareEvalData(*train, *test, o.eval);
  if (!data.ok()) return data.status();

  RunsByRule runs;
  for (RuleKind kind : o.rules) {
    EvalOptions eval = o.eval;
    eval.model.rule.learning_rate = o.learning_rates[int(kind)];
    eval.ensemble = o.ensembles[int(kind)];
    runs.push_back({kind, {}});
    for (uint64_t seed : o.seeds) {
      absl::StatusOr<RunResult> run = TrainAndEvaluate(*data, kind, seed, eval);
      if (!run.ok()) return run.status();
      std::fprintf(stderr, "  %-14s seed %llu: accuracy %.4f auc %.4f\n",
                   RuleName(kind), static_cast<unsigned long long>(seed),
                   MetricValue(run->metrics, "accuracy"),
                   MetricValue(run->metrics, "auc"));
      runs.back().second.push_back(*std::move(run));
    }
  }
  if (!o.scores_out.empty()) {
    if (absl::Status s = WriteScores(o.scores_out, *test, runs); !s.ok()) {
      return s;
    }
  }
  if (!o.trace_out.empty()) {
    if (absl::Status s = WriteTrace(o.trace_out, runs); !s.ok()) return s;
  }
  // The printed shape is the data's width (125 for NSL-KDD, the schema's
  // for Zeek), not the default.
  EvalCommandOptions shown = o;
  shown.eval.model.shape.input_dim = data->dim;
  if (o.json) {
    PrintJson(shown, runs);
  } else {
    PrintTable(shown, runs);
  }
  return absl::OkStatus();
}

}  // namespace dwae
