// The daemon's Prometheus metrics: one registry holding every dwae_* family,
// and the HTTP listener (prometheus-cpp Exposer) that serves it at /metrics
// together with the standard process_* families (process_metrics.h).
//
// Every labelled child is created at construction, so the service and the
// learner update metrics on hot paths through typed accessors without any
// map lookup or allocation. Label values are bounded: verdicts, confusion
// outcomes, windows, layers, parameter parts and the configured RPC methods.
// There are deliberately no per-record or per-client labels.
//
// Thread-safety: Metrics is thread-safe. prometheus-cpp counters, gauges and
// histograms are internally synchronised, so the references returned by the
// accessors may be used from any thread for the lifetime of the Metrics. The
// labelled-record windows, the cumulative-counter baselines and the
// checkpoint timestamps are guarded by internal mutexes.
#ifndef DWAE_SERVER_METRICS_H_
#define DWAE_SERVER_METRICS_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace dwae {
namespace server {

// One unlabelled counter or gauge registered in `registry` (which owns it and
// outlives the reference). For the metric users outside Metrics itself.
prometheus::Counter& RegisterCounter(prometheus::Registry& registry,
                                     const std::string& name,
                                     const std::string& help);
prometheus::Gauge& RegisterGauge(prometheus::Registry& registry,
                                 const std::string& name,
                                 const std::string& help);

struct MetricsOptions {
  // host:port for the /metrics listener; port 0 picks a free port (see
  // Metrics::port()). Empty means no listener at all: the registry still
  // works (handy for unit tests of the metric users) and port() is 0.
  std::string listen = "127.0.0.1:9464";
  std::string build_version;  // label `version` of dwae_build_info
  std::string rule;           // learning rule name, label `rule` of build_info
  // RPC method names, e.g. {"Score", "Stream"}: a duration histogram and an
  // error counter are pre-created per method. Names must be non-empty and
  // distinct.
  std::vector<std::string> rpc_methods;
  // Per-layer device families get labels layer="0".."n-1" and
  // part="weights"|"biases". Must be >= 1.
  int num_layers = 2;
};

// What the daemon decided about one record (label `verdict` of
// dwae_records_total).
enum class Verdict { kNormal = 0, kAnomaly = 1, kInvalid = 2 };

// The counters and histogram of one RPC method. The references stay valid
// for the lifetime of the Metrics that returned them.
struct RpcMetrics {
  prometheus::Histogram& duration;  // dwae_rpc_duration_seconds{method}
  prometheus::Counter& errors;      // dwae_rpc_errors_total{method}
};

// Confusion counts over a window of labelled records.
struct ConfusionCounts {
  uint64_t tp = 0, fp = 0, tn = 0, fn = 0;

  // tp / (tp + fn); 0 when the window holds no anomalous records.
  double detection_rate() const;
  // fp / (fp + tn); 0 when the window holds no normal records.
  double false_alarm_rate() const;
};

// The daemon's one metrics registry and its HTTP listener. See the file
// comment for thread-safety.
class Metrics {
 public:
  // Size of the "recent" window of dwae_detection_rate and
  // dwae_false_alarm_rate, in labelled records.
  static constexpr int kRecentWindow = 10000;

  // Builds every family and starts the listener on options.listen. Fails
  // with InvalidArgument on bad options and Unavailable, naming the address,
  // when the listener cannot be started (address busy or malformed).
  static absl::StatusOr<std::unique_ptr<Metrics>> Create(
      const MetricsOptions& options);

  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;
  // Stops the listener; takes about 2 s when one was started.
  ~Metrics();

  // The port the listener is bound to (port 0 resolved), or 0 without a
  // listener.
  int port() const { return port_; }
  prometheus::Registry& registry() { return *registry_; }

  // --- Records -----------------------------------------------------------

  // dwae_records_total{verdict}.
  prometheus::Counter& records(Verdict verdict) {
    return *records_[static_cast<int>(verdict)];
  }
  // dwae_score: the anomaly score of each scored record.
  prometheus::Histogram& score() { return *score_; }

  // Counts one labelled record into dwae_confusion_total and recomputes
  // dwae_detection_rate / dwae_false_alarm_rate for both windows. O(1).
  void ObserveLabelled(bool predicted_anomaly, bool actual_anomaly)
      ABSL_LOCKS_EXCLUDED(labelled_mu_);
  // The verdicts of one scored batch, gathered without atomics or locks and
  // observed at once (ObserveVerdicts): the same metrics as one records(),
  // score().Observe and ObserveLabelled call per record, with one atomic
  // add per counter and one lock per batch (metrics_verdicts.cc).
  struct VerdictCounts {
    std::array<uint64_t, 3> records{};  // by Verdict
    std::vector<double> score_buckets;  // per dwae_score bucket, +Inf last
    double score_sum = 0;
    // Labelled records in order: (predicted anomaly, actual anomaly).
    std::vector<std::pair<bool, bool>> labelled;
  };
  // Empties `counts` for a new batch (keeping its vectors' capacity).
  void ResetVerdictCounts(VerdictCounts* counts) const;
  // Adds a scored record's score to `counts`, binned as score() would.
  void AddScore(VerdictCounts* counts, double score) const;
  void ObserveVerdicts(const VerdictCounts& counts)
      ABSL_LOCKS_EXCLUDED(labelled_mu_);
  // The counts behind the rate gauges.
  ConfusionCounts CumulativeConfusion() const ABSL_LOCKS_EXCLUDED(labelled_mu_);
  ConfusionCounts RecentConfusion() const ABSL_LOCKS_EXCLUDED(labelled_mu_);

  // --- Learner -------------------------------------------------------------

  // Publishes the learner's cumulative device counters of one layer's
  // weights (bias=false) or biases (bias=true). Each dwae_synapse_* /
  // dwae_write_energy_joules_total counter is advanced by the growth since
  // the previous call. The learner owns the true totals (they survive
  // restarts through checkpoints), so on the first call the whole restored
  // total is added. A value lower than the previous one (e.g. the model was
  // reset) leaves the counter where it is, because Prometheus counters must
  // never go down, and becomes the new baseline, so that later growth is
  // still counted. `layer` must be in [0, num_layers): other values assert
  // in debug builds and are ignored otherwise.
  void SetDeviceCounters(int layer, bool bias, uint64_t pulses,
                         uint64_t level_changes, uint64_t failures,
                         uint64_t overshoots, double energy_joules)
      ABSL_LOCKS_EXCLUDED(cumulative_mu_);
  // Same, for dwae_learning_steps_total and
  // dwae_float_equivalent_updates_total.
  void SetLearningCounters(uint64_t learning_steps,
                           uint64_t float_equivalent_updates)
      ABSL_LOCKS_EXCLUDED(cumulative_mu_);

  void SetLearningEnabled(bool enabled) {
    learning_enabled_->Set(enabled ? 1 : 0);
  }
  void SetWarmingUp(bool warming_up) { warming_up_->Set(warming_up ? 1 : 0); }
  prometheus::Gauge& threshold() { return *threshold_; }  // dwae_threshold
  prometheus::Gauge& model_version() {
    return *model_version_;
  }  // dwae_model_version
  // dwae_model_ensemble_members: autoencoders in the served ensemble.
  prometheus::Gauge& ensemble_members() { return *ensemble_members_; }

  // --- Learn queue ---------------------------------------------------------

  prometheus::Gauge& learn_queue_depth() { return *learn_queue_depth_; }
  prometheus::Gauge& learn_queue_capacity() { return *learn_queue_capacity_; }
  prometheus::Counter& learn_dropped() { return *learn_dropped_; }

  // --- RPCs ----------------------------------------------------------------

  // The metrics of a method listed in MetricsOptions::rpc_methods, or
  // nullptr. A linear search: look methods up once and keep the pointer.
  const RpcMetrics* rpc(absl::string_view method) const;
  // dwae_stream_batch_duration_seconds: scoring one RecordBatch of a Stream
  // (from its arrival to its verdicts, back-pressure included).
  prometheus::Histogram& stream_batch_duration() {
    return *stream_batch_duration_;
  }

  // --- Checkpoints ---------------------------------------------------------

  // A checkpoint attempt that finished at `finished` after `took`: observes
  // dwae_checkpoint_duration_seconds, sets
  // dwae_checkpoint_last_success_timestamp_seconds and the age.
  void RecordCheckpointSuccess(absl::Time finished, absl::Duration took)
      ABSL_LOCKS_EXCLUDED(checkpoint_mu_);
  // A failed attempt: observes the duration and counts
  // dwae_checkpoint_failures_total.
  void RecordCheckpointFailure(absl::Duration took);
  // Sets the last success without an attempt, e.g. to the time of the
  // checkpoint restored at startup.
  void SetLastCheckpointSuccess(absl::Time when)
      ABSL_LOCKS_EXCLUDED(checkpoint_mu_);
  // Sets dwae_checkpoint_age_seconds to now - last success (clamped at 0).
  // Before any success the age counts from the creation of this Metrics, so
  // an alert on the age also fires for a daemon that never checkpoints.
  void UpdateCheckpointAge(absl::Time now) ABSL_LOCKS_EXCLUDED(checkpoint_mu_);

 private:
  // One exported counter mirroring a cumulative total owned elsewhere.
  struct MirroredCounter {
    prometheus::Counter* counter = nullptr;
    double last = 0;  // the cumulative value of the previous Set
  };
  struct DeviceCounters {
    MirroredCounter pulses, level_changes, failures, overshoots, energy;
  };
  // Rate gauges of one window.
  struct RateGauges {
    prometheus::Gauge* detection = nullptr;
    prometheus::Gauge* false_alarm = nullptr;
  };

  Metrics() = default;
  // Builds the families; may throw (prometheus-cpp reports invalid names by
  // exception), Create catches.
  void BuildFamilies(const MetricsOptions& options);
  static void Advance(MirroredCounter& mirrored, double value);
  void PublishRatesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(labelled_mu_);
  // Index into confusion_ and ring_ of a labelled record's outcome.
  static int Outcome(bool predicted_anomaly, bool actual_anomaly);
  // Counts `outcome` into both windows (not the counters, not the gauges).
  void CountLabelledLocked(int outcome)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(labelled_mu_);

  std::shared_ptr<prometheus::Registry> registry_;

  std::array<prometheus::Counter*, 3> records_{};  // indexed by Verdict
  prometheus::Histogram* score_ = nullptr;
  prometheus::Histogram::BucketBoundaries score_bounds_;
  std::array<prometheus::Counter*, 4> confusion_{};  // tp, fp, tn, fn
  RateGauges cumulative_rates_, recent_rates_;
  prometheus::Gauge* learning_enabled_ = nullptr;
  prometheus::Gauge* warming_up_ = nullptr;
  prometheus::Gauge* threshold_ = nullptr;
  prometheus::Gauge* model_version_ = nullptr;
  prometheus::Gauge* ensemble_members_ = nullptr;
  prometheus::Gauge* learn_queue_depth_ = nullptr;
  prometheus::Gauge* learn_queue_capacity_ = nullptr;
  prometheus::Counter* learn_dropped_ = nullptr;
  prometheus::Histogram* checkpoint_duration_ = nullptr;
  prometheus::Counter* checkpoint_failures_ = nullptr;
  prometheus::Gauge* checkpoint_last_success_ = nullptr;
  prometheus::Gauge* checkpoint_age_ = nullptr;
  std::vector<std::string> rpc_names_;  // parallel to rpc_metrics_
  std::vector<RpcMetrics> rpc_metrics_;
  prometheus::Histogram* stream_batch_duration_ = nullptr;
  // process_* families, read from /proc at each scrape.
  std::shared_ptr<prometheus::Collectable> process_collector_;

  mutable absl::Mutex labelled_mu_;
  ConfusionCounts cumulative_ ABSL_GUARDED_BY(labelled_mu_);
  ConfusionCounts recent_ ABSL_GUARDED_BY(labelled_mu_);
  // Outcomes (index into confusion_) of the last kRecentWindow labelled
  // records; ring_[ring_next_] is the oldest once ring_size_ is full.
  std::vector<uint8_t> ring_ ABSL_GUARDED_BY(labelled_mu_);
  int ring_next_ ABSL_GUARDED_BY(labelled_mu_) = 0;
  int ring_size_ ABSL_GUARDED_BY(labelled_mu_) = 0;

  absl::Mutex cumulative_mu_;
  std::vector<DeviceCounters> devices_ ABSL_GUARDED_BY(cumulative_mu_);
  MirroredCounter learning_steps_ ABSL_GUARDED_BY(cumulative_mu_);
  MirroredCounter float_updates_ ABSL_GUARDED_BY(cumulative_mu_);

  absl::Mutex checkpoint_mu_;
  absl::Time created_ ABSL_GUARDED_BY(checkpoint_mu_);
  absl::Time last_success_ ABSL_GUARDED_BY(checkpoint_mu_) =
      absl::InfinitePast();

  // Declared last so it is destroyed first: no scrape outlives the metrics.
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace server
}  // namespace dwae

#endif  // DWAE_SERVER_METRICS_H_
