#include "core/scoring_ensemble.h"

#include <algorithm>

#include "core/model.h"

namespace dwae {

ScoringEnsemble::ScoringEnsemble(const Ensemble& ensemble, int dense_inputs)
    : dim_(ensemble.dim()),
      group_members_(ensemble.options().members),
      mean_reconstruction_(ensemble.options().mean_reconstruction),
      absolute_error_(ensemble.options().absolute_error),
      inv_coverage_(ensemble.dim(), 0.0f) {
  members_.reserve(ensemble.num_members());
  for (int m = 0; m < ensemble.num_members(); ++m) {
    const std::vector<int>& dims = ensemble.member_dims(m);
    // A member of a feature group reads gathered dimensions.
    const int dense = dims.empty() ? dense_inputs : 0;
    members_.push_back(
        {dims, InferenceNetwork(ensemble.member(m).network(), dense),
         ensemble.member_inv_scale(m), ensemble.member_weight(m)});
    if (dims.empty()) {
      for (float& c : inv_coverage_) c += 1.0f;
    } else {
      for (int d : dims) inv_coverage_[d] += 1.0f;
    }
  }
  for (float& c : inv_coverage_) c = c > 0 ? 1.0f / c : 0.0f;
}

int ScoringEnsemble::integer_members() const {
  return static_cast<int>(
      std::count_if(members_.begin(), members_.end(),
                    [](const Member& m) { return m.network.integer(); }));
}

ScoringEnsembleScratch ScoringEnsemble::MakeScratch() const {
  ScoringEnsembleScratch s;
  for (const Member& m : members_)
    s.members.push_back(m.network.MakeWorkspace());
  s.gathered.resize(dim_);
  s.errors.resize(dim_);
  return s;
}

bool ScoringEnsemble::Fits(const ScoringEnsembleScratch& scratch) const {
  if (scratch.members.size() != members_.size() ||
      scratch.gathered.size() != size_t(dim_)) {
    return false;
  }
  for (size_t i = 0; i < members_.size(); ++i) {
    const Network& n = members_[i].network.network();
    const std::vector<Eigen::VectorXf>& a = scratch.members[i].activations;
    if (a.size() != size_t(n.num_layers()) + 1 ||
        a[0].size() != n.shape().input_dim) {
      return false;
    }
    for (int l = 0; l < n.num_layers(); ++l) {
      if (a[l + 1].size() != n.layer(l).out()) return false;
    }
  }
  return true;
}

const float* ScoringEnsemble::Gather(const Member& m, const float* x,
                                     std::vector<float>* gathered) const {
  if (m.dims.empty()) return x;
  for (size_t i = 0; i < m.dims.size(); ++i) (*gathered)[i] = x[m.dims[i]];
  return gathered->data();
}

// Per record, the members' contributions are added in member order, as
// Score() of one record does (it is this with n = 1), so a record's score
// does not depend on the batch it came in.
void ScoringEnsemble::ScoreChunk(int n, const float* const* x,
                                 const uint8_t* const* q,
                                 ScoringEnsembleScratch* const* scratch,
                                 float* scores) const {
  if (mean_reconstruction_) {
    ScoreChunkMeanReconstruction(n, x, scratch, scores);
    return;
  }
  double total[kMaxScoreBatch] = {};
  const float* in[kMaxScoreBatch];
  Workspace* ws[kMaxScoreBatch];
  float mse[kMaxScoreBatch];
  for (size_t i = 0; i < members_.size(); ++i) {
    const Member& m = members_[i];
    for (int r = 0; r < n; ++r) {
      in[r] = Gather(m, x[r], &scratch[r]->gathered);
      ws[r] = &scratch[r]->members[i];
    }
    if (q != nullptr && m.dims.empty()) {
      m.network.ForwardEncodedBatch(n, in, q, ws, mse);
    } else {
      m.network.ForwardBatch(n, in, ws, mse);
    }
    for (int r = 0; r < n; ++r) {
      double score = mse[r];
      if (!m.inv_scale.empty() || absolute_error_) {
        float* errors = scratch[r]->errors.data();
        Autoencoder::SquaredErrors(*ws[r], errors);
        score = MemberErrorScore(errors, m.network.shape().input_dim,
                                 m.inv_scale, absolute_error_);
      }
      total[r] += m.weight * score;
    }
  }
  for (int r = 0; r < n; ++r) {
    scores[r] = float(total[r] / double(members_.size()));
  }
}

void ScoringEnsemble::ScoreChunkMeanReconstruction(
    int n, const float* const* x, ScoringEnsembleScratch* const* scratch,
    float* scores) const {
  double total[kMaxScoreBatch] = {};
  const float* in[kMaxScoreBatch];
  Workspace* ws[kMaxScoreBatch];
  float mse[kMaxScoreBatch];
  for (size_t first = 0; first < members_.size(); first += group_members_) {
    const Member& m0 = members_[first];
    const int width = m0.network.shape().input_dim;
    for (int r = 0; r < n; ++r) {
      in[r] = Gather(m0, x[r], &scratch[r]->gathered);
      std::vector<float>& sum = scratch[r]->errors;
      std::fill(sum.begin(), sum.begin() + width, 0.0f);
    }
    for (int k = 0; k < group_members_; ++k) {
      for (int r = 0; r < n; ++r) ws[r] = &scratch[r]->members[first + k];
      members_[first + k].network.ForwardBatch(n, in, ws, mse);
      for (int r = 0; r < n; ++r) {
        const Eigen::VectorXf& y = Network::Output(*ws[r]);
        float* sum = scratch[r]->errors.data();
        for (int j = 0; j < width; ++j) sum[j] += y[j];
      }
    }
    for (int r = 0; r < n; ++r) {
      total[r] += MeanReconstructionError(in[r], scratch[r]->errors.data(),
                                          width, group_members_, m0.inv_scale,
                                          absolute_error_);
    }
  }
  for (int r = 0; r < n; ++r) {
    scores[r] = float(total[r] * group_members_ / double(members_.size()));
  }
}

float ScoringEnsemble::Score(const float* x,
                             ScoringEnsembleScratch* scratch) const {
  float score;
  ScoreChunk(1, &x, nullptr, &scratch, &score);
  return score;
}

void ScoringEnsemble::ScoreBatch(int n, const float* const* x,
                                 ScoringEnsembleScratch* const* scratch,
                                 float* scores) const {
  for (int first = 0; first < n; first += kMaxScoreBatch) {
    ScoreChunk(std::min(kMaxScoreBatch, n - first), x + first, nullptr,
               scratch + first, scores + first);
  }
}

void ScoringEnsemble::ScoreEncodedBatch(int n, const float* const* x,
                                        const uint8_t* const* q,
                                        ScoringEnsembleScratch* const* scratch,
                                        float* scores) const {
  for (int first = 0; first < n; first += kMaxScoreBatch) {
    ScoreChunk(std::min(kMaxScoreBatch, n - first), x + first, q + first,
               scratch + first, scores + first);
  }
}

void ScoringEnsemble::Explain(ScoringEnsembleScratch* scratch, float* errors,
                              float* reconstruction) const {
  if (members_.size() == 1 && members_[0].dims.empty()) {
    Autoencoder::SquaredErrors(scratch->members[0], errors);
    const Eigen::VectorXf& y = Network::Output(scratch->members[0]);
    std::copy(y.data(), y.data() + dim_, reconstruction);
    return;
  }
  std::fill(errors, errors + dim_, 0.0f);
  std::fill(reconstruction, reconstruction + dim_, 0.0f);
  for (size_t i = 0; i < members_.size(); ++i) {
    const Member& m = members_[i];
    const Workspace& ws = scratch->members[i];
    Autoencoder::SquaredErrors(ws, scratch->errors.data());
    const Eigen::VectorXf& y = Network::Output(ws);
    const int width = static_cast<int>(y.size());
    for (int j = 0; j < width; ++j) {
      const int d = m.dims.empty() ? j : m.dims[j];
      errors[d] += scratch->errors[j];
      reconstruction[d] += y[j];
    }
  }
  for (int d = 0; d < dim_; ++d) {
    errors[d] *= inv_coverage_[d];
    reconstruction[d] *= inv_coverage_[d];
  }
}

}  // namespace dwae
