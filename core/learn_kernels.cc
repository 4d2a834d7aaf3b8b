#include "core/learn_kernels.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "core/x86_intrinsics.h"

namespace dwae::learn_kernels {

// ------------------------------------------------------------ references ---

int ReferenceNonZeroIndices(const float* x, int n, int* out) {
  int count = 0;
  for (int j = 0; j < n; ++j) {  // no branch: most inputs are zero
    out[count] = j;
    count += x[j] != 0.0f ? 1 : 0;
  }
  return count;
}

void ReferenceAccumulateColumns(const float* w, int rows, const int* idx, int n,
                                const float* x, float* z) {
  for (int k = 0; k < n; ++k) {
    const float* col = w + size_t(idx[k]) * rows;
    const float xj = x[idx[k]];
    for (int i = 0; i < rows; ++i) z[i] = std::fma(xj, col[i], z[i]);
  }
}

void ReferenceDenseForward(const float* w, int rows, int cols, const float* x,
                           const float* bias, float* z) {
  for (int i = 0; i < rows; ++i) {
    float acc = 0.0f;
    for (int j = 0; j < cols; ++j) {
      acc = std::fma(w[size_t(j) * rows + i], x[j], acc);
    }
    z[i] = bias[i] + acc;
  }
}

void ReferenceTransposedProduct(const float* w, int rows, int cols,
                                const float* d, float* out) {
  const int padded = (rows + 7) / 8 * 8;
  for (int j = 0; j < cols; ++j) {
    const float* col = w + size_t(j) * rows;
    float p[8] = {};
    for (int i = 0; i < padded; ++i) {
      const float wi = i < rows ? col[i] : 0.0f;
      const float di = i < rows ? d[i] : 0.0f;
      p[i % 8] = std::fma(wi, di, p[i % 8]);
    }
    out[j] = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
  }
}

float ShadowGap(const ShadowParams& p, float shadow, int notch) {
  return std::fma(-(float(notch) - p.center), p.alpha, shadow);
}

int ReferenceShadowStep(const ShadowParams& p, const float* delta,
                        const int8_t* notch, int rows, float* shadow) {
  int hits = 0;
  for (int i = 0; i < rows; ++i) {
    float s = shadow[i];
    if (p.step != 0.0f) s = std::fma(-p.step, delta[i], s);
    s = std::min(std::max(s, -p.limit), p.limit);
    shadow[i] = s;
    hits += std::abs(ShadowGap(p, s, notch[i])) > p.trigger ? 1 : 0;
  }
  return hits;
}

// -------------------------------------------------------------- AVX2+FMA ---

#if DWAE_HAVE_X86
namespace {

#define DWAE_AVX2 __attribute__((target("avx2,fma")))

// Lanes [0, n) of 8 set, n in [0, 8].
DWAE_AVX2 inline __m256i TailMask(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Rows [i, i + 8V) (the last vector masked to `mask` when kMasked) of
// z = init + fma chain over the columns idx[0..n) (all `n` columns when idx
// is null). init is z itself, or 0 with the bias added at the end.
template <int V, bool kMasked>
DWAE_AVX2 void ColumnsBlock(const float* w, int rows, int i, const int* idx,
                            int n, const float* x, const float* bias,
                            __m256i mask, float* z) {
  __m256 acc[V];
  for (int v = 0; v < V; ++v) {
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
    const float* col = w + size_t(j) * rows + i;
    for (int v = 0; v < V; ++v) {
      const __m256 wv = kMasked && v == V - 1
                            ? _mm256_maskload_ps(col + 8 * v, mask)
                            : _mm256_loadu_ps(col + 8 * v);
      acc[v] = _mm256_fmadd_ps(xj, wv, acc[v]);
    }
  }
  for (int v = 0; v < V; ++v) {
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

// Blocks of 64 rows, then the rest as one block of up to 8 vectors, the last
// masked: each vector is an fma chain as long as the column list, so the
// vectors of a block must run side by side to hide the fma latency.
DWAE_AVX2 void ColumnsAvx2(const float* w, int rows, const int* idx, int n,
                           const float* x, const float* bias, float* z) {
  int i = 0;
  for (; i + 64 <= rows; i += 64) {
    ColumnsBlock<8, false>(w, rows, i, idx, n, x, bias, __m256i(), z);
  }
  const int rest = rows - i;
  if (rest == 0) return;
  const int vectors = (rest + 7) / 8;
  const __m256i mask = TailMask(rest - 8 * (vectors - 1));
  switch (vectors) {
#define DWAE_CASE(V)                                             \
  case V:                                                        \
    ColumnsBlock<V, true>(w, rows, i, idx, n, x, bias, mask, z); \
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

// ((v0+v1)+(v2+v3)) + ((v4+v5)+(v6+v7)).
DWAE_AVX2 inline float ReduceLanes(__m256 v) {
  const __m256 h = _mm256_hadd_ps(v, v);
  const __m256 h2 = _mm256_hadd_ps(h, h);
  return _mm_cvtss_f32(
      _mm_add_ss(_mm256_castps256_ps128(h2), _mm256_extractf128_ps(h2, 1)));
}

// Columns [j, j + C) of the transposed product.
template <int C>
DWAE_AVX2 void TransposedBlock(const float* w, int rows, int j, const float* d,
                               float* out) {
  __m256 acc[C];
  for (int c = 0; c < C; ++c) acc[c] = _mm256_setzero_ps();
  const float* col = w + size_t(j) * rows;
  int i = 0;
  for (; i + 8 <= rows; i += 8) {
    const __m256 dv = _mm256_loadu_ps(d + i);
    for (int c = 0; c < C; ++c) {
      acc[c] = _mm256_fmadd_ps(_mm256_loadu_ps(col + size_t(c) * rows + i), dv,
                               acc[c]);
    }
  }
  if (i < rows) {
    const __m256i mask = TailMask(rows - i);
    const __m256 dv = _mm256_maskload_ps(d + i, mask);
    for (int c = 0; c < C; ++c) {
      acc[c] = _mm256_fmadd_ps(
          _mm256_maskload_ps(col + size_t(c) * rows + i, mask), dv, acc[c]);
    }
  }
  if constexpr (C == 8) {
    // Pairwise sums of all eight columns at once, in ReduceLanes' order.
    const __m256 h01 = _mm256_hadd_ps(acc[0], acc[1]);
    const __m256 h23 = _mm256_hadd_ps(acc[2], acc[3]);
    const __m256 h45 = _mm256_hadd_ps(acc[4], acc[5]);
    const __m256 h67 = _mm256_hadd_ps(acc[6], acc[7]);
    const __m256 lo = _mm256_hadd_ps(h01, h23);  // columns 0-3: halves
    const __m256 hi = _mm256_hadd_ps(h45, h67);  // columns 4-7: halves
    _mm256_storeu_ps(out + j,
                     _mm256_add_ps(_mm256_permute2f128_ps(lo, hi, 0x20),
                                   _mm256_permute2f128_ps(lo, hi, 0x31)));
  } else {
    for (int c = 0; c < C; ++c) out[j + c] = ReduceLanes(acc[c]);
  }
}

DWAE_AVX2 void TransposedAvx2(const float* w, int rows, int cols,
                              const float* d, float* out) {
  int j = 0;
  for (; j + 8 <= cols; j += 8) TransposedBlock<8>(w, rows, j, d, out);
  for (; j < cols; ++j) TransposedBlock<1>(w, rows, j, d, out);
}

struct ShadowConstants {
  __m256 neg_step, lo, hi, trigger, center, alpha, abs_mask;
};

// Devices [i, i + 8) of ShadowStep (those below `mask` when kTail); returns
// the lanes with a pulse due (all ones) or not (zero).
template <bool kTail>
DWAE_AVX2 __m256i ShadowBlock(const ShadowConstants& k, bool move,
                              const float* delta, const int8_t* notch, int i,
                              int rows, __m256i mask, float* shadow) {
  __m256 s = kTail ? _mm256_maskload_ps(shadow + i, mask)
                   : _mm256_loadu_ps(shadow + i);
  if (move) {
    const __m256 dv = kTail ? _mm256_maskload_ps(delta + i, mask)
                            : _mm256_loadu_ps(delta + i);
    s = _mm256_fmadd_ps(k.neg_step, dv, s);
  }
  // max_ps(a, b) is a > b ? a : b, so a NaN s passes through both.
  s = _mm256_min_ps(k.hi, _mm256_max_ps(k.lo, s));
  uint64_t bytes = 0;
  if (!kTail) {
    std::memcpy(&bytes, notch + i, 8);
  } else if (rows >= 8) {
    // The 8 bytes that end with the column's last one, shifted down to
    // notch[i]: one load that stays inside the column.
    std::memcpy(&bytes, notch + rows - 8, 8);
    bytes >>= 8 * (8 - (rows - i));
  } else {
    for (int k = rows - 1; k >= i; --k) bytes = bytes << 8 | uint8_t(notch[k]);
  }
  const __m256 level = _mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(
                                         _mm_cvtsi64_si128(int64_t(bytes)))),
                                     k.center);
  const __m256 gap = _mm256_fnmadd_ps(level, k.alpha, s);
  const __m256i due = _mm256_castps_si256(
      _mm256_cmp_ps(_mm256_and_ps(gap, k.abs_mask), k.trigger, _CMP_GT_OQ));
  if (kTail) {
    _mm256_maskstore_ps(shadow + i, mask, s);
    return _mm256_and_si256(due, mask);
  }
  _mm256_storeu_ps(shadow + i, s);
  return due;
}

DWAE_AVX2 int ShadowStepAvx2(const ShadowParams& p, const float* delta,
                             const int8_t* notch, int rows, float* shadow) {
  const ShadowConstants k = {
      _mm256_set1_ps(-p.step),
      _mm256_set1_ps(-p.limit),
      _mm256_set1_ps(p.limit),
      _mm256_set1_ps(p.trigger),
      _mm256_set1_ps(p.center),
      _mm256_set1_ps(p.alpha),
      _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))};
  const bool move = p.step != 0.0f;
  const __m256i all = _mm256_set1_epi32(-1);
  __m256i hits = _mm256_setzero_si256();
  int i = 0;
  for (; i + 8 <= rows; i += 8) {
    hits = _mm256_sub_epi32(
        hits, ShadowBlock<false>(k, move, delta, notch, i, rows, all, shadow));
  }
  if (i < rows) {
    hits =
        _mm256_sub_epi32(hits, ShadowBlock<true>(k, move, delta, notch, i, rows,
                                                 TailMask(rows - i), shadow));
  }
  __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(hits),
                              _mm256_extracti128_si256(hits, 1));
  sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, 0x4e));
  sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, 0xb1));
  return _mm_cvtsi128_si32(sum);
}

#undef DWAE_AVX2

// ------------------------------------------------------------- AVX-512 ---
// Elementwise kernels only (the forward chains and the shadow step), where
// the vector width does not change the order of any operation.

#define DWAE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))

// Lanes [0, n) of 16 set, n in [1, 16].
DWAE_AVX512 inline __mmask16 TailMask16(int n) {
  return __mmask16((1u << n) - 1);
}

// As ColumnsBlock, 16 rows a vector; the last vector masked to `mask`.
template <int V>
DWAE_AVX512 void ColumnsBlock512(const float* w, int rows, int i,
                                 const int* idx, int n, const float* x,
                                 const float* bias, __mmask16 mask, float* z) {
  __m512 acc[V];
  for (int v = 0; v < V; ++v) {
    const __mmask16 m = v == V - 1 ? mask : __mmask16(0xffff);
    acc[v] = bias != nullptr ? _mm512_setzero_ps()
                             : _mm512_maskz_loadu_ps(m, z + i + 16 * v);
  }
  for (int k = 0; k < n; ++k) {
    const int j = idx == nullptr ? k : idx[k];
    const __m512 xj = _mm512_set1_ps(x[j]);
    const float* col = w + size_t(j) * rows + i;
    for (int v = 0; v < V; ++v) {
      const __mmask16 m = v == V - 1 ? mask : __mmask16(0xffff);
      acc[v] =
          _mm512_fmadd_ps(xj, _mm512_maskz_loadu_ps(m, col + 16 * v), acc[v]);
    }
  }
  for (int v = 0; v < V; ++v) {
    const __mmask16 m = v == V - 1 ? mask : __mmask16(0xffff);
    if (bias != nullptr) {
      acc[v] =
          _mm512_add_ps(_mm512_maskz_loadu_ps(m, bias + i + 16 * v), acc[v]);
    }
    _mm512_mask_storeu_ps(z + i + 16 * v, m, acc[v]);
  }
}

DWAE_AVX512 void ColumnsAvx512(const float* w, int rows, const int* idx, int n,
                               const float* x, const float* bias, float* z) {
  int i = 0;
  for (; i + 128 <= rows; i += 128) {
    ColumnsBlock512<8>(w, rows, i, idx, n, x, bias, 0xffff, z);
  }
  const int rest = rows - i;
  if (rest == 0) return;
  const int vectors = (rest + 15) / 16;
  const __mmask16 mask = TailMask16(rest - 16 * (vectors - 1));
  switch (vectors) {
#define DWAE_CASE(V)                                          \
  case V:                                                     \
    ColumnsBlock512<V>(w, rows, i, idx, n, x, bias, mask, z); \
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

DWAE_AVX512 int ShadowStepAvx512(const ShadowParams& p, const float* delta,
                                 const int8_t* notch, int rows, float* shadow) {
  const __m512 neg_step = _mm512_set1_ps(-p.step);
  const __m512 lo = _mm512_set1_ps(-p.limit);
  const __m512 hi = _mm512_set1_ps(p.limit);
  const __m512 trigger = _mm512_set1_ps(p.trigger);
  const __m512 center = _mm512_set1_ps(p.center);
  const __m512 alpha = _mm512_set1_ps(p.alpha);
  const bool move = p.step != 0.0f;
  int hits = 0;
  for (int i = 0; i < rows; i += 16) {
    const __mmask16 m = rows - i >= 16 ? 0xffff : TailMask16(rows - i);
    __m512 s = _mm512_maskz_loadu_ps(m, shadow + i);
    if (move) {
      s = _mm512_fmadd_ps(neg_step, _mm512_maskz_loadu_ps(m, delta + i), s);
    }
    // max_ps(a, b) is a > b ? a : b, so a NaN s passes through both.
    s = _mm512_min_ps(hi, _mm512_max_ps(lo, s));
    _mm512_mask_storeu_ps(shadow + i, m, s);
    const __m512 level = _mm512_sub_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
                                           _mm_maskz_loadu_epi8(m, notch + i))),
                                       center);
    const __m512 gap = _mm512_fnmadd_ps(level, alpha, s);
    hits += __builtin_popcount(
        _mm512_mask_cmp_ps_mask(m, _mm512_abs_ps(gap), trigger, _CMP_GT_OQ));
  }
  return hits;
}

#undef DWAE_AVX512

}  // namespace

Isa BestIsa() {
  static const Isa best = [] {
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
      return Isa::kReference;
    }
    if (__builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl")) {
      return Isa::kAvx512;
    }
    return Isa::kAvx2;
  }();
  return best;
}

#else  // !DWAE_HAVE_X86

Isa BestIsa() { return Isa::kReference; }

#endif

namespace {
std::atomic<int> active_isa{-1};  // -1: BestIsa(), not yet looked up
}  // namespace

Isa ActiveIsa() {
  int isa = active_isa.load(std::memory_order_relaxed);
  if (isa < 0) {
    isa = int(BestIsa());
    active_isa.store(isa, std::memory_order_relaxed);
  }
  return Isa(isa);
}

void SetIsaForTesting(Isa isa) {
  active_isa.store(int(std::min(isa, BestIsa())), std::memory_order_relaxed);
}

// ------------------------------------------------------------- dispatch ---

int NonZeroIndices(const float* x, int n, int* out) {
#if DWAE_HAVE_X86
  if (ActiveIsa() != Isa::kReference) return NonZeroAvx2(x, n, out);
#endif
  return ReferenceNonZeroIndices(x, n, out);
}

void AccumulateColumns(const float* w, int rows, const int* idx, int n,
                       const float* x, float* z) {
#if DWAE_HAVE_X86
  switch (ActiveIsa()) {
    case Isa::kAvx512:
      return ColumnsAvx512(w, rows, idx, n, x, nullptr, z);
    case Isa::kAvx2:
      return ColumnsAvx2(w, rows, idx, n, x, nullptr, z);
    case Isa::kReference:
      break;
  }
#endif
  ReferenceAccumulateColumns(w, rows, idx, n, x, z);
}

void DenseForward(const float* w, int rows, int cols, const float* x,
                  const float* bias, float* z) {
#if DWAE_HAVE_X86
  switch (ActiveIsa()) {
    case Isa::kAvx512:
      return ColumnsAvx512(w, rows, nullptr, cols, x, bias, z);
    case Isa::kAvx2:
      return ColumnsAvx2(w, rows, nullptr, cols, x, bias, z);
    case Isa::kReference:
      break;
  }
#endif
  ReferenceDenseForward(w, rows, cols, x, bias, z);
}

void TransposedProduct(const float* w, int rows, int cols, const float* d,
                       float* out) {
#if DWAE_HAVE_X86
  if (ActiveIsa() != Isa::kReference)
    return TransposedAvx2(w, rows, cols, d, out);
#endif
  ReferenceTransposedProduct(w, rows, cols, d, out);
}

int ShadowStep(const ShadowParams& p, const float* delta, const int8_t* notch,
               int rows, float* shadow) {
#if DWAE_HAVE_X86
  switch (ActiveIsa()) {
    case Isa::kAvx512:
      return ShadowStepAvx512(p, delta, notch, rows, shadow);
    case Isa::kAvx2:
      return ShadowStepAvx2(p, delta, notch, rows, shadow);
    case Isa::kReference:
      break;
  }
#endif
  return ReferenceShadowStep(p, delta, notch, rows, shadow);
}

}  // namespace dwae::learn_kernels
