#include "core/model.h"

#include <utility>

#include "core/encoder.h"
#include "dwae/v1/checkpoint.pb.h"

namespace dwae {

absl::Status ModelConfig::Validate() const {
  if (absl::Status s = shape.Validate(); !s.ok()) return s;
  return rule.Validate();
}

absl::StatusOr<std::unique_ptr<Autoencoder>> Autoencoder::Create(
    const ModelConfig& config) {
  ModelConfig resolved = config;
  if (resolved.shape.input_dim == 0) resolved.shape.input_dim = kInputDim;
  if (absl::Status s = resolved.Validate(); !s.ok()) return s;
  Network network(resolved.shape);
  absl::StatusOr<std::unique_ptr<LearningRule>> rule =
      CreateRule(resolved.rule, resolved.seed, &network);
  if (!rule.ok()) return rule.status();
  return std::unique_ptr<Autoencoder>(
      new Autoencoder(resolved, std::move(network), *std::move(rule)));
}

Autoencoder::Autoencoder(const ModelConfig& config, Network network,
                         std::unique_ptr<LearningRule> rule)
    : config_(config), network_(std::move(network)), rule_(std::move(rule)) {}

float Autoencoder::Learn(const float* x, Workspace* ws) {
  const float loss = network_.Forward(x, ws);
  LearnFromForward(ws);
  return loss;
}

void Autoencoder::LearnDenoising(const float* input, const float* target,
                                 Workspace* ws) {
  network_.Forward(input, ws);
  network_.Backward(ws, target);
  rule_->Step(*ws, &network_);
  ++steps_;
}

void Autoencoder::LearnFromForward(Workspace* ws) {
  network_.Backward(ws);
  rule_->Step(*ws, &network_);
  ++steps_;
}

absl::Status Autoencoder::LoadState(const v1::RuleState& state) {
  if (absl::Status s = rule_->LoadState(state, &network_); !s.ok()) return s;
  steps_ = state.steps();
  return absl::OkStatus();
}

void Autoencoder::SquaredErrors(const Workspace& ws, float* out) {
  const Eigen::VectorXf& x = ws.activations.front();
  const Eigen::VectorXf& y = ws.activations.back();
  Eigen::Map<Eigen::VectorXf>(out, x.size()) = (y - x).cwiseAbs2();
}

}  // namespace dwae
