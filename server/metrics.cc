#include "server/metrics.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/process_metrics.h"

namespace dwae {
namespace server {

prometheus::Counter& RegisterCounter(prometheus::Registry& registry,
                                     const std::string& name,
                                     const std::string& help) {
  return prometheus::BuildCounter()
      .Name(name)
      .Help(help)
      .Register(registry)
      .Add({});
}

prometheus::Gauge& RegisterGauge(prometheus::Registry& registry,
                                 const std::string& name,
                                 const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add(
      {});
}
namespace {

// Outcome indices into Metrics::confusion_ and the ring buffer.
constexpr int kTp = 0, kFp = 1, kTn = 2, kFn = 3;

// `x` rounded to 3 significant digits in decimal, so that the `le` label
// prints as e.g. "2.15e-05" rather than "2.1544346900318823e-05".
double RoundTo3Digits(double x) {
  return std::strtod(absl::StrFormat("%.2e", x).c_str(), nullptr);
}

// Histogram bounds from `lo` to `hi` inclusive: `lo`, the points of the
// decade-aligned grid 10^(k/per_decade) strictly between (skipping any within
// a factor 1.2 of an end), then `hi`.
prometheus::Histogram::BucketBoundaries LogBuckets(double lo, double hi,
                                                   int per_decade) {
  prometheus::Histogram::BucketBoundaries bounds = {lo};
  const int first = static_cast<int>(std::floor(std::log10(lo) * per_decade));
  const int last = static_cast<int>(std::ceil(std::log10(hi) * per_decade));
  for (int k = first; k <= last; ++k) {
    const double v =
        RoundTo3Digits(std::pow(10.0, static_cast<double>(k) / per_decade));
    if (v > lo * 1.2 && v < hi / 1.2) bounds.push_back(v);
  }
  bounds.push_back(hi);
  return bounds;
}

uint64_t& Count(ConfusionCounts& c, int outcome) {
  switch (outcome) {
    case kTp:
      return c.tp;
    case kFp:
      return c.fp;
    case kTn:
      return c.tn;
    default:
      return c.fn;
  }
}

double Ratio(uint64_t num, uint64_t den) {
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

}  // namespace

double ConfusionCounts::detection_rate() const { return Ratio(tp, tp + fn); }
double ConfusionCounts::false_alarm_rate() const { return Ratio(fp, fp + tn); }

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Create(
    const MetricsOptions& options) {
  if (options.num_layers < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics: num_layers must be >= 1, got ", options.num_layers));
  }
  const std::vector<std::string>& methods = options.rpc_methods;
  for (auto it = methods.begin(); it != methods.end(); ++it) {
    const std::string& method = *it;
    if (method.empty() || std::find(methods.begin(), it, method) != it) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metrics: RPC method names must be non-empty and distinct, got \"",
          method, "\""));
    }
  }

  std::unique_ptr<Metrics> metrics(new Metrics());
  try {
    metrics->BuildFamilies(options);
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("metrics: cannot build metric families: ", e.what()));
  }
  if (options.listen.empty()) return metrics;

  try {
    metrics->exposer_ = std::make_unique<prometheus::Exposer>(options.listen);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(
        "metrics: cannot listen on \"", options.listen, "\": ", e.what()));
  }
  metrics->exposer_->RegisterCollectable(metrics->registry_);
  metrics->process_collector_ = std::make_shared<ProcessCollector>();
  metrics->exposer_->RegisterCollectable(metrics->process_collector_);
  const std::vector<int> ports = metrics->exposer_->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "metrics: no listening port after binding \"", options.listen, "\""));
  }
  metrics->port_ = ports.front();
  return metrics;
}

Metrics::~Metrics() = default;

void Metrics::BuildFamilies(const MetricsOptions& options) {
  registry_ = std::make_shared<prometheus::Registry>();
  prometheus::Registry& r = *registry_;
  {
    absl::MutexLock lock(&checkpoint_mu_);
    created_ = absl::Now();
  }

  // Records and scores.
  auto& records =
      prometheus::BuildCounter()
          .Name("dwae_records_total")
          .Help(
              "Connection records processed, by verdict: normal (score at "
              "or below the threshold), anomaly (above it) or invalid "
              "(rejected before scoring).")
          .Register(r);
  records_[static_cast<int>(Verdict::kNormal)] =
      &records.Add({{"verdict", "normal"}});
  records_[static_cast<int>(Verdict::kAnomaly)] =
      &records.Add({{"verdict", "anomaly"}});
  records_[static_cast<int>(Verdict::kInvalid)] =
      &records.Add({{"verdict", "invalid"}});

  score_bounds_ = LogBuckets(1e-5, 10, 3);
  score_ = &prometheus::BuildHistogram()
                .Name("dwae_score")
                .Help(
                    "Anomaly score (autoencoder reconstruction error, "
                    "dimensionless) of each scored record.")
                .Register(r)
                .Add({}, score_bounds_);

  // Labelled records.
  auto& confusion =
      prometheus::BuildCounter()
          .Name("dwae_confusion_total")
          .Help(
              "Labelled records by outcome, positive meaning anomalous: tp "
              "(attack flagged), fp (normal flagged), tn (normal passed), "
              "fn (attack missed). Unlabelled records are not counted.")
          .Register(r);
  confusion_[kTp] = &confusion.Add({{"outcome", "tp"}});
  confusion_[kFp] = &confusion.Add({{"outcome", "fp"}});
  confusion_[kTn] = &confusion.Add({{"outcome", "tn"}});
  confusion_[kFn] = &confusion.Add({{"outcome", "fn"}});

  auto& detection =
      prometheus::BuildGauge()
          .Name("dwae_detection_rate")
          .Help(
              "Fraction (0..1) of labelled anomalous records that were "
              "flagged, tp / (tp + fn); 0 before any. window=cumulative: "
              "since start; window=recent: the last 10000 labelled records.")
          .Register(r);
  auto& false_alarm =
      prometheus::BuildGauge()
          .Name("dwae_false_alarm_rate")
          .Help(
              "Fraction (0..1) of labelled normal records that were "
              "flagged, fp / (fp + tn); 0 before any. window=cumulative: "
              "since start; window=recent: the last 10000 labelled records.")
          .Register(r);
  cumulative_rates_ = {&detection.Add({{"window", "cumulative"}}),
                       &false_alarm.Add({{"window", "cumulative"}})};
  recent_rates_ = {&detection.Add({{"window", "recent"}}),
                   &false_alarm.Add({{"window", "recent"}})};
  {
    absl::MutexLock lock(&labelled_mu_);
    ring_.assign(kRecentWindow, 0);
  }

  // Devices, per layer and parameter part.
  auto& pulses = prometheus::BuildCounter()
                     .Name("dwae_synapse_pulses_total")
                     .Help(
                         "Programming pulses applied to domain-wall "
                         "synapse devices.")
                     .Register(r);
  auto& level_changes =
      prometheus::BuildCounter()
          .Name("dwae_synapse_level_changes_total")
          .Help(
              "Conductance-level changes of domain-wall synapse devices "
              "(pulses that moved the wall to another level).")
          .Register(r);
  auto& failures = prometheus::BuildCounter()
                       .Name("dwae_synapse_write_failures_total")
                       .Help(
                           "Programming pulses that failed to move the "
                           "domain wall (stochastic write failures).")
                       .Register(r);
  auto& overshoots = prometheus::BuildCounter()
                         .Name("dwae_synapse_overshoots_total")
                         .Help(
                             "Programming pulses that moved the domain "
                             "wall past the intended level.")
                         .Register(r);
  auto& energy = prometheus::BuildCounter()
                     .Name("dwae_write_energy_joules_total")
                     .Help(
                         "Energy spent programming synapse devices, in "
                         "joules.")
                     .Register(r);
  {
    absl::MutexLock lock(&cumulative_mu_);
    devices_.resize(2 * options.num_layers);
    for (int layer = 0; layer < options.num_layers; ++layer) {
      for (int bias = 0; bias < 2; ++bias) {
        const prometheus::Labels labels = {
            {"layer", absl::StrCat(layer)},
            {"part", bias ? "biases" : "weights"}};
        DeviceCounters& d = devices_[2 * layer + bias];
        d.pulses.counter = &pulses.Add(labels);
        d.level_changes.counter = &level_changes.Add(labels);
        d.failures.counter = &failures.Add(labels);
        d.overshoots.counter = &overshoots.Add(labels);
        d.energy.counter = &energy.Add(labels);
      }
    }
    float_updates_.counter =
        &prometheus::BuildCounter()
             .Name("dwae_float_equivalent_updates_total")
             .Help(
                 "Parameter updates a floating-point network would have "
                 "made: trainable parameters times learning steps.")
             .Register(r)
             .Add({});
    learning_steps_.counter =
        &prometheus::BuildCounter()
             .Name("dwae_learning_steps_total")
             .Help(
                 "Learning steps (one per record learned from) taken by "
                 "the model over its lifetime, restored from checkpoints.")
             .Register(r)
             .Add({});
  }

  // Model state.
  learning_enabled_ = &prometheus::BuildGauge()
                           .Name("dwae_learning_enabled")
                           .Help(
                               "1 while continuous learning is enabled, "
                               "else 0.")
                           .Register(r)
                           .Add({});
  warming_up_ = &prometheus::BuildGauge()
                     .Name("dwae_warming_up")
                     .Help(
                         "1 while the model is warming up (learning "
                         "before its verdicts are trusted), else 0.")
                     .Register(r)
                     .Add({});
  threshold_ = &prometheus::BuildGauge()
                    .Name("dwae_threshold")
                    .Help(
                        "Current anomaly threshold: records scoring above "
                        "it are anomalies (same units as dwae_score).")
                    .Register(r)
                    .Add({});
  model_version_ = &prometheus::BuildGauge()
                        .Name("dwae_model_version")
                        .Help("Version number of the model being served.")
                        .Register(r)
                        .Add({});
  ensemble_members_ =
      &prometheus::BuildGauge()
           .Name("dwae_model_ensemble_members")
           .Help(
               "Autoencoders in the ensemble being trained and served "
               "(model.ensemble).")
           .Register(r)
           .Add({});

  // RPCs.
  auto& rpc_duration =
      prometheus::BuildHistogram()
          .Name("dwae_rpc_duration_seconds")
          .Help(
              "Time to handle one RPC, in seconds, by method (for "
              "streaming RPCs, the whole stream).")
          .Register(r);
  auto& rpc_errors = prometheus::BuildCounter()
                         .Name("dwae_rpc_errors_total")
                         .Help(
                             "RPCs that returned a non-OK status, by "
                             "method.")
                         .Register(r);
  const auto rpc_buckets = LogBuckets(50e-6, 10, 3);
  rpc_names_ = options.rpc_methods;
  rpc_metrics_.reserve(rpc_names_.size());
  for (const std::string& method : rpc_names_) {
    const prometheus::Labels labels = {{"method", method}};
    rpc_metrics_.push_back(
        {rpc_duration.Add(labels, rpc_buckets), rpc_errors.Add(labels)});
  }

  stream_batch_duration_ =
      &prometheus::BuildHistogram()
           .Name("dwae_stream_batch_duration_seconds")
           .Help(
               "Time to score one record batch of a Stream RPC and queue it "
               "for learning, in seconds (waits on a full learn queue "
               "included).")
           .Register(r)
           .Add({}, rpc_buckets);

  // Learn queue.
  learn_queue_depth_ = &prometheus::BuildGauge()
                            .Name("dwae_learn_queue_depth")
                            .Help("Records waiting in the learn queue.")
                            .Register(r)
                            .Add({});
  learn_queue_capacity_ = &prometheus::BuildGauge()
                               .Name("dwae_learn_queue_capacity")
                               .Help(
                                   "Capacity of the learn queue, in "
                                   "records.")
                               .Register(r)
                               .Add({});
  learn_dropped_ = &prometheus::BuildCounter()
                        .Name("dwae_learn_dropped_total")
                        .Help(
                            "Records not learned from because the learn "
                            "queue was full.")
                        .Register(r)
                        .Add({});

  // Checkpoints.
  checkpoint_duration_ =
      &prometheus::BuildHistogram()
           .Name("dwae_checkpoint_duration_seconds")
           .Help(
               "Time to write one checkpoint, in seconds, successful or "
               "not.")
           .Register(r)
           .Add({}, LogBuckets(1e-3, 100, 3));
  checkpoint_failures_ = &prometheus::BuildCounter()
                              .Name("dwae_checkpoint_failures_total")
                              .Help("Checkpoint writes that failed.")
                              .Register(r)
                              .Add({});
  checkpoint_last_success_ =
      &prometheus::BuildGauge()
           .Name("dwae_checkpoint_last_success_timestamp_seconds")
           .Help(
               "Unix time, in seconds, of the last successful checkpoint; "
               "0 before any. Age: time() - this.")
           .Register(r)
           .Add({});
  checkpoint_age_ =
      &prometheus::BuildGauge()
           .Name("dwae_checkpoint_age_seconds")
           .Help(
               "Seconds since the last successful checkpoint (since "
               "startup before any), as of the daemon's last update.")
           .Register(r)
           .Add({});

  // Build.
  prometheus::BuildGauge()
      .Name("dwae_build_info")
      .Help("Always 1; labels give the daemon version and learning rule.")
      .Register(r)
      .Add({{"version", options.build_version}, {"rule", options.rule}})
      .Set(1);
}

int Metrics::Outcome(bool predicted_anomaly, bool actual_anomaly) {
  return actual_anomaly ? (predicted_anomaly ? kTp : kFn)
                        : (predicted_anomaly ? kFp : kTn);
}

void Metrics::ObserveLabelled(bool predicted_anomaly, bool actual_anomaly) {
  const int outcome = Outcome(predicted_anomaly, actual_anomaly);
  confusion_[outcome]->Increment();
  absl::MutexLock lock(&labelled_mu_);
  CountLabelledLocked(outcome);
  PublishRatesLocked();
}

void Metrics::CountLabelledLocked(int outcome) {
  ++Count(cumulative_, outcome);
  if (ring_size_ == kRecentWindow) {
    --Count(recent_, ring_[ring_next_]);  // evict the oldest
  } else {
    ++ring_size_;
  }
  ring_[ring_next_] = static_cast<uint8_t>(outcome);
  ring_next_ = (ring_next_ + 1) % kRecentWindow;
  ++Count(recent_, outcome);
}

void Metrics::PublishRatesLocked() {
  cumulative_rates_.detection->Set(cumulative_.detection_rate());
  cumulative_rates_.false_alarm->Set(cumulative_.false_alarm_rate());
  recent_rates_.detection->Set(recent_.detection_rate());
  recent_rates_.false_alarm->Set(recent_.false_alarm_rate());
}

ConfusionCounts Metrics::CumulativeConfusion() const {
  absl::MutexLock lock(&labelled_mu_);
  return cumulative_;
}

ConfusionCounts Metrics::RecentConfusion() const {
  absl::MutexLock lock(&labelled_mu_);
  return recent_;
}

void Metrics::Advance(MirroredCounter& mirrored, double value) {
  if (value > mirrored.last) mirrored.counter->Increment(value - mirrored.last);
  // A decrease means the owner's total restarted: keep the exported counter
  // and count later growth from the new value.
  mirrored.last = value;
}

void Metrics::SetDeviceCounters(int layer, bool bias, uint64_t pulses,
                                uint64_t level_changes, uint64_t failures,
                                uint64_t overshoots, double energy_joules) {
  absl::MutexLock lock(&cumulative_mu_);
  const int index = 2 * layer + (bias ? 1 : 0);
  assert(layer >= 0 && index < static_cast<int>(devices_.size()));
  if (layer < 0 || index >= static_cast<int>(devices_.size())) return;
  DeviceCounters& d = devices_[index];
  Advance(d.pulses, static_cast<double>(pulses));
  Advance(d.level_changes, static_cast<double>(level_changes));
  Advance(d.failures, static_cast<double>(failures));
  Advance(d.overshoots, static_cast<double>(overshoots));
  Advance(d.energy, energy_joules);
}

void Metrics::SetLearningCounters(uint64_t learning_steps,
                                  uint64_t float_equivalent_updates) {
  absl::MutexLock lock(&cumulative_mu_);
  Advance(learning_steps_, static_cast<double>(learning_steps));
  Advance(float_updates_, static_cast<double>(float_equivalent_updates));
}

const RpcMetrics* Metrics::rpc(absl::string_view method) const {
  for (size_t i = 0; i < rpc_names_.size(); ++i) {
    if (rpc_names_[i] == method) return &rpc_metrics_[i];
  }
  return nullptr;
}

void Metrics::RecordCheckpointSuccess(absl::Time finished,
                                      absl::Duration took) {
  checkpoint_duration_->Observe(absl::ToDoubleSeconds(took));
  SetLastCheckpointSuccess(finished);
  UpdateCheckpointAge(finished);
}

void Metrics::RecordCheckpointFailure(absl::Duration took) {
  checkpoint_duration_->Observe(absl::ToDoubleSeconds(took));
  checkpoint_failures_->Increment();
}

void Metrics::SetLastCheckpointSuccess(absl::Time when) {
  absl::MutexLock lock(&checkpoint_mu_);
  last_success_ = when;
  checkpoint_last_success_->Set(
      absl::ToDoubleSeconds(when - absl::UnixEpoch()));
}

void Metrics::UpdateCheckpointAge(absl::Time now) {
  absl::MutexLock lock(&checkpoint_mu_);
  const absl::Time since =
      last_success_ == absl::InfinitePast() ? created_ : last_success_;
  checkpoint_age_->Set(std::max(0.0, absl::ToDoubleSeconds(now - since)));
}

}  // namespace server
}  // namespace dwae
