// dwae: the command-line client. Flags live here only; each subcommand gets
// a documented options struct built from them.
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/bench_command.h"
#include "client/eval_command.h"
#include "client/ops_commands.h"
#include "client/replay_command.h"
#include "client/sharding.h"
#include "client/sync_command.h"
#include "client/tail_command.h"

ABSL_FLAG(std::string, train, "data/nsl-kdd/KDDTrain+_20Percent.txt",
          "eval: training file; only its normal rows are learned");
ABSL_FLAG(std::string, test, "data/nsl-kdd/KDDTest+.txt",
          "eval: labelled test file");
ABSL_FLAG(std::string, format, "auto",
          "record format: auto (detected from the first line), nsl-kdd, "
          "kdd99, zeek (conn.log TSV) or zeek-json");
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
ABSL_FLAG(double, adaptive_lower, -1,
          "adaptive threshold lower bound, as a held-out quantile (< 0: the "
          "feature schema's default, 0.80 for kdd, 0.995 for zeek)");
ABSL_FLAG(double, adaptive_upper, -1,
          "adaptive threshold upper bound, as a held-out quantile (< 0: the "
          "feature schema's default, 0.99 for kdd, 0.999 for zeek)");
ABSL_FLAG(double, final_lr, dwae::EvalOptions().final_lr_fraction,
          "eval: learning rate decays linearly to this fraction of itself");
ABSL_FLAG(std::string, ensemble, "",
          "eval: the scorer per rule: k<members>[-g<group size>][-std]"
          "[-ms][-bag][-dn<input dropout>][-mr][-l1], e.g. k5-g32; one spec "
          "for all rules or rule:spec,rule:spec; empty: each rule's "
          "validated default (float k5, dw-shadow k5-l1, dw-stochastic "
          "k5-g32)");
ABSL_FLAG(double, group_hidden_ratio,
          dwae::EnsembleOptions().group_hidden_ratio,
          "eval: hidden width of a group autoencoder per input dimension");
ABSL_FLAG(double, scale_floor, dwae::EnsembleOptions().scale_floor,
          "eval: standardization floor, fraction of the mean dimension scale");
ABSL_FLAG(std::string, trace_out, "",
          "eval: CSV of cumulative weight updates against training steps "
          "(first seed per rule)");
ABSL_FLAG(double, holdout, dwae::EvalOptions().holdout_fraction,
          "fraction of normal training rows held out");
// ---- flags shared by the commands that talk to dwaed --------------------
ABSL_FLAG(std::string, server, "127.0.0.1:50051",
          "dwaed gRPC address host:port");
ABSL_FLAG(std::string, servers, "",
          "replay, tail, bench: several dwaed replicas a,b,c; records are "
          "sharded by sensor_id with a consistent hash");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(5),
          "connection and call deadline, e.g. 5s");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA certificates that signed dwaed's certificate: connect over "
          "TLS (dwaed --tls_cert)");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate chain, for a dwaed with --tls_client_ca "
          "(mutual TLS; needs --tls_key)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_server_name, "",
          "check dwaed's certificate against this name instead of the "
          "--server host");
ABSL_FLAG(std::string, token_file, "",
          "file holding the admin token (dwaed --admin_token_file); sent as "
          "'authorization: Bearer TOKEN' on every call");
ABSL_FLAG(std::string, learn, "",
          "learning mode of every batch: default, all, gated, off or "
          "labeled-normal (empty: the command's default: default for replay "
          "and tail, off for score, gated for bench)");
ABSL_FLAG(int, batch, -1, "records per batch (default: 512; score: 256)");
ABSL_FLAG(std::string, sensor_id, "",
          "replay, tail, bench: sensor_id of the records sent (default: the "
          "command's name)");
ABSL_FLAG(int, sensors, 1,
          "replay, bench: spread records over this many sensor ids");
// ---- replay ---------------------------------------------------------------
ABSL_FLAG(std::string, filter_label, "",
          "replay: send only rows with this label, e.g. normal");
ABSL_FLAG(std::string, verdicts_out, "",
          "replay: write one JSON line per verdict to this file");
ABSL_FLAG(double, rate, 0,
          "replay: records per second; bench --mode=unary: calls per second "
          "(0: as fast as dwaed takes them)");
ABSL_FLAG(std::string, progress, "auto",
          "replay: progress bar on stderr: auto (when a terminal), always, "
          "never");
ABSL_FLAG(bool, no_sync, false,
          "replay: do not wait for dwaed's learner, neither before streaming "
          "(a warm-up being consolidated) nor after (records still queued)");
ABSL_FLAG(absl::Duration, sync_timeout, absl::Minutes(5),
          "replay: how long each wait for dwaed's learner may take");
// ---- tail -----------------------------------------------------------------
ABSL_FLAG(bool, follow, false,
          "tail: keep following the file (like tail -F); anomalies: keep "
          "polling for new anomalies");
ABSL_FLAG(bool, from_start, false,
          "tail --follow: start at the beginning of the file, not its end");
ABSL_FLAG(absl::Duration, poll_interval, absl::Milliseconds(200),
          "tail, anomalies --follow: how often to look for more");
ABSL_FLAG(absl::Duration, max_batch_delay, absl::Milliseconds(200),
          "tail: send a partial batch after this long");
ABSL_FLAG(bool, all, false, "tail: print every verdict, not only anomalies");
ABSL_FLAG(int64_t, stop_after, 0,
          "tail: stop after sending this many records (0: never)");
// ---- score, anomalies, admin ----------------------------------------------
ABSL_FLAG(int, top_k, 3, "score: deviating features shown per verdict");
ABSL_FLAG(std::string, since, "",
          "anomalies: only those since a duration ago (10m, 2h) or an RFC "
          "3339 time");
ABSL_FLAG(int, limit, 20, "anomalies: at most this many");
ABSL_FLAG(bool, yes, false, "admin reset: confirm forgetting the model");
// ---- bench ----------------------------------------------------------------
ABSL_FLAG(std::string, mode, "stream", "bench: stream or unary");
ABSL_FLAG(int, streams, 2, "bench: concurrent streams (or unary callers)");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(20),
          "bench: how long to generate load");
ABSL_FLAG(int, max_in_flight, 8,
          "replay, bench: batches sent but not yet answered, per stream");

namespace dwae {
namespace {

using Args = std::vector<std::string>;

// One subcommand: its help and how to run it. `run` gets the positional
// arguments after the command name and returns the exit code.
struct Command {
  const char* name;
  const char* summary;
  const char* usage;
  const char* examples;
  int (*run)(const Args& args);
};

int UsageError(const std::string& message) {
  std::fprintf(stderr, "dwae: %s\n(see dwae help)\n", message.c_str());
  return 2;
}

// Exit code for a command's result: 0, or 1 with a one-line reason.
int Finish(const char* command, const absl::Status& status) {
  if (status.ok()) return 0;
  std::fprintf(stderr, "dwae %s: %s\n", command,
               std::string(status.message()).c_str());
  return 1;
}

template <typename Options>
int Run(const char* command, const absl::StatusOr<Options>& options,
        absl::Status (*run)(const Options&)) {
  if (!options.ok()) return UsageError(std::string(options.status().message()));
  return Finish(command, run(*options));
}

absl::StatusOr<InputFormat> FormatFromFlags() {
  return ParseInputFormat(absl::GetFlag(FLAGS_format));
}

// --learn, or `fallback` when it is not set.
absl::StatusOr<v1::LearningMode> LearningFromFlags(v1::LearningMode fallback) {
  const std::string learn = absl::GetFlag(FLAGS_learn);
  if (learn.empty()) return fallback;
  return ParseLearningMode(learn);
}

int BatchFromFlags(int fallback) {
  const int batch = absl::GetFlag(FLAGS_batch);
  return batch == -1 ? fallback : batch;
}

// --tls_ca, --tls_cert, --tls_key, --tls_server_name, --token_file: the one
// place every connecting command gets its credentials from.
ChannelSecurity SecurityFromFlags() {
  ChannelSecurity s;
  s.tls_ca = absl::GetFlag(FLAGS_tls_ca);
  s.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  s.tls_key = absl::GetFlag(FLAGS_tls_key);
  s.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  s.token_file = absl::GetFlag(FLAGS_token_file);
  return s;
}

absl::StatusOr<ConnectionOptions> ConnectionFromFlags() {
  ConnectionOptions c;
  c.server = absl::GetFlag(FLAGS_server);
  c.timeout = absl::GetFlag(FLAGS_timeout);
  c.security = SecurityFromFlags();
  if (absl::Status s = c.security.Validate(); !s.ok()) return s;
  return c;
}

// The flags every streaming command (replay, tail, bench) shares, read
// once: `command` names the default sensor id, `learning` is the default
// learning mode. Validated.
absl::StatusOr<StreamingOptions> StreamingFromFlags(const char* command,
                                                    v1::LearningMode learning) {
  StreamingOptions o;
  absl::StatusOr<std::vector<std::string>> servers = ParseServerList(
      absl::GetFlag(FLAGS_servers), absl::GetFlag(FLAGS_server));
  if (!servers.ok()) return servers.status();
  o.servers = *std::move(servers);
  absl::StatusOr<InputFormat> format = FormatFromFlags();
  if (!format.ok()) return format.status();
  o.format = *format;
  absl::StatusOr<v1::LearningMode> learn = LearningFromFlags(learning);
  if (!learn.ok()) return learn.status();
  o.learning = *learn;
  o.batch = BatchFromFlags(o.batch);
  o.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  const std::string sensor = absl::GetFlag(FLAGS_sensor_id);
  o.sensor_id = sensor.empty() ? command : sensor;
  o.sensors = absl::GetFlag(FLAGS_sensors);
  o.json = absl::GetFlag(FLAGS_json);
  o.connect_timeout = absl::GetFlag(FLAGS_timeout);
  o.security = SecurityFromFlags();
  if (absl::Status s = o.Validate(); !s.ok()) return s;
  return o;
}

// --ensemble: empty (each rule's default), one spec for every rule, or
// rule:spec pairs (the other rules keep their defaults).
absl::Status EnsemblesFromFlags(EvalCommandOptions* o) {
  EnsembleOptions base;
  base.group_hidden_ratio = absl::GetFlag(FLAGS_group_hidden_ratio);
  base.scale_floor = absl::GetFlag(FLAGS_scale_floor);
  for (RuleKind kind :
       {RuleKind::kFloat, RuleKind::kDwShadow, RuleKind::kDwStochastic}) {
    EnsembleOptions d = DefaultEnsemble(kind);
    d.group_hidden_ratio = base.group_hidden_ratio;
    d.scale_floor = base.scale_floor;
    o->ensembles[int(kind)] = d;
  }
  const std::string flag = absl::GetFlag(FLAGS_ensemble);
  if (flag.empty()) return absl::OkStatus();
  for (absl::string_view item : absl::StrSplit(flag, ',')) {
    std::vector<RuleKind> kinds = {RuleKind::kFloat, RuleKind::kDwShadow,
                                   RuleKind::kDwStochastic};
    const size_t colon = item.rfind(':');
    if (colon != absl::string_view::npos) {
      absl::StatusOr<RuleKind> kind = ParseRuleKind(item.substr(0, colon));
      if (!kind.ok()) return kind.status();
      kinds = {*kind};
      item.remove_prefix(colon + 1);
    }
    absl::StatusOr<EnsembleOptions> spec = ParseEnsembleSpec(item, base);
    if (!spec.ok()) return spec.status();
    for (RuleKind kind : kinds) o->ensembles[int(kind)] = *spec;
  }
  return absl::OkStatus();
}

absl::StatusOr<EvalCommandOptions> EvalOptionsFromFlags() {
  EvalCommandOptions o;
  o.train_path = absl::GetFlag(FLAGS_train);
  o.test_path = absl::GetFlag(FLAGS_test);
  absl::StatusOr<InputFormat> format =
      ParseInputFormat(absl::GetFlag(FLAGS_format));
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
  o.trace_out = absl::GetFlag(FLAGS_trace_out);

  EvalOptions& e = o.eval;
  e.epochs = absl::GetFlag(FLAGS_epochs);
  e.holdout_fraction = absl::GetFlag(FLAGS_holdout);
  e.final_lr_fraction = absl::GetFlag(FLAGS_final_lr);
  if (absl::Status s = EnsemblesFromFlags(&o); !s.ok()) return s;
  e.quantile = absl::GetFlag(FLAGS_quantile);
  // Both bounds come from the flags, or both from the files' schema.
  o.adaptive_quantiles_set = absl::GetFlag(FLAGS_adaptive_lower) >= 0 ||
                             absl::GetFlag(FLAGS_adaptive_upper) >= 0;
  if (absl::GetFlag(FLAGS_adaptive_lower) >= 0) {
    e.adaptive_lower_quantile = absl::GetFlag(FLAGS_adaptive_lower);
  }
  if (absl::GetFlag(FLAGS_adaptive_upper) >= 0) {
    e.adaptive_upper_quantile = absl::GetFlag(FLAGS_adaptive_upper);
  }
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

absl::StatusOr<ReplayCommandOptions> ReplayOptionsFromFlags(const Args& args) {
  if (args.empty()) return absl::InvalidArgumentError("replay: missing FILE");
  if (args.size() > 1) {
    return absl::InvalidArgumentError("replay: expected exactly one FILE");
  }
  ReplayCommandOptions o;
  absl::StatusOr<StreamingOptions> stream =
      StreamingFromFlags("replay", v1::LEARNING_MODE_DEFAULT);
  if (!stream.ok()) return stream.status();
  o.stream = *std::move(stream);
  o.path = args[0];
  o.filter_label = absl::GetFlag(FLAGS_filter_label);
  o.verdicts_out = absl::GetFlag(FLAGS_verdicts_out);
  o.rate = absl::GetFlag(FLAGS_rate);
  o.sync = !absl::GetFlag(FLAGS_no_sync);
  o.sync_timeout = absl::GetFlag(FLAGS_sync_timeout);
  const std::string progress = absl::GetFlag(FLAGS_progress);
  if (progress == "auto") {
    o.progress = ReplayCommandOptions::Progress::kAuto;
  } else if (progress == "always") {
    o.progress = ReplayCommandOptions::Progress::kAlways;
  } else if (progress == "never") {
    o.progress = ReplayCommandOptions::Progress::kNever;
  } else {
    return absl::InvalidArgumentError(
        "--progress: expected auto, always or never");
  }
  if (absl::Status s = o.Validate(); !s.ok()) return s;
  return o;
}

absl::StatusOr<TailCommandOptions> TailOptionsFromFlags(const Args& args) {
  if (args.empty()) return absl::InvalidArgumentError("tail: missing FILE");
  if (args.size() > 1) {
    return absl::InvalidArgumentError("tail: expected exactly one FILE");
  }
  TailCommandOptions o;
  absl::StatusOr<StreamingOptions> stream =
      StreamingFromFlags("tail", v1::LEARNING_MODE_DEFAULT);
  if (!stream.ok()) return stream.status();
  o.stream = *std::move(stream);
  o.path = args[0];
  o.follow = absl::GetFlag(FLAGS_follow);
  o.from_start = absl::GetFlag(FLAGS_from_start);
  o.poll_interval = absl::GetFlag(FLAGS_poll_interval);
  o.max_batch_delay = absl::GetFlag(FLAGS_max_batch_delay);
  o.all_verdicts = absl::GetFlag(FLAGS_all);
  o.stop_after = absl::GetFlag(FLAGS_stop_after);
  if (absl::Status s = o.Validate(); !s.ok()) return s;
  return o;
}

absl::StatusOr<ScoreCommandOptions> ScoreOptionsFromFlags(const Args& args) {
  ScoreCommandOptions o;
  absl::StatusOr<ConnectionOptions> connection = ConnectionFromFlags();
  if (!connection.ok()) return connection.status();
  o.connection = *std::move(connection);
  o.lines = args;
  absl::StatusOr<InputFormat> format = FormatFromFlags();
  if (!format.ok()) return format.status();
  o.format = *format;
  absl::StatusOr<v1::LearningMode> learn =
      LearningFromFlags(v1::LEARNING_MODE_OFF);
  if (!learn.ok()) return learn.status();
  o.learning = *learn;
  const int top_k = absl::GetFlag(FLAGS_top_k);
  if (top_k < 0 || top_k > 32) {
    return absl::InvalidArgumentError("--top_k: must be in [0, 32]");
  }
  o.top_k = uint32_t(top_k);
  o.batch = BatchFromFlags(o.batch);
  if (o.batch < 1 || o.batch > 4096) {
    return absl::InvalidArgumentError("--batch: must be in [1, 4096]");
  }
  o.json = absl::GetFlag(FLAGS_json);
  return o;
}

absl::StatusOr<AnomaliesCommandOptions> AnomaliesOptionsFromFlags(
    const Args& args) {
  if (!args.empty()) {
    return absl::InvalidArgumentError("anomalies: takes no arguments");
  }
  AnomaliesCommandOptions o;
  absl::StatusOr<ConnectionOptions> connection = ConnectionFromFlags();
  if (!connection.ok()) return connection.status();
  o.connection = *std::move(connection);
  const std::string since = absl::GetFlag(FLAGS_since);
  if (!since.empty()) {
    absl::StatusOr<absl::Time> t = ParseSince(since, absl::Now());
    if (!t.ok()) return t.status();
    o.since = *t;
  }
  const int limit = absl::GetFlag(FLAGS_limit);
  if (limit < 1 || limit > 10000) {
    return absl::InvalidArgumentError("--limit: must be in [1, 10000]");
  }
  o.limit = uint32_t(limit);
  o.follow = absl::GetFlag(FLAGS_follow);
  o.poll_interval = absl::GetFlag(FLAGS_poll_interval);
  o.json = absl::GetFlag(FLAGS_json);
  return o;
}

// A sync may wait for a warm-up consolidation: --timeout, when set to other
// than its default, bounds it, else a minute (the 5 s default of --timeout
// suits single calls).
absl::StatusOr<SyncCommandOptions> SyncOptionsFromFlags(const Args& args) {
  if (!args.empty())
    return absl::InvalidArgumentError("sync: takes no arguments");
  absl::StatusOr<ConnectionOptions> connection = ConnectionFromFlags();
  if (!connection.ok()) return connection.status();
  SyncCommandOptions o{*std::move(connection), absl::GetFlag(FLAGS_json)};
  const absl::CommandLineFlag* timeout = absl::FindCommandLineFlag("timeout");
  if (timeout->CurrentValue() == timeout->DefaultValue()) {
    o.connection.timeout = absl::Minutes(1);
  }
  return o;
}

absl::StatusOr<StatusCommandOptions> StatusOptionsFromFlags(const Args& args) {
  if (!args.empty())
    return absl::InvalidArgumentError("status: takes no arguments");
  absl::StatusOr<ConnectionOptions> connection = ConnectionFromFlags();
  if (!connection.ok()) return connection.status();
  return StatusCommandOptions{*std::move(connection),
                              absl::GetFlag(FLAGS_json)};
}

absl::StatusOr<AdminCommandOptions> AdminOptionsFromFlags(const Args& args) {
  AdminCommandOptions o;
  absl::StatusOr<ConnectionOptions> connection = ConnectionFromFlags();
  if (!connection.ok()) return connection.status();
  o.connection = *std::move(connection);
  o.yes = absl::GetFlag(FLAGS_yes);
  o.json = absl::GetFlag(FLAGS_json);
  if (absl::Status s = ParseAdminAction(args, &o); !s.ok()) return s;
  return o;
}

absl::StatusOr<HealthCommandOptions> HealthOptionsFromFlags(const Args& args) {
  if (args.size() > 1) {
    return absl::InvalidArgumentError("health: at most one SERVICE name");
  }
  HealthCommandOptions o;
  absl::StatusOr<ConnectionOptions> connection = ConnectionFromFlags();
  if (!connection.ok()) return connection.status();
  o.connection = *std::move(connection);
  if (!args.empty()) o.service = args[0];
  return o;
}

absl::StatusOr<BenchCommandOptions> BenchOptionsFromFlags(const Args& args) {
  if (args.size() > 1) {
    return absl::InvalidArgumentError("bench: at most one FILE");
  }
  BenchCommandOptions o;
  absl::StatusOr<StreamingOptions> stream =
      StreamingFromFlags("bench", v1::LEARNING_MODE_GATED);
  if (!stream.ok()) return stream.status();
  o.stream = *std::move(stream);
  if (!args.empty()) o.path = args[0];
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (mode == "stream") {
    o.mode = BenchCommandOptions::Mode::kStream;
  } else if (mode == "unary") {
    o.mode = BenchCommandOptions::Mode::kUnary;
  } else {
    return absl::InvalidArgumentError("--mode: expected stream or unary");
  }
  o.streams = absl::GetFlag(FLAGS_streams);
  o.duration = absl::GetFlag(FLAGS_duration);
  o.rate = absl::GetFlag(FLAGS_rate);
  if (absl::Status s = o.Validate(); !s.ok()) return s;
  return o;
}

int RunEval(const Args& args) {
  if (!args.empty()) return UsageError("eval: takes no arguments");
  return Run("eval", EvalOptionsFromFlags(), RunEvalCommand);
}
int RunReplay(const Args& args) {
  return Run("replay", ReplayOptionsFromFlags(args), RunReplayCommand);
}
int RunTail(const Args& args) {
  return Run("tail", TailOptionsFromFlags(args), RunTailCommand);
}
int RunScore(const Args& args) {
  return Run("score", ScoreOptionsFromFlags(args), RunScoreCommand);
}
int RunAnomalies(const Args& args) {
  return Run("anomalies", AnomaliesOptionsFromFlags(args), RunAnomaliesCommand);
}
int RunSync(const Args& args) {
  return Run("sync", SyncOptionsFromFlags(args), RunSyncCommand);
}
int RunStatus(const Args& args) {
  return Run("status", StatusOptionsFromFlags(args), RunStatusCommand);
}
int RunAdmin(const Args& args) {
  return Run("admin", AdminOptionsFromFlags(args), RunAdminCommand);
}
int RunHealth(const Args& args) {
  return Run("health", HealthOptionsFromFlags(args), RunHealthCommand);
}
int RunBench(const Args& args) {
  return Run("bench", BenchOptionsFromFlags(args), RunBenchCommand);
}

const Command kCommands[] = {
    {"replay", "stream a record file to dwaed and summarize the verdicts",
     "dwae replay [--server=ADDR | --servers=A,B]\n"
     "            [--format=auto|nsl-kdd|kdd99|zeek|zeek-json]\n"
     "            [--filter_label=L] [--learn=MODE] [--batch=N] [--rate=N]\n"
     "            [--sensors=N] [--json] [--verdicts_out=FILE]\n"
     "            [--no_sync] [--sync_timeout=5m] FILE",
     "dwae replay --filter_label=normal --learn=all "
     "data/nsl-kdd/KDDTrain+_20Percent.txt\n"
     "dwae replay --json --verdicts_out=verdicts.jsonl "
     "data/nsl-kdd/KDDTest+.txt\n"
     "dwae replay --rate=1000 data/nsl-kdd/KDDTest+.txt\n"
     "dwae replay --format=zeek data/zeek/ctu-normal-42-day2.conn.log.labeled",
     RunReplay},
    {"tail", "follow a file a sensor appends to and stream new lines",
     "dwae tail [--follow] [--from_start] [--server=ADDR | --servers=A,B]\n"
     "          [--format=auto|nsl-kdd|kdd99|zeek|zeek-json] [--sensor_id=ID]\n"
     "          [--learn=MODE] [--all] [--json] FILE",
     "dwae tail --follow --format=zeek --sensor_id=$(hostname) "
     "/opt/zeek/spool/zeek/conn.log\n"
     "dwae tail --follow /var/log/sensor/conn.txt\n"
     "dwae tail --follow --all --json /var/log/sensor/conn.txt",
     RunTail},
    {"score", "score record lines (arguments or stdin) and explain verdicts",
     "dwae score [--server=ADDR] [--format=F] [--top_k=N] [--learn=MODE] "
     "[--json] [LINE...]",
     "dwae score '0,tcp,http,SF,215,45076,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,1,"
     "1,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,0,0'\n"
     "head -5 data/nsl-kdd/KDDTest+.txt | dwae score --json\n"
     "head -20 /opt/zeek/spool/zeek/conn.log | dwae score --format=zeek",
     RunScore},
    {"anomalies", "list the recent anomalies",
     "dwae anomalies [--server=ADDR] [--since=10m|RFC3339] [--limit=N] "
     "[--follow] [--json]",
     "dwae anomalies --since=10m\ndwae anomalies --follow --json",
     RunAnomalies},
    {"sync", "wait until dwaed has learned everything it accepted",
     "dwae sync [--server=ADDR] [--timeout=1m] [--json]",
     "dwae replay --no_sync --learn=all train.txt && dwae sync\n"
     "dwae sync --timeout=30s --json",
     RunSync},
    {"status", "model, device, threshold, learning state and counters",
     "dwae status [--server=ADDR] [--json]", "dwae status\ndwae status --json",
     RunStatus},
    {"admin", "checkpoint, set learning or threshold, reset the model",
     "dwae admin checkpoint\n"
     "dwae admin learning on|off|gated|auto\n"
     "dwae admin threshold VALUE|auto|quantile|adaptive\n"
     "dwae admin reset --yes\n"
     "(with dwaed --admin_token_file: --token_file=FILE; with TLS:\n"
     " --tls_ca=PEM [--tls_cert=PEM --tls_key=PEM] [--tls_server_name=N])",
     "dwae admin checkpoint\ndwae admin learning gated\n"
     "dwae admin --tls_ca=ca.pem --token_file=admin.token checkpoint\n"
     "dwae admin threshold 0.004\ndwae admin threshold auto",
     RunAdmin},
    {"health", "exit 0 when dwaed's gRPC health is SERVING",
     "dwae health [--server=ADDR] [--timeout=5s] [--tls_ca=PEM\n"
     "            [--tls_server_name=N] [--tls_cert=PEM --tls_key=PEM]] "
     "[SERVICE]",
     "dwae health --timeout=2s || echo down\n"
     "dwae health --tls_ca=ca.pem --tls_server_name=dwaed\n"
     "FLAGS_tls_ca=ca.pem dwae health --tryfromenv=tls_ca,tls_server_name",
     RunHealth},
    {"bench", "load-test dwaed; records/s and latency percentiles",
     "dwae bench [--server=ADDR | --servers=A,B] [--duration=20s]\n"
     "           [--mode=stream|unary] [--streams=N] [--batch=N] "
     "[--rate=N]\n"
     "           [--learn=MODE] [--json] [FILE]",
     "dwae bench --duration=20s --mode=stream --streams=2 --json\n"
     "dwae bench --mode=unary --batch=1 --rate=2000 --json",
     RunBench},
    {"eval", "train and evaluate the autoencoder offline (no daemon)",
     "dwae eval [--train=FILE] [--test=FILE] [--rule=R|all] [--seeds=N] "
     "[--json]\n"
     "          [--ensemble=SPEC|rule:SPEC,...] [--scores_out=FILE] "
     "[--trace_out=FILE]\n"
     "          [model and device flags]",
     "dwae eval --rule all --seeds 5 --json\n"
     "dwae eval --rule dw-stochastic --ensemble k1 --levels 9",
     RunEval},
};

void PrintCommandList() {
  std::printf(
      "dwae: client for the dwae anomaly detector\n\n"
      "usage: dwae COMMAND [flags] [args]\n\ncommands:\n");
  for (const Command& c : kCommands) {
    std::printf("  %-10s %s\n", c.name, c.summary);
  }
  std::printf(
      "\nCommands that talk to dwaed take --server=ADDR, --tls_ca=PEM\n"
      "[--tls_cert=PEM --tls_key=PEM] [--tls_server_name=NAME] (TLS, mutual\n"
      "TLS) and --token_file=FILE (admin token).\n"
      "\n'dwae help COMMAND' shows a command's usage and examples;\n"
      "'dwae --helpfull' lists every flag. Exit codes: 0 success, 1 "
      "failure,\n2 bad usage.\n");
}

const Command* FindCommand(const std::string& name) {
  for (const Command& c : kCommands) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

int Help(const Args& args) {
  if (args.empty()) {
    PrintCommandList();
    return 0;
  }
  const Command* c = FindCommand(args[0]);
  if (c == nullptr)
    return UsageError("help: unknown command '" + args[0] + "'");
  std::printf("dwae %s: %s\n\nusage:\n%s\n\nexamples:\n%s\n", c->name,
              c->summary, c->usage, c->examples);
  return 0;
}

// absl exits 1 on an unknown flag; a usage error here exits 2. So check
// every "-x"/"--x" argument (before a "--") against the defined flags first.
// "-1" is not a flag either: negative numbers go after "--".
bool CheckFlagNames(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    absl::string_view name =
        absl::StripPrefix(absl::StripPrefix(arg, "-"), "-");
    name = name.substr(0, name.find('='));
    const bool known = absl::FindCommandLineFlag(name) != nullptr ||
                       (absl::StartsWith(name, "no") &&
                        absl::FindCommandLineFlag(name.substr(2)) != nullptr) ||
                       name == "help" || name == "helpfull" ||
                       name == "version" || absl::StartsWith(name, "help");
    if (!known) {
      UsageError(absl::StrCat("unknown flag '", arg, "'",
                              absl::ascii_isdigit(name.empty() ? 'x' : name[0])
                                  ? " (put negative numbers after --)"
                                  : ""));
      return false;
    }
  }
  return true;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "dwae COMMAND [flags] [args]; 'dwae help' lists the commands");
  if (!CheckFlagNames(argc, argv)) return 2;
  const std::vector<char*> parsed = absl::ParseCommandLine(argc, argv);
  if (parsed.size() < 2) return UsageError("missing command");
  const std::string name = parsed[1];
  const Args args(parsed.begin() + 2, parsed.end());
  if (name == "help") return Help(args);
  const Command* command = FindCommand(name);
  if (command == nullptr) return UsageError("unknown command '" + name + "'");
  return command->run(args);
}

}  // namespace
}  // namespace dwae

int main(int argc, char** argv) { return dwae::Main(argc, argv); }
