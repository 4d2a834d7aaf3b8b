// The AVX2+FMA paths of the learning kernels (learn_kernels_isa.h), compiled
// with a function-level target so that the file builds whatever -march is.
#include <cstdint>

#include "core/learn_kernels_isa.h"
#include "core/tail_masks_x86.h"
#include "core/x86_intrinsics.h"

#if DWAE_HAVE_X86
namespace dwae::learn_kernels::internal {

#define DWAE_AVX2 __attribute__((target("avx2,fma")))

namespace {

// Rows [i, i + 8V) (the last vector masked to `mask` when kMasked) of
// z = init + fma chain over the columns idx[0..n) (all `n` columns when idx
// is null). init is z itself, or 0 with the bias added at the end.
template <int V, bool kMasked>
DWAE_AVX2 void ColumnsBlock(const float* w, int ld, int i, const int* idx,
                            int n, const float* x, const float* bias,
                            __m256i mask, float* z) {
  __m256 acc[V];
  _Pragma("GCC unroll 8") for (int v = 0; v < V; ++v) {
    if (bias != nullptr) {
      acc[v] = _mm256_setzero_ps();
    } else if (kMasked && v == V - 1) {
      acc[v] = _mm256_maskload_ps(z + i + 8 * v, mask);
    } else {
      acc[v] = _mm256_loadu_ps(z + i + 8 * v);
    }
  }
  for (int k = 0; k < n; ++k) {
    const int j = idx == nullptr ? k : idx[k];
    const __m256 xj = _mm256_set1_ps(x[j]);
    const float* col = w + size_t(j) * ld + i;
    _Pragma("GCC unroll 8") for (int v = 0; v < V; ++v) {
      const __m256 wv = kMasked && v == V - 1
                            ? _mm256_maskload_ps(col + 8 * v, mask)
                            : _mm256_loadu_ps(col + 8 * v);
      acc[v] = _mm256_fmadd_ps(xj, wv, acc[v]);
    }
  }
  _Pragma("GCC unroll 8") for (int v = 0; v < V; ++v) {
    const bool masked = kMasked && v == V - 1;
    if (bias != nullptr) {
      const __m256 b = masked ? _mm256_maskload_ps(bias + i + 8 * v, mask)
                              : _mm256_loadu_ps(bias + i + 8 * v);
      acc[v] = _mm256_add_ps(b, acc[v]);
    }
    if (masked) {
      _mm256_maskstore_ps(z + i + 8 * v, mask, acc[v]);
    } else {
      _mm256_storeu_ps(z + i + 8 * v, acc[v]);
    }
  }
}

}  // namespace

// Blocks of 64 rows, then the rest as one block of up to 8 vectors, the last
// masked: each vector is an fma chain as long as the column list, so the
// vectors of a block must run side by side to hide the fma latency.
DWAE_AVX2 void ColumnsAvx2(const float* w, int rows, int ld, const int* idx,
                           int n, const float* x, const float* bias, float* z) {
  int i = 0;
  for (; i + 64 <= rows; i += 64) {
    ColumnsBlock<8, false>(w, ld, i, idx, n, x, bias, __m256i(), z);
  }
  const int rest = rows - i;
  if (rest == 0) return;
  const int vectors = (rest + 7) / 8;
  const __m256i mask = TailMask(rest - 8 * (vectors - 1));
  switch (vectors) {
#define DWAE_CASE(V)                                           \
  case V:                                                      \
    ColumnsBlock<V, true>(w, ld, i, idx, n, x, bias, mask, z); \
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

DWAE_AVX2 int NonZeroAvx2(const float* x, int n, int* out) {
  int count = 0;
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    // NEQ_UQ: a NaN counts as non-zero, as in the reference.
    unsigned bits = unsigned(_mm256_movemask_ps(_mm256_cmp_ps(
        _mm256_loadu_ps(x + j), _mm256_setzero_ps(), _CMP_NEQ_UQ)));
    for (; bits != 0; bits &= bits - 1) out[count++] = j + __builtin_ctz(bits);
  }
  for (; j < n; ++j) {
    out[count] = j;
    count += x[j] != 0.0f ? 1 : 0;
  }
  return count;
}

namespace {

// ((v0+v1)+(v2+v3)) + ((v4+v5)+(v6+v7)).
DWAE_AVX2 inline float ReduceLanes(__m256 v) {
  const __m256 h = _mm256_hadd_ps(v, v);
  const __m256 h2 = _mm256_hadd_ps(h, h);
  return _mm_cvtss_f32(
      _mm_add_ss(_mm256_castps256_ps128(h2), _mm256_extractf128_ps(h2, 1)));
}

// Columns [j, j + C) of the transposed product: lanes 0-7 of the 16-lane
// order in lo, lanes 8-15 in hi.
template <int C>
DWAE_AVX2 void TransposedBlock(const float* w, int rows, int ld, int j,
                               const float* d, const float* y, float* out) {
  __m256 lo[C], hi[C];
  _Pragma("GCC unroll 8") for (int c = 0; c < C; ++c) lo[c] = hi[c] =
      _mm256_setzero_ps();
  const float* col = w + size_t(j) * ld;
  int i = 0;
  for (; i + 16 <= rows; i += 16) {
    const __m256 dlo = _mm256_loadu_ps(d + i);
    const __m256 dhi = _mm256_loadu_ps(d + i + 8);
    _Pragma("GCC unroll 8") for (int c = 0; c < C; ++c) {
      const float* wc = col + size_t(c) * ld + i;
      lo[c] = _mm256_fmadd_ps(_mm256_loadu_ps(wc), dlo, lo[c]);
      hi[c] = _mm256_fmadd_ps(_mm256_loadu_ps(wc + 8), dhi, hi[c]);
    }
  }
  if (i < rows) {  // zero-padded to 16 rows, as in the reference
    const int rest = rows - i;
    const __m256i mlo = TailMask(rest < 8 ? rest : 8);
    const __m256i mhi = TailMask(rest > 8 ? rest - 8 : 0);
    const __m256 dlo = _mm256_maskload_ps(d + i, mlo);
    const __m256 dhi = _mm256_maskload_ps(d + i + 8, mhi);
    _Pragma("GCC unroll 8") for (int c = 0; c < C; ++c) {
      const float* wc = col + size_t(c) * ld + i;
      lo[c] = _mm256_fmadd_ps(_mm256_maskload_ps(wc, mlo), dlo, lo[c]);
      hi[c] = _mm256_fmadd_ps(_mm256_maskload_ps(wc + 8, mhi), dhi, hi[c]);
    }
  }
  __m256 q[C];  // q[l] = p[l] + p[l + 8]
  _Pragma("GCC unroll 8") for (int c = 0; c < C; ++c) q[c] =
      _mm256_add_ps(lo[c], hi[c]);
  if constexpr (C == 4) {
    // The pairwise sums of four columns at once, in ReduceLanes' order.
    const __m256 h =
        _mm256_hadd_ps(_mm256_hadd_ps(q[0], q[1]), _mm256_hadd_ps(q[2], q[3]));
    __m128 sum =
        _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    if (y != nullptr) {  // times y (1 - y), elementwise
      const __m128 yv = _mm_loadu_ps(y + j);
      sum = _mm_mul_ps(sum, _mm_mul_ps(yv, _mm_sub_ps(_mm_set1_ps(1.0f), yv)));
    }
    _mm_storeu_ps(out + j, sum);
  } else {
    _Pragma("GCC unroll 8") for (int c = 0; c < C; ++c) {
      const float sum = ReduceLanes(q[c]);
      out[j + c] = y != nullptr ? sum * (y[j + c] * (1.0f - y[j + c])) : sum;
    }
  }
}

}  // namespace

DWAE_AVX2 void TransposedAvx2(const float* w, int rows, int ld, int cols,
                              const float* d, const float* y, float* out) {
  int j = 0;
  for (; j + 4 <= cols; j += 4) TransposedBlock<4>(w, rows, ld, j, d, y, out);
  for (; j < cols; ++j) TransposedBlock<1>(w, rows, ld, j, d, y, out);
}

#undef DWAE_AVX2

}  // namespace dwae::learn_kernels::internal
#endif  // DWAE_HAVE_X86
