// The AVX-512 paths of the learning kernels (learn_kernels_isa.h): 16 rows
// per vector, in the same order of operations as the other paths (the
// transposed product's 16 lanes are one accumulator). Function-level
// targets, as in learn_kernels_avx2.cc.
#include <cstdint>

#include "core/learn_kernels_isa.h"
#include "core/tail_masks_x86.h"
#include "core/x86_intrinsics.h"

#if DWAE_HAVE_X86
namespace dwae::learn_kernels::internal {

#define DWAE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))

namespace {

// Eigen 3.4's pexp_float (GenericPacketMathFunctions.h) as its AVX2+FMA
// packets run it, then 1 / (1 + e): the same operations in the same order,
// 16 lanes at a time. Eigen's pmin(a, b) is min_ps(b, a) and pmax(a, b) is
// max_ps(b, a); pldexp multiplies by powers of two that are exact but the
// last, so it rounds once, as scalef does.
DWAE_AVX512 inline __m512 EigenSigmoid16(__m512 z) {
  const __m512 nz = _mm512_sub_ps(_mm512_setzero_ps(), z);  // pnegate
  const __m512 x = _mm512_max_ps(_mm512_set1_ps(-88.723f),
                                 _mm512_min_ps(_mm512_set1_ps(88.723f), nz));
  const __m512 m = _mm512_roundscale_ps(
      _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f),
                      _mm512_set1_ps(0.5f)),
      _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fmadd_ps(m, _mm512_set1_ps(-0.693359375f), x);
  r = _mm512_fmadd_ps(m, _mm512_set1_ps(2.12194440e-4f), r);
  const __m512 r2 = _mm512_mul_ps(r, r);
  const __m512 r3 = _mm512_mul_ps(r2, r);
  __m512 y = _mm512_fmadd_ps(_mm512_set1_ps(1.9875691500E-4f), r,
                             _mm512_set1_ps(1.3981999507E-3f));
  __m512 y1 = _mm512_fmadd_ps(_mm512_set1_ps(4.1665795894E-2f), r,
                              _mm512_set1_ps(1.6666665459E-1f));
  const __m512 y2 = _mm512_add_ps(r, _mm512_set1_ps(1.0f));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073E-3f));
  y1 = _mm512_fmadd_ps(y1, r, _mm512_set1_ps(5.0000001201E-1f));
  y = _mm512_fmadd_ps(y, r3, y1);
  y = _mm512_fmadd_ps(y, r2, y2);
  const __m512 e = _mm512_max_ps(nz, _mm512_scalef_ps(y, m));
  const __m512 one = _mm512_set1_ps(1.0f);
  return _mm512_div_ps(one, _mm512_add_ps(one, e));
}

// As ColumnsBlock, 16 rows a vector; the last vector masked to `mask`.
template <int V>
DWAE_AVX512 void ColumnsBlock512(const float* w, int ld, int i, const int* idx,
                                 int n, const float* x, const float* bias,
                                 __mmask16 mask, float* z) {
  __m512 acc[V];
  _Pragma("GCC unroll 8") for (int v = 0; v < V; ++v) {
    const __mmask16 m = v == V - 1 ? mask : __mmask16(0xffff);
    acc[v] = bias != nullptr ? _mm512_setzero_ps()
                             : _mm512_maskz_loadu_ps(m, z + i + 16 * v);
  }
  for (int k = 0; k < n; ++k) {
    const int j = idx == nullptr ? k : idx[k];
    const __m512 xj = _mm512_set1_ps(x[j]);
    const float* col = w + size_t(j) * ld + i;
    _Pragma("GCC unroll 8") for (int v = 0; v < V; ++v) {
      const __mmask16 m = v == V - 1 ? mask : __mmask16(0xffff);
      acc[v] =
          _mm512_fmadd_ps(xj, _mm512_maskz_loadu_ps(m, col + 16 * v), acc[v]);
    }
  }
  _Pragma("GCC unroll 8") for (int v = 0; v < V; ++v) {
    const __mmask16 m = v == V - 1 ? mask : __mmask16(0xffff);
    if (bias != nullptr) {
      acc[v] =
          _mm512_add_ps(_mm512_maskz_loadu_ps(m, bias + i + 16 * v), acc[v]);
    }
    _mm512_mask_storeu_ps(z + i + 16 * v, m, acc[v]);
  }
}

}  // namespace

DWAE_AVX512 void ColumnsAvx512(const float* w, int rows, int ld, const int* idx,
                               int n, const float* x, const float* bias,
                               float* z) {
  int i = 0;
  for (; i + 128 <= rows; i += 128) {
    ColumnsBlock512<8>(w, ld, i, idx, n, x, bias, 0xffff, z);
  }
  const int rest = rows - i;
  if (rest == 0) return;
  const int vectors = (rest + 15) / 16;
  const __mmask16 mask = TailMask16(rest - 16 * (vectors - 1));
  switch (vectors) {
#define DWAE_CASE(V)                                        \
  case V:                                                   \
    ColumnsBlock512<V>(w, ld, i, idx, n, x, bias, mask, z); \
    break;
    DWAE_CASE(1)
    DWAE_CASE(2)
    DWAE_CASE(3)
    DWAE_CASE(4)
    DWAE_CASE(5)
    DWAE_CASE(6)
    DWAE_CASE(7)
    DWAE_CASE(8)
#undef DWAE_CASE
  }
}

namespace {

// Columns [j, j + C) of the transposed product, one 16-lane accumulator each.
template <int C>
DWAE_AVX512 void TransposedBlock512(const float* w, int rows, int ld, int j,
                                    const float* d, const float* y,
                                    float* out) {
  __m512 acc[C];
  _Pragma("GCC unroll 8") for (int c = 0; c < C; ++c) acc[c] =
      _mm512_setzero_ps();
  const float* col = w + size_t(j) * ld;
  int i = 0;
  // Whole vectors with plain loads (a masked load of a full mask costs more
  // where it crosses a cache line), then the rest zero-padded to 16 rows.
  for (; i + 16 <= rows; i += 16) {
    const __m512 dv = _mm512_loadu_ps(d + i);
    _Pragma("GCC unroll 8") for (int c = 0; c < C; ++c) {
      acc[c] = _mm512_fmadd_ps(_mm512_loadu_ps(col + size_t(c) * ld + i), dv,
                               acc[c]);
    }
  }
  if (i < rows) {
    const __mmask16 m = TailMask16(rows - i);
    const __m512 dv = _mm512_maskz_loadu_ps(m, d + i);
    _Pragma("GCC unroll 8") for (int c = 0; c < C; ++c) {
      acc[c] = _mm512_fmadd_ps(
          _mm512_maskz_loadu_ps(m, col + size_t(c) * ld + i), dv, acc[c]);
    }
  }
  __m256 q[C];  // q[l] = p[l] + p[l + 8]
  _Pragma("GCC unroll 8") for (int c = 0; c < C; ++c) {
    q[c] = _mm256_add_ps(
        _mm512_castps512_ps256(acc[c]),
        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[c]), 1)));
  }
  if constexpr (C == 8) {
    // ((q0+q1)+(q2+q3)) + ((q4+q5)+(q6+q7)) for eight columns at once.
    const __m256 lo =
        _mm256_hadd_ps(_mm256_hadd_ps(q[0], q[1]), _mm256_hadd_ps(q[2], q[3]));
    const __m256 hi =
        _mm256_hadd_ps(_mm256_hadd_ps(q[4], q[5]), _mm256_hadd_ps(q[6], q[7]));
    __m256 sum = _mm256_add_ps(_mm256_permute2f128_ps(lo, hi, 0x20),
                               _mm256_permute2f128_ps(lo, hi, 0x31));
    if (y != nullptr) {  // times y (1 - y), as Eigen's packets
      const __m256 yv = _mm256_loadu_ps(y + j);
      sum = _mm256_mul_ps(
          sum, _mm256_mul_ps(yv, _mm256_sub_ps(_mm256_set1_ps(1.0f), yv)));
    }
    _mm256_storeu_ps(out + j, sum);
  } else {
    _Pragma("GCC unroll 8") for (int c = 0; c < C; ++c) {
      const __m256 h = _mm256_hadd_ps(q[c], q[c]);
      const __m256 h2 = _mm256_hadd_ps(h, h);
      const float sum = _mm_cvtss_f32(
          _mm_add_ss(_mm256_castps256_ps128(h2), _mm256_extractf128_ps(h2, 1)));
      out[j + c] = y != nullptr ? sum * (y[j + c] * (1.0f - y[j + c])) : sum;
    }
  }
}

}  // namespace

DWAE_AVX512 void TransposedAvx512(const float* w, int rows, int ld, int cols,
                                  const float* d, const float* y, float* out) {
  int j = 0;
  for (; j + 8 <= cols; j += 8)
    TransposedBlock512<8>(w, rows, ld, j, d, y, out);
  for (; j < cols; ++j) TransposedBlock512<1>(w, rows, ld, j, d, y, out);
}

DWAE_AVX512 int NonZeroAvx512(const float* x, int n, int* out) {
  const __m512i step = _mm512_set1_epi32(16);
  __m512i index =
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  int count = 0;
  for (int j = 0; j < n; j += 16) {
    const __mmask16 m = n - j >= 16 ? __mmask16(0xffff) : TailMask16(n - j);
    // NEQ_UQ: a NaN counts as non-zero, as in the reference.
    const __mmask16 nonzero = _mm512_mask_cmp_ps_mask(
        m, _mm512_maskz_loadu_ps(m, x + j), _mm512_setzero_ps(), _CMP_NEQ_UQ);
    // Compressed in a register, then stored under a mask of the first
    // `selected` lanes: never past out[n - 1]. (vpcompressd with a memory
    // destination is microcoded on AMD Zen 4: it took a quarter of
    // BM_LearnOne/dw-stochastic there.)
    const int selected = __builtin_popcount(nonzero);
    _mm512_mask_storeu_epi32(out + count, __mmask16((1u << selected) - 1),
                             _mm512_maskz_compress_epi32(nonzero, index));
    count += selected;
    index = _mm512_add_epi32(index, step);
  }
  return count;
}

DWAE_AVX512 void SigmoidPacketsAvx512(float* z, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(z + i, EigenSigmoid16(_mm512_loadu_ps(z + i)));
  }
  if (i < n) {  // one packet of 8
    const __mmask16 m = 0xff;
    _mm512_mask_storeu_ps(z + i, m,
                          EigenSigmoid16(_mm512_maskz_loadu_ps(m, z + i)));
  }
}

#undef DWAE_AVX512

}  // namespace dwae::learn_kernels::internal
#endif  // DWAE_HAVE_X86
