// Sampling which synapses of a layer receive a pulse in one dw-stochastic
// step, in time proportional to the number of pulses rather than to the
// number of synapses.
//
// The trials form a rows x cols grid (column-major, like a layer's weight
// matrix): trial (i, j) succeeds with probability
//   p_ij = min(1, c_j * d_i),   c_j >= 0, d_i >= 0,
// independently of every other trial. SampleOuterBernoulli calls
// visit(j, i) for each success, in increasing index j * rows + i.
//
// How: when p_max = max_j c_j * max_i d_i is small, candidates are drawn by
// geometric skips at a rate p >= p_max (p_max rounded up, RoundedSkipRate:
// the gap to the next candidate is floor(E / lambda), E a standard
// exponential variate and lambda = -log(1 - p), so that
// P(gap >= g) = e^(-g lambda) = (1 - p)^g: each index is a candidate with
// probability p independently) and each candidate is accepted with
// probability p_ij / p ("thinning"). Each trial then succeeds with
// probability p * p_ij / p = p_ij, independently: exactly the
// distribution of one Bernoulli draw per trial (ReferenceOuterBernoulli, the
// oracle; a statistical test compares them). E comes from the ziggurat
// (exponential.h: one 64-bit draw and no logarithm in 98.9 % of draws, where
// -log(U) cost a log per candidate), and there are about
// p * rows * cols candidates. When p_max is large the skips save
// nothing and the dense reference loop runs instead.
//
// Thread-safety: pure functions of their arguments and `rng`.
#ifndef DWAE_CORE_PULSE_SAMPLER_H_
#define DWAE_CORE_PULSE_SAMPLER_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/exponential.h"
#include "core/rng.h"

namespace dwae {

// Above this p_max the dense loop is cheaper than logs per candidate.
inline constexpr double kDenseSamplingThreshold = 0.25;

// The candidate rate of one call and its 1 / lambda = -1 / log(1 - p).
struct SkipRate {
  double p;
  double per_lambda;
};

// Thinning only needs a candidate rate p >= p_max: p_max (in (0, 0.25])
// rounded up to 4 significant bits (16 steps per octave, at most 1/16 more
// candidates), whose 1 / lambda comes from a table built once with
// std::log1p (a log1p per call was 3-4 % of a dw-stochastic step). Rates
// below 2^-64 are computed directly.
SkipRate RoundedSkipRate(double p_max);

// The largest of n >= 1 non-negative floats (a NaN wins, -0 is 0). Non-negative
// floats order like their bit patterns, and an integer maximum vectorizes
// where a float one (NaN rules) does not.
inline float MaxNonNegative(const float* v, int n) {
  uint32_t best = 0;
  for (int i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &v[i], sizeof(bits));
    best = std::max(best, bits & 0x7fffffffu);  // -0 counts as 0
  }
  float out;
  std::memcpy(&out, &best, sizeof(out));
  return out;
}

// out[i] = |x[i]| for i < n (n >= 1); returns MaxNonNegative(out, n),
// taken in the same pass.
inline float AbsWithMax(const float* x, int n, float* out) {
  uint32_t best = 0;
  for (int i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &x[i], sizeof(bits));
    bits &= 0x7fffffffu;
    std::memcpy(&out[i], &bits, sizeof(bits));
    best = std::max(best, bits);
  }
  float max;
  std::memcpy(&max, &best, sizeof(max));
  return max;
}

// out[k] = scale * |a[j]| for the columns j = idx[k] (kGather) or j = k,
// k < n (n >= 0); returns MaxNonNegative(out, n), taken in the same pass (0
// when n is 0). dw-stochastic's column rates.
template <bool kGather>
inline float ScaledAbsWithMax(float scale, const float* a, const int* idx,
                              int n, float* out) {
  uint32_t best = 0;
  for (int k = 0; k < n; ++k) {
    const float rate = scale * std::abs(a[kGather ? idx[k] : k]);
    out[k] = rate;
    uint32_t bits;
    std::memcpy(&bits, &rate, sizeof(bits));
    best = std::max(best, bits & 0x7fffffffu);
  }
  float max;
  std::memcpy(&max, &best, sizeof(max));
  return max;
}

// One uniform draw per trial, in index order: the oracle.
template <typename Visit>
void ReferenceOuterBernoulli(const float* d, int rows, const float* c, int cols,
                             Rng& rng, Visit visit) {
  for (int j = 0; j < cols; ++j) {
    for (int i = 0; i < rows; ++i) {
      const double p = std::min(1.0, double(c[j]) * double(d[i]));
      if (rng.Uniform() < p) visit(j, i);
    }
  }
}

// SampleOuterBernoulli with d_max = MaxNonNegative(d, rows) and c_max =
// MaxNonNegative(c, cols) given (a caller that writes d and c can take
// their maxima in the same pass).
template <typename Visit>
void SampleOuterBernoulliWithMax(const float* d, int rows, float d_max_f,
                                 const float* c, int cols, float c_max_f,
                                 Rng& rng, Visit visit) {
  if (rows <= 0 || cols <= 0) return;
  const double d_max = d_max_f;
  const double c_max = c_max_f;
  const double p_max = c_max * d_max;
  if (!(p_max > 0)) return;
  if (p_max >= kDenseSamplingThreshold) {
    ReferenceOuterBernoulli(d, rows, c, cols, rng, visit);
    return;
  }
  const int64_t last = int64_t{rows} * cols - 1;
  const SkipRate rate = RoundedSkipRate(p_max);
  // Row and column by a multiplication (a division costs several times
  // more): the quotient is off by at most one, which the remainder shows.
  const double per_row = 1.0 / rows;
  for (int64_t k = -1;;) {
    // Trials skipped before the next candidate.
    const double skip = StandardExponential(rng) * rate.per_lambda;
    if (skip >= double(last - k)) return;
    k += 1 + static_cast<int64_t>(skip);
    int64_t j = static_cast<int64_t>(double(k) * per_row);
    int64_t i = k - j * rows;
    if (i < 0) {
      --j;
      i += rows;
    } else if (i >= rows) {
      ++j;
      i -= rows;
    }
    if (rng.Uniform() * rate.p < double(c[j]) * double(d[i])) {
      visit(int(j), int(i));
    }
  }
}

template <typename Visit>
void SampleOuterBernoulli(const float* d, int rows, const float* c, int cols,
                          Rng& rng, Visit visit) {
  if (rows <= 0 || cols <= 0) return;
  SampleOuterBernoulliWithMax(d, rows, MaxNonNegative(d, rows), c, cols,
                              MaxNonNegative(c, cols), rng, visit);
}

}  // namespace dwae

#endif  // DWAE_CORE_PULSE_SAMPLER_H_
