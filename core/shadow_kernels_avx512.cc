// The AVX-512 path of ShadowStepColumns (shadow_kernels_isa.h): 16 devices
// per vector, the last vector of a column masked; the same operations per
// device as the reference, and maxima (exact in any order) for the bounds.
#include <cstddef>
#include <cstdint>

#include "core/shadow_kernels_isa.h"
#include "core/tail_masks_x86.h"
#include "core/x86_intrinsics.h"

#if DWAE_HAVE_X86
namespace dwae::learn_kernels::internal {

#define DWAE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))

namespace {

struct Constants {
  __m512 lo, hi, center, alpha;
};

// max |x[i]| over [0, n), NaN left out: max_ps(a, b) is a > b ? a : b.
// Two chains, to halve the max latency a short vector waits for.
DWAE_AVX512 float MaxAbs(const float* x, int n) {
  __m512 m0 = _mm512_setzero_ps(), m1 = _mm512_setzero_ps();
  int i = 0;
  for (; i + 32 <= n; i += 32) {
    m0 = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + i)), m0);
    m1 = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + i + 16)), m1);
  }
  for (; i < n; i += 16) {
    const __mmask16 k = n - i >= 16 ? __mmask16(0xffff) : TailMask16(n - i);
    m0 = _mm512_max_ps(_mm512_abs_ps(_mm512_maskz_loadu_ps(k, x + i)), m0);
  }
  return _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
}

// Devices [i, i + 16) in `mask`: the step and the clip.
DWAE_AVX512 inline __m512 StepBlock(const Constants& k, __m512 neg_step,
                                    bool move, const float* delta, int i,
                                    __mmask16 mask, float* shadow) {
  __m512 s = _mm512_maskz_loadu_ps(mask, shadow + i);
  if (move) {
    s = _mm512_fmadd_ps(neg_step, _mm512_maskz_loadu_ps(mask, delta + i), s);
  }
  // max_ps(a, b) is a > b ? a : b, so a NaN s passes through both.
  s = _mm512_min_ps(k.hi, _mm512_max_ps(k.lo, s));
  _mm512_mask_storeu_ps(shadow + i, mask, s);
  return s;
}

// A column whose trigger cannot fire: the step only (step != 0), on the
// first `rows` floats of the column: its devices, and its padding when delta
// is zero-padded that far (a padding float then stays +0 for a finite step:
// fma(-step, 0, +0) is +0; an infinite or NaN step makes it NaN, which no
// result reads).
DWAE_AVX512 void MoveColumn(const Constants& k, __m512 neg_step,
                            const float* delta, int rows, float* shadow) {
  int i = 0;
  for (; i + 16 <= rows; i += 16) {
    StepBlock(k, neg_step, true, delta, i, 0xffff, shadow);
  }
  if (i < rows)
    StepBlock(k, neg_step, true, delta, i, TailMask16(rows - i), shadow);
}

// Four columns at once, MoveColumn on whole vectors (rows a multiple of
// 16): each delta vector is loaded once for the four.
DWAE_AVX512 void MoveFourColumns(const Constants& k, const __m512* neg_step,
                                 const float* delta, int rows,
                                 float* const* shadow) {
  for (int i = 0; i < rows; i += 16) {
    const __m512 d = _mm512_load_ps(delta + i);
    _Pragma("GCC unroll 4") for (int c = 0; c < 4; ++c) {
      __m512 s = _mm512_load_ps(shadow[c] + i);
      s = _mm512_fmadd_ps(neg_step[c], d, s);
      s = _mm512_min_ps(k.hi, _mm512_max_ps(k.lo, s));
      _mm512_store_ps(shadow[c] + i, s);
    }
  }
}

// A column tested: the step, then the largest |gap| (NaN left out).
DWAE_AVX512 float TestColumn(const Constants& k, __m512 neg_step, bool move,
                             const float* delta, const int8_t* notch, int rows,
                             float* shadow) {
  __m512 max_gap = _mm512_setzero_ps();
  for (int i = 0; i < rows; i += 16) {
    const __mmask16 mask =
        rows - i >= 16 ? __mmask16(0xffff) : TailMask16(rows - i);
    const __m512 s = StepBlock(k, neg_step, move, delta, i, mask, shadow);
    const __m512 level = _mm512_sub_ps(
        _mm512_cvtepi32_ps(
            _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, notch + i))),
        k.center);
    const __m512 gap = _mm512_abs_ps(_mm512_fnmadd_ps(level, k.alpha, s));
    max_gap = _mm512_mask_max_ps(max_gap, mask, gap, max_gap);
  }
  return _mm512_reduce_max_ps(max_gap);
}

// The AVX-512 column kernels of RunShadowColumns (shadow_kernels_isa.h).
// With delta zero-padded to ld (`padded`), moves run on whole aligned
// vectors, padding included, and four columns at a time.
struct Avx512Columns {
  // Moves every skipped column of `plan` when padded (returns their
  // number), else none.
  DWAE_AVX512 int MoveGroups(const ShadowPlan& plan) const {
    if (!padded) return 0;
    int group[4], size = 0;
    for (int m = 0; m < plan.num_skipped; ++m) {
      const int c = plan.skipped[m];
      group[size] = c;
      size += a.steps[c] != 0.0f ? 1 : 0;
      if (size < 4) continue;
      __m512 neg_step[4];
      float* columns[4];
      for (int g = 0; g < 4; ++g) {
        neg_step[g] = _mm512_set1_ps(-a.steps[group[g]]);
        columns[g] = a.shadow_column(group[g]);
      }
      MoveFourColumns(k, neg_step, a.delta, a.ld, columns);
      size = 0;
    }
    for (int g = 0; g < size; ++g) Move(group[g]);
    return plan.num_skipped;
  }
  DWAE_AVX512 void Move(int c) const {
    MoveColumn(k, _mm512_set1_ps(-a.steps[c]), a.delta, padded ? a.ld : a.rows,
               a.shadow_column(c));
  }
  DWAE_AVX512 float Test(int c) const {
    return TestColumn(k, _mm512_set1_ps(-a.steps[c]), a.steps[c] != 0.0f,
                      a.delta, a.notch_column(c), a.rows, a.shadow_column(c));
  }

  Constants k;
  ShadowColumnArgs a;
  bool padded;
};

}  // namespace

DWAE_AVX512 float ShadowDeltaBoundAvx512(const float* delta, int rows) {
  return MaxAbs(delta, rows);
}

DWAE_AVX512 int ShadowStepColumnsAvx512(const ShadowParams& p, const int* cols,
                                        const float* steps, int n,
                                        const float* delta, float delta_bound,
                                        const int8_t* notch, int rows,
                                        float* shadow, int ld, double* slack,
                                        uint8_t* due) {
  const Constants k = {_mm512_set1_ps(-p.limit), _mm512_set1_ps(p.limit),
                       _mm512_set1_ps(p.center), _mm512_set1_ps(p.alpha)};
  // delta zero-padded to ld on a 64-byte line: the steps then run on whole
  // aligned vectors, padding included.
  constexpr int kMaxPadded = 256;
  // Past kMaxPadded, delta stays the caller's (of any alignment, and only
  // `rows` long), so the aligned four-column move must not run even when
  // rows == ld.
  alignas(64) float delta_copy[kMaxPadded];
  // (ld a multiple of 16: the aligned moves; ShadowStepColumns asserts the
  // default ld only in debug builds.)
  const bool padded = ld <= kMaxPadded && ld % 16 == 0;
  if (padded) {
    for (int i = 0; i < ld; ++i) delta_copy[i] = i < rows ? delta[i] : 0.0f;
    delta = delta_copy;
  }
  const Avx512Columns kernel = {
      k, {cols, steps, delta, notch, rows, shadow, ld}, padded};
  return RunShadowColumns(p, cols, steps, n, delta_bound, slack, due, kernel);
}

#undef DWAE_AVX512

}  // namespace dwae::learn_kernels::internal
#endif  // DWAE_HAVE_X86
