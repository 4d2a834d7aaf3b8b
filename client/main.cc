// dwae: the command-line client. Flags live here only; each subcommand gets
// a documented options struct built from them.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "client/eval_command.h"
#include "client/replay_command.h"

ABSL_FLAG(std::string, train, "data/nsl-kdd/KDDTrain+_20Percent.txt",
          "eval: training file; only its normal rows are learned");
ABSL_FLAG(std::string, test, "data/nsl-kdd/KDDTest+.txt",
          "eval: labelled test file");
ABSL_FLAG(std::string, format, "nsl-kdd", "record format: nsl-kdd or kdd99");
ABSL_FLAG(std::string, rule, "all",
          "eval: float, dw-shadow, dw-stochastic or all");
ABSL_FLAG(int, seeds, 1, "eval: number of seeds (1..N)");
ABSL_FLAG(bool, json, false, "print one JSON object");
ABSL_FLAG(std::string, scores_out, "",
          "eval: CSV of the first seed's test scores per rule");
ABSL_FLAG(int, epochs, dwae::EvalOptions().epochs,
          "eval: passes over the normal training rows");
ABSL_FLAG(std::string, hidden, "32", "hidden layer widths, e.g. 32 or 64,32");
ABSL_FLAG(std::string, activation, "sigmoid",
          "hidden activation: sigmoid, relu or tanh");
ABSL_FLAG(double, lr_float, -1, "float rule learning rate (<0: default)");
ABSL_FLAG(double, lr_shadow, -1, "dw-shadow learning rate (<0: default)");
ABSL_FLAG(double, lr_stochastic, -1,
          "dw-stochastic learning rate (<0: default)");
ABSL_FLAG(double, alpha_gain, dwae::RuleConfig().weight_alpha_gain,
          "device level spacing of layer l: alpha_gain / sqrt(fan_in)");
ABSL_FLAG(double, bias_alpha, dwae::RuleConfig().bias_alpha,
          "device level spacing of biases");
ABSL_FLAG(double, shadow_margin, dwae::RuleConfig().shadow_margin,
          "dw-shadow hysteresis, units of alpha");
ABSL_FLAG(int, levels, dwae::DeviceParams().num_levels, "device notches");
ABSL_FLAG(double, p_fail, dwae::DeviceParams().p_fail,
          "probability a pulse fails to depin");
ABSL_FLAG(double, p_over, dwae::DeviceParams().p_over,
          "probability a pulse overshoots a notch");
ABSL_FLAG(double, level_sigma, dwae::DeviceParams().level_sigma,
          "device-to-device level spread, units of alpha");
ABSL_FLAG(double, energy_per_pulse,
          dwae::DeviceParams().energy_per_pulse_joules, "joules per SOT pulse");
ABSL_FLAG(std::string, threshold, "adaptive",
          "headline threshold: quantile or adaptive");
ABSL_FLAG(double, quantile, dwae::EvalOptions().quantile,
          "quantile of held-out normal scores for the quantile threshold");
ABSL_FLAG(double, adaptive_lower, dwae::EvalOptions().adaptive_lower_quantile,
          "adaptive threshold lower bound, as a held-out quantile");
ABSL_FLAG(double, adaptive_upper, dwae::EvalOptions().adaptive_upper_quantile,
          "adaptive threshold upper bound, as a held-out quantile");
ABSL_FLAG(double, final_lr, dwae::EvalOptions().final_lr_fraction,
          "eval: learning rate decays linearly to this fraction of itself");
ABSL_FLAG(double, holdout, dwae::EvalOptions().holdout_fraction,
          "fraction of normal training rows held out");
ABSL_FLAG(std::string, server, "127.0.0.1:50051",
          "dwaed gRPC address host:port");
ABSL_FLAG(std::string, filter_label, "",
          "replay: send only rows with this label, e.g. normal");
ABSL_FLAG(std::string, learn, "default",
          "replay: learning mode of every batch: default, all, gated, off or "
          "labeled-normal");
ABSL_FLAG(int, batch, dwae::ReplayCommandOptions().batch,
          "replay: records per batch");
ABSL_FLAG(std::string, verdicts_out, "",
          "replay: write one JSON line per verdict to this file");
ABSL_FLAG(std::string, sensor_id, dwae::ReplayCommandOptions().sensor_id,
          "replay: sensor_id of every record sent");

namespace dwae {
namespace {

constexpr char kUsage[] =
    "dwae: client for the dwae anomaly detector\n\n"
    "usage: dwae COMMAND [flags]\n\n"
    "commands:\n"
    "  eval    train and evaluate the autoencoder offline\n"
    "          dwae eval --train data/nsl-kdd/KDDTrain+_20Percent.txt \\\n"
    "                    --test data/nsl-kdd/KDDTest+.txt --rule all "
    "--seeds 5 --json\n"
    "  replay  stream a record file to dwaed and report the verdicts\n"
    "          dwae replay --server=127.0.0.1:50051 [--format=nsl-kdd|kdd99] "
    "\\\n"
    "                      [--filter_label=normal] "
    "[--learn=default|all|gated|off|labeled-normal] \\\n"
    "                      [--batch=512] [--json] [--verdicts_out=FILE] "
    "[--sensor_id=replay] FILE\n";

int UsageError(const std::string& message) {
  std::fprintf(stderr, "dwae: %s\n(see dwae --help)\n", message.c_str());
  return 2;
}

absl::StatusOr<EvalCommandOptions> EvalOptionsFromFlags() {
  EvalCommandOptions o;
  o.train_path = absl::GetFlag(FLAGS_train);
  o.test_path = absl::GetFlag(FLAGS_test);
  absl::StatusOr<RecordFormat> format =
      ParseRecordFormat(absl::GetFlag(FLAGS_format));
  if (!format.ok()) return format.status();
  o.format = *format;
  const std::string rule = absl::GetFlag(FLAGS_rule);
  if (rule == "all") {
    o.rules = {RuleKind::kFloat, RuleKind::kDwShadow, RuleKind::kDwStochastic};
  } else {
    absl::StatusOr<RuleKind> kind = ParseRuleKind(rule);
    if (!kind.ok()) return kind.status();
    o.rules = {*kind};
  }
  const int seeds = absl::GetFlag(FLAGS_seeds);
  if (seeds < 1 || seeds > 1000) {
    return absl::InvalidArgumentError("--seeds: must be in [1, 1000]");
  }
  for (int s = 1; s <= seeds; ++s) o.seeds.push_back(s);
  o.learning_rates[int(RuleKind::kFloat)] = absl::GetFlag(FLAGS_lr_float);
  o.learning_rates[int(RuleKind::kDwShadow)] = absl::GetFlag(FLAGS_lr_shadow);
  o.learning_rates[int(RuleKind::kDwStochastic)] =
      absl::GetFlag(FLAGS_lr_stochastic);
  o.json = absl::GetFlag(FLAGS_json);
  o.scores_out = absl::GetFlag(FLAGS_scores_out);

  EvalOptions& e = o.eval;
  e.epochs = absl::GetFlag(FLAGS_epochs);
  e.holdout_fraction = absl::GetFlag(FLAGS_holdout);
  e.final_lr_fraction = absl::GetFlag(FLAGS_final_lr);
  e.quantile = absl::GetFlag(FLAGS_quantile);
  e.adaptive_lower_quantile = absl::GetFlag(FLAGS_adaptive_lower);
  e.adaptive_upper_quantile = absl::GetFlag(FLAGS_adaptive_upper);
  absl::StatusOr<ThresholdMode> mode =
      ParseThresholdMode(absl::GetFlag(FLAGS_threshold));
  if (!mode.ok()) return mode.status();
  e.threshold_mode = *mode;
  e.model.shape.hidden.clear();
  for (absl::string_view part :
       absl::StrSplit(absl::GetFlag(FLAGS_hidden), ',')) {
    int width = 0;
    if (!absl::SimpleAtoi(part, &width)) {
      return absl::InvalidArgumentError("--hidden: expected widths like 32,16");
    }
    e.model.shape.hidden.push_back(width);
  }
  absl::StatusOr<Activation> act =
      ParseActivation(absl::GetFlag(FLAGS_activation));
  if (!act.ok()) return act.status();
  e.model.shape.hidden_activation = *act;
  RuleConfig& r = e.model.rule;
  r.weight_alpha_gain = float(absl::GetFlag(FLAGS_alpha_gain));
  r.bias_alpha = float(absl::GetFlag(FLAGS_bias_alpha));
  r.shadow_margin = float(absl::GetFlag(FLAGS_shadow_margin));
  r.device.num_levels = absl::GetFlag(FLAGS_levels);
  r.device.p_fail = absl::GetFlag(FLAGS_p_fail);
  r.device.p_over = absl::GetFlag(FLAGS_p_over);
  r.device.level_sigma = absl::GetFlag(FLAGS_level_sigma);
  r.device.energy_per_pulse_joules = absl::GetFlag(FLAGS_energy_per_pulse);
  // Every value is checked before any file is read.
  if (absl::Status s = e.Validate(); !s.ok()) return s;
  return o;
}

absl::StatusOr<ReplayCommandOptions> ReplayOptionsFromFlags(
    const std::string& path) {
  ReplayCommandOptions o;
  o.path = path;
  o.server = absl::GetFlag(FLAGS_server);
  absl::StatusOr<RecordFormat> format =
      ParseRecordFormat(absl::GetFlag(FLAGS_format));
  if (!format.ok()) return format.status();
  o.format = *format;
  o.filter_label = absl::GetFlag(FLAGS_filter_label);
  absl::StatusOr<v1::LearningMode> learn =
      ParseLearningMode(absl::GetFlag(FLAGS_learn));
  if (!learn.ok()) return learn.status();
  o.learning = *learn;
  o.batch = absl::GetFlag(FLAGS_batch);
  o.json = absl::GetFlag(FLAGS_json);
  o.verdicts_out = absl::GetFlag(FLAGS_verdicts_out);
  o.sensor_id = absl::GetFlag(FLAGS_sensor_id);
  if (absl::Status s = o.Validate(); !s.ok()) return s;
  return o;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 2) return UsageError("missing command");
  const std::string command = args[1];
  if (command == "help") {
    std::printf("%s", kUsage);
    return 0;
  }
  if (command == "eval") {
    if (args.size() > 2)
      return UsageError("eval takes no positional arguments");
    absl::StatusOr<EvalCommandOptions> options = EvalOptionsFromFlags();
    if (!options.ok())
      return UsageError(std::string(options.status().message()));
    absl::Status s = RunEvalCommand(*options);
    if (!s.ok()) {
      std::fprintf(stderr, "dwae eval: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    return 0;
  }
  if (command == "replay") {
    if (args.size() < 3) return UsageError("replay: missing FILE");
    if (args.size() > 3) return UsageError("replay takes exactly one FILE");
    absl::StatusOr<ReplayCommandOptions> options =
        ReplayOptionsFromFlags(args[2]);
    if (!options.ok())
      return UsageError(std::string(options.status().message()));
    absl::Status s = RunReplayCommand(*options);
    if (!s.ok()) {
      std::fprintf(stderr, "dwae replay: %s\n",
                   std::string(s.message()).c_str());
      return 1;
    }
    return 0;
  }
  return UsageError("unknown command '" + command + "'");
}

}  // namespace
}  // namespace dwae

int main(int argc, char** argv) { return dwae::Main(argc, argv); }
