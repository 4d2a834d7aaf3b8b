#include "core/ensemble.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "Eigen/Core"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/rng.h"

namespace dwae {

absl::Status EnsembleOptions::Validate() const {
  if (members < 1 || members > 64) {
    return absl::InvalidArgumentError(
        absl::StrFormat("members: %d is outside [1, 64]", members));
  }
  if (group_size < 0 || group_size == 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "group_size: %d must be 0 (no groups) or >= 2", group_size));
  }
  if (!(group_hidden_ratio > 0 && group_hidden_ratio <= 4)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "group_hidden_ratio: %g is outside (0, 4]", group_hidden_ratio));
  }
  if (!(input_dropout >= 0 && input_dropout < 1)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("input_dropout: %g is outside [0, 1)", input_dropout));
  }
  if (!(scale_floor >= 0 && scale_floor <= 100)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("scale_floor: %g is outside [0, 100]", scale_floor));
  }
  return absl::OkStatus();
}

std::string EnsembleOptions::ToString() const {
  std::string s = absl::StrCat("k", members);
  if (group_size > 0) absl::StrAppend(&s, "-g", group_size);
  if (standardize) absl::StrAppend(&s, "-std");
  if (member_scale) absl::StrAppend(&s, "-ms");
  if (bagging) absl::StrAppend(&s, "-bag");
  if (input_dropout > 0) absl::StrAppend(&s, "-dn", input_dropout);
  if (mean_reconstruction) absl::StrAppend(&s, "-mr");
  if (absolute_error) absl::StrAppend(&s, "-l1");
  return s;
}

absl::StatusOr<EnsembleOptions> ParseEnsembleSpec(absl::string_view spec,
                                                  const EnsembleOptions& base) {
  EnsembleOptions o = base;
  o.group_size = 0;
  o.standardize = false;
  o.member_scale = false;
  o.bagging = false;
  o.input_dropout = 0;
  o.mean_reconstruction = false;
  o.absolute_error = false;
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ensemble: '", spec, "' ", why,
        " (expected k<members>[-g<size>][-std][-ms][-bag][-dn<dropout>][-mr], "
        "e.g. k5-g32)"));
  };
  std::vector<absl::string_view> parts = absl::StrSplit(spec, '-');
  if (parts.empty() || !absl::ConsumePrefix(&parts[0], "k") ||
      !absl::SimpleAtoi(parts[0], &o.members)) {
    return bad("does not start with k<members>");
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    absl::string_view p = parts[i];
    if (p == "std") {
      o.standardize = true;
    } else if (p == "ms") {
      o.member_scale = true;
    } else if (p == "bag") {
      o.bagging = true;
    } else if (p == "l1") {
      o.absolute_error = true;
    } else if (p == "mr") {
      o.mean_reconstruction = true;
    } else if (absl::ConsumePrefix(&p, "dn")) {
      if (!absl::SimpleAtod(p, &o.input_dropout)) return bad("has a bad -dn");
    } else if (absl::ConsumePrefix(&p, "g")) {
      if (!absl::SimpleAtoi(p, &o.group_size)) return bad("has a bad -g");
    } else {
      return bad(absl::StrCat("has an unknown part '", parts[i], "'"));
    }
  }
  if (absl::Status s = o.Validate(); !s.ok()) return s;
  return o;
}

EnsembleOptions DefaultEnsemble(RuleKind kind) {
  EnsembleOptions o;
  o.members = 5;
  if (kind == RuleKind::kDwStochastic) o.group_size = 32;
  if (kind == RuleKind::kDwShadow) o.absolute_error = true;
  return o;
}

double MeanReconstructionError(const float* in, const float* sum, int width,
                               int k, const std::vector<float>& inv_scale,
                               bool absolute) {
  const double inv_k = 1.0 / double(k);
  double total = 0;
  for (int j = 0; j < width; ++j) {
    const double gap = double(sum[j]) * inv_k - double(in[j]);
    total += (absolute ? std::fabs(gap) : gap * gap) *
             (inv_scale.empty() ? 1.0 : double(inv_scale[j]));
  }
  return total / double(width);
}

double MemberErrorScore(const float* squared_errors, int width,
                        const std::vector<float>& inv_scale, bool absolute) {
  double sum = 0;
  for (int d = 0; d < width; ++d) {
    const double e = absolute ? std::sqrt(double(squared_errors[d]))
                              : double(squared_errors[d]);
    sum += inv_scale.empty() ? e : e * inv_scale[d];
  }
  return sum / double(width);
}

std::vector<std::vector<int>> CorrelationGroups(const std::vector<float>& rows,
                                                int dim, int max_size) {
  const Eigen::Index n = static_cast<Eigen::Index>(rows.size() / dim);
  Eigen::MatrixXd x =
      Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic,
                                     Eigen::RowMajor>>(rows.data(), n, dim)
          .cast<double>();
  x.rowwise() -= x.colwise().mean();
  const Eigen::MatrixXd cov = x.transpose() * x;
  // Complete-linkage distance between clusters, 1 - |corr| between dims.
  std::vector<std::vector<double>> dist(dim, std::vector<double>(dim, 1.0));
  for (int i = 0; i < dim; ++i) {
    for (int j = 0; j < dim; ++j) {
      const double denom = std::sqrt(cov(i, i) * cov(j, j));
      if (denom > 0) dist[i][j] = 1.0 - std::fabs(cov(i, j)) / denom;
    }
  }
  std::vector<std::vector<int>> clusters(dim);
  for (int i = 0; i < dim; ++i) clusters[i] = {i};
  std::vector<bool> alive(dim, true);
  for (;;) {
    int best_a = -1, best_b = -1;
    double best = std::numeric_limits<double>::infinity();
    for (int a = 0; a < dim; ++a) {
      if (!alive[a]) continue;
      for (int b = a + 1; b < dim; ++b) {
        if (!alive[b] ||
            int(clusters[a].size() + clusters[b].size()) > max_size) {
          continue;
        }
        if (dist[a][b] < best) best = dist[a][b], best_a = a, best_b = b;
      }
    }
    if (best_a < 0) break;
    clusters[best_a].insert(clusters[best_a].end(), clusters[best_b].begin(),
                            clusters[best_b].end());
    alive[best_b] = false;
    for (int c = 0; c < dim; ++c) {
      dist[best_a][c] = dist[c][best_a] =
          std::max(dist[best_a][c], dist[best_b][c]);
    }
  }
  std::vector<std::vector<int>> out;
  for (int a = 0; a < dim; ++a) {
    if (!alive[a]) continue;
    std::sort(clusters[a].begin(), clusters[a].end());
    out.push_back(std::move(clusters[a]));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Ensemble>> Ensemble::Create(
    const ModelConfig& base, const EnsembleOptions& options, int dim,
    const std::vector<float>& fit_rows) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  if (dim < 1) return absl::InvalidArgumentError("dim: must be >= 1");
  std::vector<std::vector<int>> groups = {{}};
  if (options.group_size > 0) {
    if (fit_rows.size() < size_t(2 * dim)) {
      return absl::InvalidArgumentError(
          "fit_rows: feature groups need at least two rows");
    }
    groups = CorrelationGroups(fit_rows, dim, options.group_size);
  }
  return CreateWithGroups(base, options, dim, groups);
}

namespace {

// Empty, or ascending dimensions in [0, dim), at most max_size (0: any).
absl::Status CheckGroup(const std::vector<int>& dims, int dim, int max_size) {
  if (max_size > 0 && int(dims.size()) > max_size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "a group has %d dimensions, more than the group size %d", dims.size(),
        max_size));
  }
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] < 0 || dims[i] >= dim || (i > 0 && dims[i] <= dims[i - 1])) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "a group's dimensions are not ascending within [0, %d)", dim));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Ensemble>> Ensemble::CreateWithGroups(
    const ModelConfig& base, const EnsembleOptions& options, int dim,
    const std::vector<std::vector<int>>& groups) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  if (dim < 1) return absl::InvalidArgumentError("dim: must be >= 1");
  if (groups.empty()) return absl::InvalidArgumentError("groups: none");
  std::unique_ptr<Ensemble> e(new Ensemble(options, dim));
  for (size_t g = 0; g < groups.size(); ++g) {
    if (absl::Status s = CheckGroup(groups[g], dim, options.group_size);
        !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("groups[", g, "]: ", s.message()));
    }
    for (int k = 0; k < options.members; ++k) {
      ModelConfig config = base;
      // The first member keeps the base seed: K = 1 is the single model.
      if (g > 0 || k > 0) config.seed = HashPair(base.seed, g * 1000 + k + 1);
      if (groups[g].empty()) {
        config.shape.input_dim = dim;
      } else {
        const int width = int(groups[g].size());
        config.shape.input_dim = width;
        config.shape.hidden = {
            std::max(1, int(std::ceil(options.group_hidden_ratio * width)))};
      }
      absl::StatusOr<std::unique_ptr<Autoencoder>> model =
          Autoencoder::Create(config);
      if (!model.ok()) return model.status();
      e->members_.push_back({groups[g], *std::move(model), {}});
    }
  }
  e->learn_ws_ = e->MakeWorkspace();
  e->corrupted_.resize(dim);
  e->noise_rng_ = Rng(HashPair(base.seed, 0xd0153));
  return e;
}

std::vector<std::vector<int>> Ensemble::groups() const {
  std::vector<std::vector<int>> out;
  for (size_t i = 0; i < members_.size(); i += options_.members) {
    out.push_back(members_[i].dims);
  }
  return out;
}

EnsembleWorkspace Ensemble::MakeWorkspace() const {
  EnsembleWorkspace ws;
  for (const Member& m : members_) {
    ws.members.push_back(m.model->MakeWorkspace());
  }
  ws.gathered.resize(dim_);
  ws.errors.resize(dim_);
  return ws;
}

const float* Ensemble::Gather(const Member& m, const float* x,
                              std::vector<float>* gathered) const {
  if (m.dims.empty()) return x;
  for (size_t i = 0; i < m.dims.size(); ++i) (*gathered)[i] = x[m.dims[i]];
  return gathered->data();
}

double Ensemble::MemberScore(size_t i, const float* x,
                             EnsembleWorkspace* ws) const {
  const Member& m = members_[i];
  Workspace& mws = ws->members[i];
  const float mse = m.model->Score(Gather(m, x, &ws->gathered), &mws);
  if (m.inv_scale.empty() && !options_.absolute_error) return mse;
  Autoencoder::SquaredErrors(mws, ws->errors.data());
  return MemberErrorScore(ws->errors.data(),
                          m.model->network().shape().input_dim, m.inv_scale,
                          options_.absolute_error);
}

double Ensemble::GroupMeanReconstructionScore(size_t first, const float* x,
                                              EnsembleWorkspace* ws) const {
  const Member& m0 = members_[first];
  const float* in = Gather(m0, x, &ws->gathered);
  const int width = m0.model->network().shape().input_dim;
  std::vector<float>& sum = ws->errors;
  std::fill(sum.begin(), sum.begin() + width, 0.0f);
  for (int k = 0; k < options_.members; ++k) {
    Workspace& mws = ws->members[first + k];
    members_[first + k].model->Score(in, &mws);
    const Eigen::VectorXf& y = Network::Output(mws);
    for (int j = 0; j < width; ++j) sum[j] += y[j];
  }
  return MeanReconstructionError(in, sum.data(), width, options_.members,
                                 m0.inv_scale, options_.absolute_error);
}

float Ensemble::Score(const float* x, EnsembleWorkspace* ws) const {
  if (options_.mean_reconstruction) {
    double total = 0;
    for (size_t i = 0; i < members_.size(); i += options_.members) {
      total += GroupMeanReconstructionScore(i, x, ws);
    }
    return float(total * options_.members / double(members_.size()));
  }
  double total = 0;
  for (size_t i = 0; i < members_.size(); ++i) {
    total += members_[i].weight * MemberScore(i, x, ws);
  }
  return float(total / double(members_.size()));
}

void Ensemble::Learn(const float* x) {
  if (options_.input_dropout > 0) {
    LearnDenoising(x);
    return;
  }
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& m = members_[i];
    if (options_.bagging && noise_rng_.Uniform() >= 0.632) continue;
    m.model->Learn(Gather(m, x, &learn_ws_.gathered), &learn_ws_.members[i]);
  }
}

void Ensemble::LearnAfterScore(const float* x, EnsembleWorkspace* ws) {
  if (options_.input_dropout > 0) {
    LearnDenoising(x);
    return;
  }
  for (size_t i = 0; i < members_.size(); ++i) {
    if (options_.bagging && noise_rng_.Uniform() >= 0.632) continue;
    members_[i].model->LearnFromForward(&ws->members[i]);
  }
}

void Ensemble::LearnDenoising(const float* x) {
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& m = members_[i];
    // Each member sees its own corruption of the record.
    for (int d = 0; d < dim_; ++d) {
      corrupted_[d] =
          noise_rng_.Uniform() < options_.input_dropout ? 0.0f : x[d];
    }
    // learn_ws_.errors is free during learning: the clean target's buffer.
    const float* clean = Gather(m, x, &learn_ws_.errors);
    m.model->LearnDenoising(Gather(m, corrupted_.data(), &learn_ws_.gathered),
                            clean, &learn_ws_.members[i]);
  }
}

void Ensemble::FitScale(const std::vector<float>& rows) {
  if (rows.size() < size_t(dim_)) return;
  if (options_.standardize) FitDimensionScales(rows);
  if (options_.member_scale) FitMemberWeights(rows);
}

void Ensemble::FitMemberWeights(const std::vector<float>& rows) {
  const size_t n = rows.size() / dim_;
  EnsembleWorkspace ws = MakeWorkspace();
  std::vector<double> mean(members_.size(), 0.0);
  for (Member& m : members_) m.weight = 1.0f;
  for (size_t r = 0; r < n; ++r) {
    for (size_t i = 0; i < members_.size(); ++i) {
      // The member's (possibly standardized) score, before its weight.
      mean[i] += MemberScore(i, &rows[r * dim_], &ws);
    }
  }
  double overall = 0;
  for (double v : mean) overall += v;
  overall /= double(members_.size());
  for (size_t i = 0; i < members_.size(); ++i) {
    members_[i].weight = mean[i] > 0 ? float(overall / mean[i]) : 1.0f;
  }
}

void Ensemble::FitDimensionScales(const std::vector<float>& rows) {
  const size_t n = rows.size() / dim_;
  EnsembleWorkspace ws = MakeWorkspace();
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& m = members_[i];
    const int width = m.model->network().shape().input_dim;
    std::vector<double> mean(width, 0.0);
    for (size_t r = 0; r < n; ++r) {
      m.model->Score(Gather(m, &rows[r * dim_], &ws.gathered), &ws.members[i]);
      Autoencoder::SquaredErrors(ws.members[i], ws.errors.data());
      for (int d = 0; d < width; ++d) mean[d] += ws.errors[d];
    }
    double overall = 0;
    for (double& v : mean) overall += (v /= double(n));
    overall /= double(width);
    // Weights average to about 1 so scores stay in MSE units (the
    // threshold histogram spans 1e-9 .. 10).
    const double floor = options_.scale_floor * overall;
    m.inv_scale.assign(width, 1.0f);
    for (int d = 0; d < width; ++d) {
      const double s = mean[d] + floor;
      m.inv_scale[d] = s > 0 ? float(overall / s) : 1.0f;
    }
  }
}

void Ensemble::set_learning_rate(float learning_rate) {
  for (Member& m : members_) m.model->set_learning_rate(learning_rate);
}

float Ensemble::learning_rate() const {
  return members_.front().model->rule().learning_rate();
}

uint64_t Ensemble::weight_updates() const {
  uint64_t total = 0;
  for (const Member& m : members_) total += m.model->rule().weight_updates();
  return total;
}

uint64_t Ensemble::float_equivalent_updates() const {
  uint64_t total = 0;
  for (const Member& m : members_) {
    total += m.model->float_equivalent_updates();
  }
  return total;
}

int64_t Ensemble::model_bytes() const {
  int64_t total = 0;
  for (const Member& m : members_) total += m.model->rule().model_bytes();
  return total;
}

int64_t Ensemble::num_parameters() const {
  int64_t total = 0;
  for (const Member& m : members_) {
    total += m.model->network().num_parameters();
  }
  return total;
}

DeviceCounters Ensemble::device_counters() const {
  DeviceCounters total;
  for (const Member& m : members_) {
    for (const LayerDeviceCounters& layer : m.model->rule().device_counters()) {
      total += layer.total();
    }
  }
  return total;
}

uint64_t Ensemble::steps() const { return members_.front().model->steps(); }

}  // namespace dwae
