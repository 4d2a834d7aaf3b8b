// The AVX2+FMA path of ShadowStepColumns (shadow_kernels_isa.h): 8 devices
// per vector, the last vector of a column masked; the same operations per
// device as the reference, and maxima (exact in any order) for the bounds.
// Compiled with a function-level target, whatever -march is.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/shadow_kernels_isa.h"
#include "core/tail_masks_x86.h"
#include "core/x86_intrinsics.h"

#if DWAE_HAVE_X86
namespace dwae::learn_kernels::internal {

#define DWAE_AVX2 __attribute__((target("avx2,fma")))

namespace {

struct Constants {
  __m256 lo, hi, center, alpha, abs_mask;
};

// The largest of 8 lanes (no NaN among them).
DWAE_AVX2 inline float HorizontalMax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// max |x[i]| over [0, n), NaN left out: max_ps(a, b) is a > b ? a : b, and
// maskload reads 0 past n.
DWAE_AVX2 float MaxAbs(const float* x, int n) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 m = _mm256_setzero_ps();
  for (int i = 0; i < n; i += 8) {
    const __m256 v = n - i >= 8 ? _mm256_loadu_ps(x + i)
                                : _mm256_maskload_ps(x + i, TailMask(n - i));
    m = _mm256_max_ps(_mm256_and_ps(v, abs_mask), m);
  }
  return HorizontalMax(m);
}

// Devices [i, i + 8) (those in `mask` when kTail): the step and the clip.
template <bool kTail>
DWAE_AVX2 inline __m256 StepBlock(const Constants& k, __m256 neg_step,
                                  bool move, const float* delta, int i,
                                  __m256i mask, float* shadow) {
  __m256 s = kTail ? _mm256_maskload_ps(shadow + i, mask)
                   : _mm256_loadu_ps(shadow + i);
  if (move) {
    const __m256 dv = kTail ? _mm256_maskload_ps(delta + i, mask)
                            : _mm256_loadu_ps(delta + i);
    s = _mm256_fmadd_ps(neg_step, dv, s);
  }
  // max_ps(a, b) is a > b ? a : b, so a NaN s passes through both.
  s = _mm256_min_ps(k.hi, _mm256_max_ps(k.lo, s));
  if (kTail) {
    _mm256_maskstore_ps(shadow + i, mask, s);
  } else {
    _mm256_storeu_ps(shadow + i, s);
  }
  return s;
}

DWAE_AVX2 inline Constants MakeConstants(const ShadowParams& p) {
  return {_mm256_set1_ps(-p.limit), _mm256_set1_ps(p.limit),
          _mm256_set1_ps(p.center), _mm256_set1_ps(p.alpha),
          _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))};
}

// A column whose trigger cannot fire: the step only (step != 0).
DWAE_AVX2 void MoveColumn(const Constants& k, __m256 neg_step,
                          const float* delta, int rows, float* shadow) {
  int i = 0;
  for (; i + 8 <= rows; i += 8) {
    StepBlock<false>(k, neg_step, true, delta, i, __m256i(), shadow);
  }
  if (i < rows) {
    StepBlock<true>(k, neg_step, true, delta, i, TailMask(rows - i), shadow);
  }
}

// The |gap| of devices [i, i + 8) at shadows s (lanes past the column's end
// are cut off by the caller).
DWAE_AVX2 inline __m256 AbsGap(const Constants& k, const int8_t* notch, int i,
                               int rows, __m256 s) {
  uint64_t bytes = 0;
  if (i + 8 <= rows) {
    std::memcpy(&bytes, notch + i, 8);
  } else if (rows >= 8) {
    // The 8 bytes that end with the column's last one, shifted down to
    // notch[i]: one load that stays inside the column.
    std::memcpy(&bytes, notch + rows - 8, 8);
    bytes >>= 8 * (8 - (rows - i));
  } else {
    for (int r = rows - 1; r >= i; --r) bytes = bytes << 8 | uint8_t(notch[r]);
  }
  const __m256 level = _mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(
                                         _mm_cvtsi64_si128(int64_t(bytes)))),
                                     k.center);
  return _mm256_and_ps(_mm256_fnmadd_ps(level, k.alpha, s), k.abs_mask);
}

// A column tested: the step, then the largest |gap| (NaN left out).
DWAE_AVX2 float TestColumn(const Constants& k, __m256 neg_step, bool move,
                           const float* delta, const int8_t* notch, int rows,
                           float* shadow) {
  __m256 max_gap = _mm256_setzero_ps();
  int i = 0;
  for (; i + 8 <= rows; i += 8) {
    const __m256 s =
        StepBlock<false>(k, neg_step, move, delta, i, __m256i(), shadow);
    max_gap = _mm256_max_ps(AbsGap(k, notch, i, rows, s), max_gap);
  }
  if (i < rows) {
    const __m256i mask = TailMask(rows - i);
    const __m256 s = StepBlock<true>(k, neg_step, move, delta, i, mask, shadow);
    // Lanes past the end count as 0, which changes no maximum.
    const __m256 gap =
        _mm256_and_ps(AbsGap(k, notch, i, rows, s), _mm256_castsi256_ps(mask));
    max_gap = _mm256_max_ps(gap, max_gap);
  }
  return HorizontalMax(max_gap);
}

// The AVX2 column kernels of RunShadowColumns (shadow_kernels_isa.h).
struct Avx2Columns {
  int MoveGroups(const ShadowPlan&) const { return 0; }
  DWAE_AVX2 void Move(int c) const {
    MoveColumn(k, _mm256_set1_ps(-a.steps[c]), a.delta, a.rows,
               a.shadow_column(c));
  }
  DWAE_AVX2 float Test(int c) const {
    return TestColumn(k, _mm256_set1_ps(-a.steps[c]), a.steps[c] != 0.0f,
                      a.delta, a.notch_column(c), a.rows, a.shadow_column(c));
  }

  Constants k;
  ShadowColumnArgs a;
};

}  // namespace

DWAE_AVX2 float ShadowDeltaBoundAvx2(const float* delta, int rows) {
  return MaxAbs(delta, rows);
}

DWAE_AVX2 int ShadowStepColumnsAvx2(const ShadowParams& p, const int* cols,
                                    const float* steps, int n,
                                    const float* delta, float delta_bound,
                                    const int8_t* notch, int rows,
                                    float* shadow, int ld, double* slack,
                                    uint8_t* due) {
  const Avx2Columns kernel = {MakeConstants(p),
                              {cols, steps, delta, notch, rows, shadow, ld}};
  return RunShadowColumns(p, cols, steps, n, delta_bound, slack, due, kernel);
}

#undef DWAE_AVX2

}  // namespace dwae::learn_kernels::internal
#endif  // DWAE_HAVE_X86
