// ScoringEnsemble: a frozen copy of an Ensemble for scoring, each member on
// InferenceNetwork (integer kernels where the member's weights are device
// levels, the float path otherwise).
//
// Score() is Ensemble::Score's formula: the mean over members of each
// member's weight times its mean (scaled) squared error over the dimensions
// it covers. Only the forward pass differs (inference_network.h), so the
// two agree within the integer path's tolerance; with one float member they
// are equal.
//
// Explain() gives, for every input dimension, the mean squared error and
// the mean reconstruction over the members that cover it (unscaled), for
// the per-feature explanations of a verdict.
//
// ScoreBatch() scores several records member by member, so that each
// member's forward pass runs its batched kernels; a record's score and
// scratch are bit for bit those of Score() alone (Score() is the batch of
// one), so verdicts do not depend on batch size.
//
// Thread-safety: immutable after construction; Score(), ScoreBatch() and
// Explain() may run on many threads at once, each with its own scratch.
#ifndef DWAE_CORE_SCORING_ENSEMBLE_H_
#define DWAE_CORE_SCORING_ENSEMBLE_H_

#include <cstdint>
#include <vector>

#include "core/ensemble.h"
#include "core/inference_network.h"
#include "core/network.h"

namespace dwae {

// The same buffers the training-side Ensemble scores with.
using ScoringEnsembleScratch = EnsembleWorkspace;

class ScoringEnsemble {
 public:
  // `dense_inputs`: the leading input dimensions that are usually nonzero
  // (FeatureEncoder::num_numeric()), for the members that take every
  // dimension (InferenceNetwork's dense_inputs; speed only).
  explicit ScoringEnsemble(const Ensemble& ensemble, int dense_inputs = 0);

  int dim() const { return dim_; }
  int num_members() const { return static_cast<int>(members_.size()); }
  // Members scored with the integer kernels.
  int integer_members() const;

  ScoringEnsembleScratch MakeScratch() const;
  // True when `scratch` (made by any ScoringEnsemble) has this one's
  // layout, so it can be reused: consolidation may change the layout.
  bool Fits(const ScoringEnsembleScratch& scratch) const;
  // The anomaly score of `x` (dim() floats).
  float Score(const float* x, ScoringEnsembleScratch* scratch) const;
  // Score() of n records at once, x[i] with its own scratch[i] (distinct):
  // scores[i] and scratch[i] are bit for bit what Score(x[i], scratch[i])
  // gives, whatever n; each member runs InferenceNetwork::ForwardBatch on
  // up to kMaxScoreBatch records.
  static constexpr int kMaxScoreBatch = 16;
  void ScoreBatch(int n, const float* const* x,
                  ScoringEnsembleScratch* const* scratch, float* scores) const;
  // ScoreBatch() of encoded records: q[i] holds the bytes
  // FeatureEncoder::EncodeQuantized wrote with x[i]. Bit for bit
  // ScoreBatch(n, x, scratch, scores); the members that take every
  // dimension start from the bytes (InferenceNetwork::ForwardEncoded).
  void ScoreEncodedBatch(int n, const float* const* x, const uint8_t* const* q,
                         ScoringEnsembleScratch* const* scratch,
                         float* scores) const;
  // After Score() on `scratch`: per-dimension mean squared error and mean
  // reconstruction over the covering members, dim() floats each.
  void Explain(ScoringEnsembleScratch* scratch, float* errors,
               float* reconstruction) const;

 private:
  struct Member {
    std::vector<int> dims;  // empty: all dimensions
    InferenceNetwork network;
    std::vector<float> inv_scale;
    float weight;
  };
  const float* Gather(const Member& m, const float* x,
                      std::vector<float>* gathered) const;

  // ScoreBatch of n <= kMaxScoreBatch records.
  // q: null, or the encoded bytes of the records (ScoreEncodedBatch).
  void ScoreChunk(int n, const float* const* x, const uint8_t* const* q,
                  ScoringEnsembleScratch* const* scratch, float* scores) const;
  // -mr: as Ensemble's mean-reconstruction score.
  void ScoreChunkMeanReconstruction(int n, const float* const* x,
                                    ScoringEnsembleScratch* const* scratch,
                                    float* scores) const;

  int dim_;
  int group_members_;  // K, members per group
  bool mean_reconstruction_;
  bool absolute_error_;
  std::vector<Member> members_;
  // 1 / (members covering dimension d).
  std::vector<float> inv_coverage_;
};

}  // namespace dwae

#endif  // DWAE_CORE_SCORING_ENSEMBLE_H_
