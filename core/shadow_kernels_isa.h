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
#include <cstdint>

#include "core/shadow_kernels.h"

namespace dwae::learn_kernels::internal {

// How far one step of `step` moves any shadow of a column with
// max|delta| = max_abs_delta, bounded in double: |step| * max|delta| and the
// fma's rounding (at most 2^-23 of limit + |step| max|delta|; 2^-20 taken),
// which also covers the rounding of the slack's own subtractions. 0 for no
// step (the clip of an already-clipped shadow changes nothing). Built once
// per call.
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

// ShadowStepColumns on shadow columns ld floats apart, each 64-byte aligned.
int ShadowStepColumnsAvx2(const ShadowParams& p, const int* cols,
                          const float* steps, int n, const float* delta,
                          const int8_t* notch, int rows, float* shadow, int ld,
                          double* slack, uint8_t* due);
int ShadowStepColumnsAvx512(const ShadowParams& p, const int* cols,
                            const float* steps, int n, const float* delta,
                            const int8_t* notch, int rows, float* shadow,
                            int ld, double* slack, uint8_t* due);

}  // namespace dwae::learn_kernels::internal

#endif  // DWAE_CORE_SHADOW_KERNELS_ISA_H_
