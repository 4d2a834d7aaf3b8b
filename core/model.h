// Autoencoder: a Network together with the learning rule that trains it.
//
// Score() runs the forward pass only; Learn() runs one online step (forward,
// backward, rule). The score of a record is its mean squared reconstruction
// error; after either call the workspace holds the reconstruction, from which
// SquaredErrors() gives the per-dimension errors used for explanations.
//
// Thread-safety: Score() is const and may run on many threads at once, each
// with its own Workspace, while nobody calls Learn(). Learn() needs exclusive
// access. Copy the network() for a snapshot that readers can use while a
// learner keeps training.
#ifndef DWAE_CORE_MODEL_H_
#define DWAE_CORE_MODEL_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "core/network.h"
#include "core/rules.h"

namespace dwae {

struct ModelConfig {
  NetworkShape shape;  // input_dim 0 means the encoder's kInputDim
  RuleConfig rule;
  uint64_t seed = 1;

  absl::Status Validate() const;
};

class Autoencoder {
 public:
  static absl::StatusOr<std::unique_ptr<Autoencoder>> Create(
      const ModelConfig& config);

  const ModelConfig& config() const { return config_; }
  const Network& network() const { return network_; }
  const LearningRule& rule() const { return *rule_; }
  Workspace MakeWorkspace() const { return network_.MakeWorkspace(); }

  // Mean squared reconstruction error of `x` (input_dim floats).
  float Score(const float* x, Workspace* ws) const {
    return network_.Forward(x, ws);
  }
  // One online learning step on `x`; returns the loss before the step.
  float Learn(const float* x, Workspace* ws);
  // A denoising step: reconstructs `target` from the corrupted `input`.
  void LearnDenoising(const float* input, const float* target, Workspace* ws);
  // The same step for the input of the last Score() on `ws`, without
  // running the forward pass again.
  void LearnFromForward(Workspace* ws);

  // Squared error of each input dimension from the last Score/Learn on `ws`.
  static void SquaredErrors(const Workspace& ws, float* out);

  // Changes the rule's step size (learning-rate schedules).
  void set_learning_rate(float learning_rate) {
    rule_->set_learning_rate(learning_rate);
  }

  // Checkpoint support (rules.h): the rule's state including the step count.
  void SaveState(v1::RuleState* state) const {
    rule_->SaveState(network_, steps_, state);
  }
  absl::Status LoadState(const v1::RuleState& state);

  uint64_t steps() const { return steps_; }
  // What float training of the same network on the same schedule would have
  // written: parameters x steps.
  uint64_t float_equivalent_updates() const {
    return steps_ * static_cast<uint64_t>(network_.num_parameters());
  }

 private:
  Autoencoder(const ModelConfig& config, Network network,
              std::unique_ptr<LearningRule> rule);

  ModelConfig config_;
  Network network_;
  std::unique_ptr<LearningRule> rule_;
  uint64_t steps_ = 0;
};

}  // namespace dwae

#endif  // DWAE_CORE_MODEL_H_
