// AVX-512 pieces shared by the fused integer passes (inference_fused.cc, the
// general pass, and inference_two_layer.cc, the register pass of a
// two-layer network): lane masks, the input quantization, the sigmoid from
// the tables of the integer sums, a hidden output's bytes and the squared
// errors (written once, as the two passes must agree bit for bit). Internal;
// include only from .cc files and after core/x86_intrinsics.h. Defines
// DWAE_AVX512 (the including file #undefs it at its end).
//
// Thread-safety: pure functions.
#ifndef DWAE_CORE_INFERENCE_FUSED_SIMD_H_
#define DWAE_CORE_INFERENCE_FUSED_SIMD_H_

#include <cstdint>
#include <cstring>

#include "core/inference_fused.h"

#if DWAE_HAVE_X86

#define DWAE_AVX512 __attribute__((target("avx512f,avx512bw")))

namespace dwae {
namespace inference_internal {

// Lanes [0, n) of a 16-lane register, n in [0, 16].
DWAE_AVX512 inline __mmask16 FirstLanes(int n) {
  return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1);
}

// QuantizeInput of `n` floats of `in` onto [lo, hi] into q (zeroed up to
// padded_n, a multiple of 32); also copies the floats to `copy` when not
// null (the workspace's input). When seen_lo is not null, sets *seen_lo and
// *seen_hi to min(0, min v) and max(1, max v). The bytes go out 64 at a
// time (32 for a last half), one store for each of the sparse kernel's
// 64-byte loads of them (ActiveQuads, masked loads), instead of four
// 16-byte stores: a load that spans several smaller stores still in flight
// cannot take its data from them and waits until they reach the cache.
// Whether the masked loads are then served from the one store in flight
// was not measured on its own (docs/performance.md, issue 13's fifth round,
// has what was measured).
DWAE_AVX512 inline void QuantizeOnto(const float* in, int n, int padded_n,
                                     float lo, float hi, uint8_t* q,
                                     float* copy, float* seen_lo,
                                     float* seen_hi) {
  const __m512 vlo = _mm512_set1_ps(lo);
  const __m512 inv = _mm512_set1_ps(255.0f / (hi - lo));
  const __m512 half = _mm512_set1_ps(0.5f);
  // Masked-off lanes read 0, which changes neither min(0, .) nor max(1, .).
  __m512 vmin = _mm512_setzero_ps(), vmax = _mm512_set1_ps(1.0f);
  const bool scan = seen_lo != nullptr;
  // The 16 bytes of in[c, c + 16) (zero past n).
  auto bytes = [&](int c) DWAE_AVX512 {
    if (c >= n) return _mm_setzero_si128();
    const __mmask16 mask = FirstLanes(n - c);
    // Whole vectors unmasked, so each load is exactly one of the previous
    // layer's whole-vector stores (the simplest case for store forwarding);
    // only a last partial vector is masked. Masked against unmasked loads
    // here was not measured.
    const __m512 v = n - c >= 16 ? _mm512_loadu_ps(in + c)
                                 : _mm512_maskz_loadu_ps(mask, in + c);
    if (copy != nullptr) _mm512_mask_storeu_ps(copy + c, mask, v);
    if (scan) {
      vmin = _mm512_min_ps(vmin, v);
      vmax = _mm512_max_ps(vmax, v);
    }
    // As QuantizeInput: v - lo >= 0, truncation after +0.5 rounds.
    const __m512i i = _mm512_maskz_cvttps_epi32(
        mask, _mm512_fmadd_ps(_mm512_sub_ps(v, vlo), inv, half));
    return _mm512_cvtepi32_epi8(i);
  };
  int c = 0;
  for (; c < n; c += 64) {
    const __m256i low = _mm256_set_m128i(bytes(c + 16), bytes(c));
    if (c + 64 <= padded_n) {
      const __m256i high = _mm256_set_m128i(bytes(c + 48), bytes(c + 32));
      _mm512_storeu_si512(
          q + c, _mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1));
    } else {  // padded_n - c == 32, so n - c <= 32
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + c), low);
      c += 32;
      break;
    }
  }
  if (c < padded_n) std::memset(q + c, 0, size_t(padded_n - c));
  if (scan) {
    *seen_lo = _mm512_reduce_min_ps(vmin);
    *seen_hi = _mm512_reduce_max_ps(vmax);
  }
}

// A layer's digit tables (SigmoidTables in inference_fused.h) in registers,
// loaded once per layer: the two 16-float halves of each digit's 32
// entries.
struct DigitRegs {
  __m512 lo[4], hi[4];
  bool four;  // 4 digits, else 3
};
DWAE_AVX512 inline DigitRegs LoadDigits(const SigmoidTables& t) {
  DigitRegs d;
  for (int i = 0; i < 4; ++i) {
    d.lo[i] = _mm512_loadu_ps(t.digit[i]);
    d.hi[i] = _mm512_loadu_ps(t.digit[i] + 16);
  }
  d.four = t.digits == 4;
  return d;
}

// The sigmoid of 16 rows by the tables from a = acc + t.offset, their int32
// sums plus the offset, and `row` their row factors; the reciprocal is
// rcp14 with one Newton step.
DWAE_AVX512 inline __m512 SigmoidFromDigits(const DigitRegs& t, __m512 row,
                                            __m512i a) {
  // vpermt2ps reads the low 5 bits of each index.
  const __m512 d0 = _mm512_permutex2var_ps(t.lo[0], a, t.hi[0]);
  const __m512 d1 =
      _mm512_permutex2var_ps(t.lo[1], _mm512_srli_epi32(a, 5), t.hi[1]);
  const __m512 d2 =
      _mm512_permutex2var_ps(t.lo[2], _mm512_srli_epi32(a, 10), t.hi[2]);
  // A product tree (depth 2 for 3 digits, 3 for 4) rather than a chain:
  // the same 5 rounded factors and 4 products at most, a shorter latency.
  __m512 e = row;
  if (t.four) {
    e = _mm512_mul_ps(
        e, _mm512_permutex2var_ps(t.lo[3], _mm512_srli_epi32(a, 15), t.hi[3]));
  }
  e = _mm512_mul_ps(_mm512_mul_ps(e, d2), _mm512_mul_ps(d1, d0));
  const __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f), e);
  const __m512 y = _mm512_rcp14_ps(d);
  return _mm512_mul_ps(y, _mm512_fnmadd_ps(d, y, _mm512_set1_ps(2.0f)));
}

// The same for rows [r, r + 16) with the tables read from memory.
DWAE_AVX512 inline __m512 SigmoidFromOffsetSums(const SigmoidTables& t, int r,
                                                __m512i a) {
  return SigmoidFromDigits(LoadDigits(t), _mm512_loadu_ps(t.row.data() + r), a);
}

// The same from the int32 sums acc[0, 16) of rows [r, r + 16).
DWAE_AVX512 inline __m512 SigmoidFromTables(const SigmoidTables& t, int r,
                                            const int32_t* acc) {
  return SigmoidFromOffsetSums(
      t, r,
      _mm512_add_epi32(_mm512_loadu_si512(acc), _mm512_set1_epi32(t.offset)));
}

// The bytes of 16 outputs y in [0, 1] (0 past `mask`): QuantizeOnto's
// arithmetic with lo = 0, hi = 1, (y - 0) * 255 + 0.5 truncated, and y - 0
// is y. Both fused passes quantize a hidden layer's output with it, so
// their bytes agree.
DWAE_AVX512 inline __m128i UnitBytes(__m512 y, __mmask16 mask) {
  const __m512 levels = _mm512_set1_ps(255.0f);
  const __m512 half = _mm512_set1_ps(0.5f);
  return _mm512_cvtepi32_epi8(
      _mm512_maskz_cvttps_epi32(mask, _mm512_fmadd_ps(y, levels, half)));
}

// *sum += (y - x)^2 on the lanes of `mask` (x read only there), the one
// fma of both fused passes' squared errors (their sums must be equal bit
// for bit).
DWAE_AVX512 inline void AddSquaredError(__m512 y, __m512 x, __mmask16 mask,
                                        __m512* sum) {
  const __m512 d = _mm512_maskz_sub_ps(mask, y, x);
  *sum = _mm512_fmadd_ps(d, d, *sum);
}
DWAE_AVX512 inline void AddSquaredError(__m512 y, const float* x,
                                        __mmask16 mask, __m512* sum) {
  AddSquaredError(y, _mm512_maskz_loadu_ps(mask, x), mask, sum);
}

// The sum of the lanes of four partial sums of squared errors:
// (s0 + s1) + (s2 + s3), then the 16 lanes as _mm512_reduce_add_ps adds them.
DWAE_AVX512 inline float SumOfSquares(const __m512 s[4]) {
  return _mm512_reduce_add_ps(
      _mm512_add_ps(_mm512_add_ps(s[0], s[1]), _mm512_add_ps(s[2], s[3])));
}

}  // namespace inference_internal
}  // namespace dwae

#endif  // DWAE_HAVE_X86

#endif  // DWAE_CORE_INFERENCE_FUSED_SIMD_H_
