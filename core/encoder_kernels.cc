#include "core/encoder_kernels.h"

#include <cmath>

#if defined(__AVX__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace dwae {
namespace encoder_internal {
namespace {

#if defined(__AVX2__)
// base[index[b]] for the four lanes (the masked form: GCC 12's unmasked one
// starts from an undefined vector that -Wmaybe-uninitialized reports).
inline __m256d Gather4(const double* base, __m128i index) {
  return _mm256_mask_i32gather_pd(_mm256_setzero_pd(), base, index,
                                  _mm256_castsi256_pd(_mm256_set1_epi64x(-1)),
                                  8);
}
#endif

}  // namespace

const double* Log1pTable() {
  static const double* const kTable = [] {
    auto* table = new double[kLog1pTableSize];
    for (int i = 0; i < kLog1pTableSize; ++i) table[i] = std::log1p(double(i));
    return table;
  }();
  return kTable;
}

const Log1pIntervals& Log1pIntervalTable() {
  static const Log1pIntervals* const kTable = [] {
    auto* table = new Log1pIntervals;
    for (int i = 0; i < 16; ++i) {
      table->inv_c[i] = 1.0 / (1.0 + (i + 0.5) / 16);
      table->log_c[i] = -std::log(table->inv_c[i]);
    }
    return table;
  }();
  return *kTable;
}

// One column: (t - min) * inv clipped to [0, 1], NaN (an empty range times
// infinity, a NaN input) to 0. On x86 with SSE2's max/min, without branches,
// which the data would mispredict: maxsd(v, 0) returns its second operand 0
// for NaN and for v <= 0, as the portable form.
void ScaleAndClip(double t, double min, double inv, float* out) {
#if defined(__SSE2__)
  const __m128d v =
      _mm_mul_sd(_mm_sub_sd(_mm_set_sd(t), _mm_set_sd(min)), _mm_set_sd(inv));
  const __m128d clipped =
      _mm_min_sd(_mm_max_sd(v, _mm_setzero_pd()), _mm_set_sd(1.0));
  *out = _mm_cvtss_f32(_mm_cvtsd_ss(_mm_setzero_ps(), clipped));
#else
  const double v = (t - min) * inv;
  *out = !(v > 0.0) ? 0.0f : v > 1.0 ? 1.0f : static_cast<float>(v);
#endif
}

// out[j] = ScaleAndClip(t[j], min[j], inv[j]) for j < n, four or two at a
// time where AVX or SSE2 allow (the same max/min, so the same floats).
void ScaleAndClip(const double* t, const double* min, const double* inv, int n,
                  float* out) {
  int j = 0;
#if defined(__AVX__)
  const __m256d zero4 = _mm256_setzero_pd(), one4 = _mm256_set1_pd(1.0);
  for (; j + 4 <= n; j += 4) {
    const __m256d v = _mm256_mul_pd(
        _mm256_sub_pd(_mm256_loadu_pd(t + j), _mm256_loadu_pd(min + j)),
        _mm256_loadu_pd(inv + j));
    _mm_storeu_ps(
        out + j, _mm256_cvtpd_ps(_mm256_min_pd(_mm256_max_pd(v, zero4), one4)));
  }
#endif
#if defined(__SSE2__)
  const __m128d zero = _mm_setzero_pd(), one = _mm_set1_pd(1.0);
  for (; j + 2 <= n; j += 2) {
    const __m128d v =
        _mm_mul_pd(_mm_sub_pd(_mm_loadu_pd(t + j), _mm_loadu_pd(min + j)),
                   _mm_loadu_pd(inv + j));
    const __m128 f = _mm_cvtpd_ps(_mm_min_pd(_mm_max_pd(v, zero), one));
    _mm_storel_pi(reinterpret_cast<__m64*>(out + j), f);
  }
#endif
  for (; j < n; ++j) ScaleAndClip(t[j], min[j], inv[j], out + j);
}

// The kdd layout's log1p columns straight from the record: out[columns[i]]
// = ScaleAndClip(Log1p(numeric[sources[i]]), min[columns[i]],
// inv[columns[i]]) for i < n. With AVX2 four columns at a time (gathers, the
// table for the small integers, std::log1p for the lanes it does not cover,
// the same max/min and conversion as ScaleAndClip), so the floats are the
// scalar formula's.

void Log1pScaleAndClip(const double* numeric, const int* sources,
                       const int* columns, int n, const double* min,
                       const double* inv, float* out) {
  int i = 0;
#if defined(__AVX2__)
  static const double* const kTable = Log1pTable();
  const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0);
  const __m256d table_end = _mm256_set1_pd(double(kLog1pTableSize));
  for (; i + 4 <= n; i += 4) {
    const __m128i src =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(sources + i));
    const __m128i col =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(columns + i));
    const __m256d x = Gather4(numeric, src);
    // As Log1p: the table where x is an integer in [0, size) (NaN is not).
    const __m256d in_range =
        _mm256_and_pd(_mm256_cmp_pd(x, zero, _CMP_GE_OQ),
                      _mm256_cmp_pd(x, table_end, _CMP_LT_OQ));
    const __m128i k = _mm256_cvttpd_epi32(_mm256_and_pd(x, in_range));
    const __m256d exact = _mm256_and_pd(
        _mm256_cmp_pd(_mm256_cvtepi32_pd(k), x, _CMP_EQ_OQ), in_range);
    __m256d t = Gather4(kTable, k);
    const int rest = ~_mm256_movemask_pd(exact) & 0xF;
    if (rest != 0) {
      alignas(32) double xs[4], ts[4];
      _mm256_store_pd(xs, x);
      _mm256_store_pd(ts, t);
      for (int b = 0; b < 4; ++b) {
        if (rest & (1 << b)) ts[b] = std::log1p(xs[b]);
      }
      t = _mm256_load_pd(ts);
    }
    const __m256d v =
        _mm256_mul_pd(_mm256_sub_pd(t, Gather4(min, col)), Gather4(inv, col));
    alignas(16) float f[4];
    _mm_store_ps(f,
                 _mm256_cvtpd_ps(_mm256_min_pd(_mm256_max_pd(v, zero), one)));
    for (int b = 0; b < 4; ++b) out[columns[i + b]] = f[b];
  }
#endif
  for (; i < n; ++i) {
    const int j = columns[i];
    ScaleAndClip(Log1p(numeric[sources[i]]), min[j], inv[j], out + j);
  }
}

}  // namespace encoder_internal
}  // namespace dwae
