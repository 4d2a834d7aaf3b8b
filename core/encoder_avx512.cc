// The kdd layout's encoding with AVX-512 (encoder_kernels.h,
// EncodeKddAvx512): the 125 floats assembled in registers and written with
// whole 64-byte stores, and their bytes on [0, 1] for the integer
// inference with them. Built with a function-level target, run only where
// the CPU has AVX-512 (CpuHasEncoderAvx512), so the binary stays portable.
//
// Why registers: the integer pass reads the encoding back 64 bytes at a
// time right after it is written (the bytes by ActiveQuads' masked loads,
// the floats for the squared errors). A load that spans several smaller
// stores still in flight (the scalar encoder's 16-byte and 4-byte stores,
// the fill of the one-hot block) cannot take its data from them and waits
// until they reach the cache; here every 64 bytes of floats, and of bytes,
// are one store. What was measured (docs/performance.md, issue 13's fifth
// round): skipping the pass's layer-0 quantization of the scalar encoder's
// output (timing only) took BM_ScoreOne from 232.8 to 179.1 ns, far more
// than the quantization's arithmetic, and this encoder with the pass from
// its bytes was measured as a whole. Whether the masked loads are served
// from these stores in flight was not measured on its own.
//
// The arithmetic per value is the scalar formula's (Log1p, then
// ScaleAndClip's sub, mul, max, min and conversion), so the floats are
// identical; encoder_oracle_test and encoder_quantized_test compare both
// paths (ForceScalarEncoderForTesting) with the formula, Encode's floats
// and QuantizeInput's bytes.
#include <cstdint>
#include <cstring>

#include "core/encoder_kernels.h"
#include "core/x86_intrinsics.h"

namespace dwae {
namespace encoder_internal {

#if DWAE_HAVE_X86

bool CpuHasEncoderAvx512() {
  static const bool has =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return has;
}

namespace {

#define DWAE_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))

// Numeric columns [8g, 8g + 8) of the kdd layout (column 0 is feature 0,
// column j >= 1 feature j + 3) after Log1p on the columns of `log1p`,
// scaled and clipped, as 8 floats (zero past column 37).
DWAE_AVX512 inline __m256 NumericGroup(const double* numeric, int g,
                                       __mmask8 log1p, const double* min,
                                       const double* inv) {
  const __mmask8 valid = g == 4 ? __mmask8(0x3F) : __mmask8(0xFF);
  __m512d t = _mm512_maskz_loadu_pd(valid, numeric + 3 + 8 * g);
  if (g == 0) t = _mm512_mask_broadcastsd_pd(t, 1, _mm_load_sd(numeric));
  if (log1p != 0) {
    static const double* const kTable = Log1pTable();
    // As Log1p: the table where x is an integer in [0, size) (NaN is not).
    __mmask8 table =
        log1p & _mm512_cmp_pd_mask(t, _mm512_setzero_pd(), _CMP_GE_OQ) &
        _mm512_cmp_pd_mask(t, _mm512_set1_pd(double(kLog1pTableSize)),
                           _CMP_LT_OQ);
    const __m256i k = _mm512_maskz_cvttpd_epi32(table, t);
    table &= _mm512_cmp_pd_mask(_mm512_cvtepi32_pd(k), t, _CMP_EQ_OQ);
    const __mmask8 rest = log1p & ~table;
    double x[8];
    if (rest != 0) _mm512_storeu_pd(x, t);
    t = _mm512_mask_i32gather_pd(t, table, k, kTable, 8);
    for (unsigned r = rest; r != 0; r &= r - 1) {
      const int lane = __builtin_ctz(r);
      t = _mm512_mask_broadcastsd_pd(t, __mmask8(1u << lane),
                                     _mm_set_sd(std::log1p(x[lane])));
    }
  }
  const __m512d v =
      _mm512_mul_pd(_mm512_sub_pd(t, _mm512_maskz_loadu_pd(valid, min + 8 * g)),
                    _mm512_maskz_loadu_pd(valid, inv + 8 * g));
  // max(v, 0) returns 0 for NaN, as ScaleAndClip.
  const __m512d clipped =
      _mm512_min_pd(_mm512_max_pd(v, _mm512_setzero_pd()), _mm512_set1_pd(1.0));
  return _mm256_maskz_mov_ps(valid, _mm512_cvtpd_ps(clipped));
}

DWAE_AVX512 inline __m512 Join(__m256 low, __m256 high) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(low), high, 1);
}

// The 16 bytes QuantizeInput gives 16 floats in [0, 1].
DWAE_AVX512 inline __m128i Bytes(__m512 v) {
  return _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(
      _mm512_fmadd_ps(v, _mm512_set1_ps(255.0f), _mm512_set1_ps(0.5f))));
}

DWAE_AVX512 inline __m512i Join4(__m128i a, __m128i b, __m128i c, __m128i d) {
  const __m256i low = _mm256_set_m128i(b, a), high = _mm256_set_m128i(d, c);
  return _mm512_inserti64x4(_mm512_castsi256_si512(low), high, 1);
}

}  // namespace

DWAE_AVX512 void EncodeKddAvx512(const double* numeric, const uint8_t* log1p,
                                 const int* hot, const double* min,
                                 const double* inv, float* out, uint8_t* q) {
  __m512 v[8];
  v[0] = Join(NumericGroup(numeric, 0, log1p[0], min, inv),
              NumericGroup(numeric, 1, log1p[1], min, inv));
  v[1] = Join(NumericGroup(numeric, 2, log1p[2], min, inv),
              NumericGroup(numeric, 3, log1p[3], min, inv));
  v[2] =
      Join(NumericGroup(numeric, 4, log1p[4], min, inv), _mm256_setzero_ps());
  for (int b = 3; b < 8; ++b) v[b] = _mm512_setzero_ps();
  // The three one-hot dimensions (each in [38, 125)).
  uint64_t bits[2] = {0, 0};
  for (int i = 0; i < 3; ++i) bits[hot[i] >> 6] |= uint64_t{1} << (hot[i] & 63);
  const __m512 one = _mm512_set1_ps(1.0f);
#pragma GCC unroll 6
  for (int b = 2; b < 8; ++b) {
    const __mmask16 m = __mmask16(bits[b >> 2] >> (16 * (b & 3)));
    v[b] = _mm512_mask_mov_ps(v[b], m, one);
  }
#pragma GCC unroll 7
  for (int b = 0; b < 7; ++b) _mm512_storeu_ps(out + 16 * b, v[b]);
  _mm512_mask_storeu_ps(out + 112, __mmask16(0x1FFF), v[7]);  // 125 floats
  if (q != nullptr) {
    _mm512_storeu_si512(
        q, Join4(Bytes(v[0]), Bytes(v[1]), Bytes(v[2]), Bytes(v[3])));
    _mm512_storeu_si512(
        q + 64, Join4(Bytes(v[4]), Bytes(v[5]), Bytes(v[6]), Bytes(v[7])));
  }
}

#undef DWAE_AVX512

#else  // !DWAE_HAVE_X86

bool CpuHasEncoderAvx512() { return false; }

void EncodeKddAvx512(const double*, const uint8_t*, const int*, const double*,
                     const double*, float*, uint8_t*) {}  // never called

#endif  // DWAE_HAVE_X86

}  // namespace encoder_internal
}  // namespace dwae
