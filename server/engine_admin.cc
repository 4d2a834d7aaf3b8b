// Engine: verdict queries, model information and administration (any
// thread). Scoring is in engine_api.cc.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/record_proto.h"
#include "server/engine.h"

namespace dwae::server {
namespace {

constexpr uint32_t kDefaultQueryLimit = 100;
constexpr uint32_t kMaxQueryLimit = 10000;

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// `spec`: the configured ensemble (a grouped one serves a single
// autoencoder until its warm-up ends).
void FillEnsembleInfo(const std::string& spec, const Ensemble& model,
                      const ScoringModel& published, v1::EnsembleInfo* out) {
  out->set_spec(spec);
  out->set_members(uint32_t(model.num_members()));
  const std::vector<std::vector<int>> groups = model.groups();
  out->set_groups(uint32_t(groups.size()));
  for (const std::vector<int>& g : groups) {
    out->add_group_dims(uint32_t(g.empty() ? model.dim() : int(g.size())));
  }
  out->set_integer_members(uint32_t(published.model().integer_members()));
}

}  // namespace

absl::Status Engine::QueryVerdicts(const v1::QueryVerdictsRequest& request,
                                   v1::QueryVerdictsResponse* response) const {
  if (request.ids_size() > int(kMaxQueryLimit)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ids: %d ids exceed the limit of %d",
                        request.ids_size(), kMaxQueryLimit));
  }
  const uint32_t limit = request.limit() == 0
                             ? kDefaultQueryLimit
                             : std::min(request.limit(), kMaxQueryLimit);
  if (request.ids_size() > 0) {
    verdicts_.FindByIds(request.ids(), response->mutable_verdicts());
  } else {
    const absl::Time since =
        request.has_since() ? FromProto(request.since()) : absl::InfinitePast();
    verdicts_.Anomalies(request.after_sequence(), since, limit,
                        response->mutable_verdicts());
  }
  response->set_last_sequence(verdicts_.last_sequence());
  return absl::OkStatus();
}

void Engine::FillLearnerInfoLocked(const ScoringModel& published,
                                   v1::ModelInfo* info) const {
  const Detector& d = *detector_;
  *info->mutable_config() = DetectorConfigToProto(d.config());
  const Ensemble& model = d.model();
  info->set_shape(model.ShapeString());
  info->set_parameters(model.num_parameters());
  FillEnsembleInfo(d.config().ensemble.ToString(), model, published,
                   info->mutable_ensemble());
  // Member 0's layers; the device counters summed over members.
  const Autoencoder& first = model.member(0);
  const std::vector<LayerDeviceCounters> counters =
      model.layer_device_counters();
  const DeviceParams& device = d.config().model.rule.device;
  for (int l = 0; l < first.network().num_layers(); ++l) {
    const DenseLayer& layer = first.network().layer(l);
    v1::LayerInfo* li = info->add_layers();
    li->set_inputs(layer.in());
    li->set_outputs(layer.out());
    li->set_activation(ActivationName(layer.activation));
    li->set_weight_alpha(first.rule().weight_alpha(l));
    li->set_bias_alpha(first.rule().kind() == RuleKind::kFloat
                           ? 0.0
                           : d.config().model.rule.bias_alpha);
    for (bool bias : {false, true}) {
      const DeviceCounters& c = bias ? counters[l].biases : counters[l].weights;
      v1::DeviceCounters* out =
          bias ? li->mutable_bias_devices() : li->mutable_weight_devices();
      out->set_pulses(c.pulses);
      out->set_level_changes(c.level_changes);
      out->set_failures(c.failures);
      out->set_overshoots(c.overshoots);
      out->set_blocked(c.blocked);
      out->set_energy_joules(c.energy_joules(device));
    }
  }
  // What verdicts use: the published model's threshold.
  info->set_threshold(published.threshold());
  info->set_threshold_source(published.threshold_source());
  info->set_warming_up(d.warming_up());
  const uint64_t warmup = d.config().learning.warmup_records;
  info->set_warmup_records(warmup);
  info->set_warmup_records_learned(std::min(d.records_learned(), warmup));
  info->set_learning_steps(model.steps());
  info->set_weight_updates(model.weight_updates());
  info->set_float_equivalent_updates(model.float_equivalent_updates());
  info->set_model_version(d.model_version());
}

void Engine::GetModelInfo(v1::ModelInfo* info) const {
  {
    absl::MutexLock lock(&model_mu_);
    *info = *learner_info_;
  }
  // Live values: the cached ones are as of the last publish.
  const uint64_t warmup_learned = warmup_learned_.load();
  info->set_warmup_records_learned(warmup_learned);
  info->set_warming_up(warmup_learned < info->warmup_records());
  info->set_consolidating(consolidating_.load());
  info->set_learn_queue_depth(queue_.size());
  info->set_learning_state(v1::LearningState(learning_state_.load()));
  info->set_records_scored(scored_);
  info->set_records_normal(normal_);
  info->set_records_anomalous(anomalous_);
  info->set_records_invalid(invalid_);
  info->set_records_learned(learned_);
  info->set_records_dropped(dropped_);
  info->set_true_positives(tp_);
  info->set_false_positives(fp_);
  info->set_true_negatives(tn_);
  info->set_false_negatives(fn_);
  const int64_t last = last_checkpoint_unix_ns_;
  if (last > 0) {
    SetTimestamp(last, info->mutable_last_checkpoint());
  }
  info->set_build_version(DWAE_VERSION);
  absl::MutexLock lock(&source_mu_);
  if (source_ != nullptr) source_->FillModelInfo(info);
}

absl::StatusOr<v1::LearningState> Engine::SetLearning(v1::LearningState state) {
  if (state == v1::LEARNING_STATE_UNSPECIFIED ||
      !v1::LearningState_IsValid(state)) {
    return absl::InvalidArgumentError("state: must be AUTO, ON, GATED or OFF");
  }
  learning_state_ = state;
  metrics_->SetLearningEnabled(state != v1::LEARNING_STATE_OFF);
  return state;
}

absl::StatusOr<v1::SetThresholdResponse> Engine::SetThreshold(
    const v1::SetThresholdRequest& request) {
  absl::MutexLock lock(&detector_mu_);
  switch (request.threshold_case()) {
    case v1::SetThresholdRequest::kFixed:
      if (!(request.fixed() > 0 && std::isfinite(request.fixed()))) {
        return absl::InvalidArgumentError(absl::StrCat(
            "fixed: ", request.fixed(), " must be finite and > 0"));
      }
      detector_->SetFixedThreshold(request.fixed());
      break;
    case v1::SetThresholdRequest::kAutomatic:
      if (request.automatic() == v1::THRESHOLD_MODE_QUANTILE) {
        detector_->SetAutomaticThreshold(ThresholdMode::kQuantile);
      } else if (request.automatic() == v1::THRESHOLD_MODE_ADAPTIVE) {
        detector_->SetAutomaticThreshold(ThresholdMode::kAdaptive);
      } else {
        return absl::InvalidArgumentError(
            "automatic: must be THRESHOLD_MODE_QUANTILE or ADAPTIVE");
      }
      break;
    default:
      return absl::InvalidArgumentError("threshold: set fixed or automatic");
  }
  PublishLocked();
  v1::SetThresholdResponse response;
  response.set_threshold(detector_->threshold());
  response.set_threshold_source(detector_->threshold_source());
  return response;
}

absl::Status Engine::ResetModel() {
  absl::StatusOr<std::unique_ptr<Detector>> fresh =
      Detector::Create(options_.detector);
  if (!fresh.ok()) return fresh.status();
  absl::MutexLock lock(&detector_mu_);
  detector_ = *std::move(fresh);
  PublishLocked();
  RefreshWarmupProgressLocked();
  return absl::OkStatus();
}
}  // namespace dwae::server
