// Internal to the shadow kernels (shadow_kernels.h): the slack arithmetic
// every path shares, and the per-instruction-set paths that
// shadow_kernels.cc dispatches to (only on x86; call the AVX2 one only when
// learn_kernels::BestIsa() >= kAvx2, the AVX-512 one only when it is
// kAvx512). Not for use outside core/shadow_kernels*.
//
// Thread-safety: pure functions.
#ifndef DWAE_CORE_SHADOW_KERNELS_ISA_H_
#define DWAE_CORE_SHADOW_KERNELS_ISA_H_

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "core/shadow_kernels.h"

namespace dwae::learn_kernels::internal {

// How far one step of `step` moves any shadow of a column with
// max|delta| = max_abs_delta, bounded in double: |step| * max|delta| and the
// fma's rounding (at most 2^-23 of limit + |step| max|delta|; 2^-20 taken),
// which also covers the rounding of the slack's own subtractions. 0 for a
// zero step (the clip of an already-clipped shadow changes nothing), but
// NaN when max|delta| is infinite (0 * inf), and then the column is tested
// (PlanShadowColumns skips only on left > 0). Built once per call.
class ShadowMoveBound {
 public:
  ShadowMoveBound(const ShadowParams& p, float max_abs_delta)
      : per_step_(double(max_abs_delta) * (1 + 0x1p-20)),
        rounding_(double(p.limit) * 0x1p-20 + 0x1p-100) {}
  double operator()(float step) const {
    return double(std::abs(step)) * per_step_ +
           (step == 0.0f ? 0.0 : rounding_);
  }

 private:
  double per_step_;
  double rounding_;
};

// The slack of a column just tested whose largest |gap| is max_gap: the
// exact |s - level| is at most max_gap (1 + 2^-24); 2^-22 taken.
inline double ShadowSlack(const ShadowParams& p, float max_gap) {
  return double(p.trigger) - double(max_gap) * (1 + 0x1p-22) -
         double(p.limit) * 0x1p-22 - 0x1p-100;
}

// The decisions of up to kShadowChunk columns of one call, made before any
// column is stepped so that no branch per column waits on them: the columns
// c whose test is skipped (their slack already updated, due[c] 0) and those
// to test.
inline constexpr int kShadowChunk = 64;
struct ShadowPlan {
  int skipped[kShadowChunk];
  int tested[kShadowChunk];
  int num_skipped;
  int num_tested;
};

// Plans columns [begin, end) (at most kShadowChunk) of a call.
inline void PlanShadowColumns(const ShadowMoveBound& bound, const int* cols,
                              const float* steps, int begin, int end,
                              double* slack, uint8_t* due, ShadowPlan* plan) {
  int skips = 0, tests = 0;
  for (int c = begin; c < end; ++c) {
    const int j = cols[c];
    const double left = slack[j] - bound(steps[c]);
    const bool skip = left > 0;  // NaN: tested
    slack[j] = skip ? left : slack[j];
    due[c] = 0;
    plan->skipped[skips] = c;
    plan->tested[tests] = c;
    skips += skip ? 1 : 0;
    tests += skip ? 0 : 1;
  }
  plan->num_skipped = skips;
  plan->num_tested = tests;
}

// After the test of a column with slack *slack: sets its due flag and slack
// from its largest |gap| and returns the flag.
inline int FinishShadowTest(const ShadowParams& p, float max_gap, double* slack,
                            uint8_t* due) {
  *due = max_gap > p.trigger ? 1 : 0;
  *slack = *due ? kShadowUnchecked : ShadowSlack(p, max_gap);
  return *due;
}

// A call's columns as the vector paths' column kernels see them: shadow
// columns ld floats apart, notch columns rows bytes apart.
struct ShadowColumnArgs {
  float* shadow_column(int c) const { return shadow + size_t(cols[c]) * ld; }
  const int8_t* notch_column(int c) const {
    return notch + size_t(cols[c]) * rows;
  }

  const int* cols;
  const float* steps;
  const float* delta;
  const int8_t* notch;
  int rows;
  float* shadow;
  int ld;
};

// The loop every path runs around its column kernels: per chunk of up to
// kShadowChunk columns of the call, PlanShadowColumns; then the skipped
// columns' step: kernel.MoveGroups(plan) moves the first m of plan.skipped
// (in groups, where the path has a grouped move) and returns m, and
// kernel.Move(c) each further one whose step is not 0; then each tested
// column: kernel.Test(c) steps it and returns its largest |gap| (NaN left
// out), and FinishShadowTest. c is a column of the call (cols[c], steps[c]).
// Always inlined, so that in a path's entry point (which carries the path's
// target attribute, as the kernel's member functions do) the kernel's calls
// can be inlined as well.
template <typename Kernel>
__attribute__((always_inline)) inline int RunShadowColumns(
    const ShadowParams& p, const int* cols, const float* steps, int n,
    float delta_bound, double* slack, uint8_t* due, Kernel& kernel) {
  const ShadowMoveBound bound(p, delta_bound);
  ShadowPlan plan;
  int dues = 0;
  for (int begin = 0; begin < n; begin += kShadowChunk) {
    const int end = begin + kShadowChunk < n ? begin + kShadowChunk : n;
    PlanShadowColumns(bound, cols, steps, begin, end, slack, due, &plan);
    for (int m = kernel.MoveGroups(plan); m < plan.num_skipped; ++m) {
      const int c = plan.skipped[m];
      if (steps[c] != 0.0f) kernel.Move(c);
    }
    for (int t = 0; t < plan.num_tested; ++t) {
      const int c = plan.tested[t];
      dues += FinishShadowTest(p, kernel.Test(c), &slack[cols[c]], &due[c]);
    }
  }
  return dues;
}

float ShadowDeltaBoundAvx2(const float* delta, int rows);
float ShadowDeltaBoundAvx512(const float* delta, int rows);
// ShadowStepColumns on shadow columns ld floats apart, each 64-byte aligned.
int ShadowStepColumnsAvx2(const ShadowParams& p, const int* cols,
                          const float* steps, int n, const float* delta,
                          float delta_bound, const int8_t* notch, int rows,
                          float* shadow, int ld, double* slack, uint8_t* due);
int ShadowStepColumnsAvx512(const ShadowParams& p, const int* cols,
                            const float* steps, int n, const float* delta,
                            float delta_bound, const int8_t* notch, int rows,
                            float* shadow, int ld, double* slack, uint8_t* due);

}  // namespace dwae::learn_kernels::internal

#endif  // DWAE_CORE_SHADOW_KERNELS_ISA_H_
