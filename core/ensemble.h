// Ensemble: the anomaly scorer built from one or more autoencoders.
//
// Three ways past a single model's plain mean squared error, each optional
// and each chosen on validation rows only (docs/evaluation.md):
//   - members:     K autoencoders of the same shape trained from different
//                  seeds (initial notches and device write streams); their
//                  scores are averaged, which also averages away the seed
//                  spread of a stochastic rule.
//   - group_size:  KitNET-style feature groups (Mirsky et al., NDSS 2018):
//                  the input dimensions are clustered by correlation on the
//                  fit rows (1 - |corr| distance, agglomerative, at most
//                  `group_size` dimensions per cluster) and each cluster gets
//                  its own small autoencoder (hidden width
//                  ceil(group_hidden_ratio x dims)); K of them per group.
//   - standardize: each dimension's squared error is divided by that
//                  dimension's mean squared error on normal rows (FitScale),
//                  plus `scale_floor` x the mean over dimensions, so a
//                  dimension that is always reconstructed well counts as
//                  much as one that is always hard.
// The score of a record is the mean over members of each member's mean
// (scaled) squared error over the dimensions it covers.
//
// With members = 1, group_size = 0 and standardize = false the ensemble is
// exactly the single Autoencoder with the same seed.
//
// Checkpoints (dwaed): SaveMembers/LoadMembers write and read every
// member's dimensions, rule state and scales (checkpoint.proto,
// EnsembleMemberState); Create(..., groups) rebuilds the layout first.
//
// Thread-safety: Score() is const and may run on many threads at once, each
// with its own EnsembleWorkspace, while nobody calls Learn() or FitScale().
// Learn(), LearnAfterScore(), FitScale() and LoadMembers() need exclusive
// access.
#ifndef DWAE_CORE_ENSEMBLE_H_
#define DWAE_CORE_ENSEMBLE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/device.h"
#include "core/model.h"
#include "core/rng.h"
#include "dwae/v1/checkpoint.pb.h"

namespace dwae {

struct EnsembleOptions {
  int members = 1;     // autoencoders per group (or in all), >= 1
  int group_size = 0;  // 0: every member sees all dimensions
  double group_hidden_ratio = 0.75;
  bool standardize = false;
  double scale_floor = 0.1;  // fraction of the mean per-dimension scale
  // Member-level scaling: each member's score is divided by its mean score
  // on normal rows (FitScale), so that groups with easy dimensions weigh
  // as much as groups with hard ones.
  bool member_scale = false;
  // Bagging: each member learns each record with probability 0.632 (the
  // share of distinct rows in a bootstrap sample), for diversity.
  bool bagging = false;
  // Denoising: during learning each input dimension is zeroed with this
  // probability (masking noise); the target stays the clean record.
  double input_dropout = 0.0;
  // Mean reconstruction (-mr): a group's score is the mean squared error of
  // the mean of its K members' reconstructions, not the mean of their
  // errors: K stochastic device networks read together as one network of
  // finer levels. Groups are still averaged with equal weight.
  bool mean_reconstruction = false;
  // Absolute errors (-l1): a member's score is its mean absolute error
  // (with -std, scaled) instead of its mean squared error, so that many
  // moderately wrong dimensions weigh more against one badly wrong one.
  bool absolute_error = false;

  absl::Status Validate() const;
  // "k1", "k5-std", "k5-g16-std-dn0.1" style, for logs, flags and JSON.
  std::string ToString() const;
};

// Parses ToString()'s form: "k<members>" followed by any of "-g<size>",
// "-std", "-ms", "-bag", "-dn<dropout>", "-mr", "-l1". Fields not in the spec
// keep `base`'s values.
absl::StatusOr<EnsembleOptions> ParseEnsembleSpec(absl::string_view spec,
                                                  const EnsembleOptions& base);

// The ensemble chosen on validation for each rule (docs/evaluation.md):
// five autoencoders for every rule, over KitNET-style feature groups of at
// most 32 dimensions for dw-stochastic, scored by absolute errors for
// dw-shadow.
EnsembleOptions DefaultEnsemble(RuleKind kind);

// Clusters the `dim` columns of `rows` (row-major) into groups of at most
// `max_size` dimensions by correlation (agglomerative, complete linkage on
// 1 - |corr|). Constant columns are treated as uncorrelated with all.
// Deterministic; each group's dimensions are sorted.
std::vector<std::vector<int>> CorrelationGroups(const std::vector<float>& rows,
                                                int dim, int max_size);

// -mr: mean over `width` dimensions of (scale x) (sum_j / k - in_j)^2, where
// sum holds the sum of k reconstructions (|.| instead of ^2 when
// `absolute`); inv_scale empty means 1.
double MeanReconstructionError(const float* in, const float* sum, int width,
                               int k, const std::vector<float>& inv_scale,
                               bool absolute);
// A member's score from its per-dimension squared errors: their mean, or
// with `absolute` the mean of their square roots; each times inv_scale[d]
// when inv_scale is not empty.
double MemberErrorScore(const float* squared_errors, int width,
                        const std::vector<float>& inv_scale, bool absolute);

struct EnsembleWorkspace {
  std::vector<Workspace> members;
  std::vector<float> gathered;  // one member's input
  std::vector<float> errors;    // one member's per-dimension errors
};

class Ensemble {
 public:
  // `base` gives the member shape (input_dim is set per member), rule and
  // seed; `fit_rows` (row-major, `dim` wide) are used only to form feature
  // groups when options.group_size > 0.
  static absl::StatusOr<std::unique_ptr<Ensemble>> Create(
      const ModelConfig& base, const EnsembleOptions& options, int dim,
      const std::vector<float>& fit_rows);
  // The same with the feature groups given: `groups` lists each group's
  // dimensions (ascending, within [0, dim), at most options.group_size of
  // them); {{}} is one group of all dimensions. options.members members are
  // made per group, seeded as the other Create seeds them.
  static absl::StatusOr<std::unique_ptr<Ensemble>> CreateWithGroups(
      const ModelConfig& base, const EnsembleOptions& options, int dim,
      const std::vector<std::vector<int>>& groups);
  // The feature groups in member order, as CreateWithGroups takes them.
  std::vector<std::vector<int>> groups() const;

  const EnsembleOptions& options() const { return options_; }
  int dim() const { return dim_; }
  int num_members() const { return static_cast<int>(members_.size()); }
  const Autoencoder& member(int m) const { return *members_[m].model; }
  const std::vector<int>& member_dims(int m) const { return members_[m].dims; }
  // Member m's score weight (1 unless member_scale).
  float member_weight(int m) const { return members_[m].weight; }
  // Member m's per-dimension inverse error scales (empty unless
  // standardize and FitScale ran).
  const std::vector<float>& member_inv_scale(int m) const {
    return members_[m].inv_scale;
  }

  // Appends one EnsembleMemberState per member.
  void SaveMembers(
      google::protobuf::RepeatedPtrField<v1::EnsembleMemberState>* out) const;
  // Loads states saved by SaveMembers into an ensemble of the same layout
  // (same count, dimensions and shapes); errors name the member.
  absl::Status LoadMembers(
      const google::protobuf::RepeatedPtrField<v1::EnsembleMemberState>& in);

  EnsembleWorkspace MakeWorkspace() const;

  // The anomaly score of `x` (dim() floats).
  float Score(const float* x, EnsembleWorkspace* ws) const;
  // One online step of every member on `x`.
  void Learn(const float* x);
  // The same step after Score(x, ws): reuses each member's forward pass in
  // `ws` where it can (neither bagging nor denoising changes the input).
  void LearnAfterScore(const float* x, EnsembleWorkspace* ws);
  // Sets each dimension's error scale from `rows` (normal rows, row-major);
  // a no-op unless options.standardize.
  void FitScale(const std::vector<float>& rows);
  void set_learning_rate(float learning_rate);
  float learning_rate() const;

  // Totals over members.
  uint64_t weight_updates() const;
  uint64_t float_equivalent_updates() const;
  int64_t model_bytes() const;
  int64_t num_parameters() const;
  DeviceCounters device_counters() const;
  // Each layer index's counters summed over members (every member has the
  // same number of layers).
  std::vector<LayerDeviceCounters> layer_device_counters() const;
  // "125-32-125" for one member, "k5 x 125-32-125" for K of one shape,
  // "k5 x (30-23-30, 32-24-32, ...)" for feature groups.
  std::string ShapeString() const;
  uint64_t steps() const;

 private:
  struct Member {
    std::vector<int> dims;  // empty: all dimensions, in order
    std::unique_ptr<Autoencoder> model;
    std::vector<float> inv_scale;  // per member dimension; empty: 1
    float weight = 1.0f;           // member_scale
  };
  Ensemble(const EnsembleOptions& options, int dim)
      : options_(options), dim_(dim) {}
  void LearnDenoising(const float* x);
  // Member i's mean (scaled) squared error on x, without its weight.
  double MemberScore(size_t i, const float* x, EnsembleWorkspace* ws) const;
  // -mr: the group starting at member `first`: the mean (scaled) squared
  // error of its members' mean reconstruction.
  double GroupMeanReconstructionScore(size_t first, const float* x,
                                      EnsembleWorkspace* ws) const;
  void FitDimensionScales(const std::vector<float>& rows);
  void FitMemberWeights(const std::vector<float>& rows);
  // Copies member m's input dimensions of x into ws->gathered; returns the
  // pointer to pass to the member.
  const float* Gather(const Member& m, const float* x,
                      std::vector<float>* gathered) const;

  EnsembleOptions options_;
  int dim_;
  std::vector<Member> members_;
  EnsembleWorkspace learn_ws_;
  std::vector<float> corrupted_;  // the denoising input, dim() floats
  Rng noise_rng_{0};
};

}  // namespace dwae

#endif  // DWAE_CORE_ENSEMBLE_H_
