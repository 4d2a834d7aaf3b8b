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
// identical, with one shortcut: log1p of a value beyond the table (a
// src_bytes or dst_bytes over 1023, a third of the NSL-KDD test rows) by a
// vector approximation whose error bound, carried through the monotone
// scaling, either pins the float std::log1p would give or leaves the record
// to the portable loops (NumericGroup; none of the 59,586 rows of the three
// NSL-KDD files needs them with the encoder fitted on the training file).
// Before it, std::log1p calls and their mispredicted branches were about 10 ns
// of a 63 ns encode (docs/performance.md). encoder_oracle_test,
// encoder_quantized_test and encoder_fast_path_test compare both paths
// (ForceScalarEncoderForTesting) with the formula, Encode's floats and
// QuantizeInput's bytes.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "core/encoder_kernels.h"
#include "core/encoder_layout.h"
#include "core/name_index.h"
#include "core/x86_intrinsics.h"

namespace dwae {
namespace encoder_internal {

#if DWAE_HAVE_X86

bool DetectEncoderAvx512() {
  return __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl");
}

namespace {

#define DWAE_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))

// The index of `name` in `index` (NameIndex::Find), its key built with one
// masked load: the bytes past the name are not read (a masked load does not
// touch them), and its size goes into byte 15 as MakeKey puts it.
template <size_t kSlots>
DWAE_AVX512 inline int Lookup(const std::string& name,
                              const NameIndex<kSlots>& index, int missing) {
  const size_t size = name.size();
  if (size - 1 >= NameIndex<kSlots>::kMaxNameBytes) return missing;
  __m128i key = _mm_maskz_loadu_epi8(__mmask16((1u << size) - 1), name.data());
  key = _mm_insert_epi8(key, int(size), 15);
  return index.FindKey(
      {uint64_t(_mm_cvtsi128_si64(key)), uint64_t(_mm_extract_epi64(key, 1))},
      missing);
}

// log1p(x) for finite x >= kLog1pTableSize, within kLog1pBeyondTableBound
// * result of std::log1p(x). z = 1 + x = 2^e * m with m in [1, 2); with c
// the midpoint of m's sixteenth of [1, 2) and r = m / c - 1 (|r| < 0.0305),
// log1p(x) = e ln 2 + log c + log1p(r), log1p(r) by its Taylor series to
// r^7. The error, absolute, for y >= log(1025) > 6.9:
//   rounding 1 + x: <= 2^-53; log_c (std::log, within a few ulps of
//   values < 0.7): <= 2^-51; r by one FMA: <= 2^-58; the series' tail:
//   <= |r|^8 / (8 (1 - |r|)) < 9.4e-14 < 2^-43.2; Horner's roundings
//   (values < 1, result < 0.031): < 2^-50;
// and relative to y: e * ln 2's rounded ln 2 (e <= 1024): < 2^-53 y; the
// last FMA and add: <= 2^-52 y. So |y - log1p(x)| < 2^-43 + 2^-51 y <
// 2^-45.7 y, and std::log1p's own error (documented as 1 ulp, 2^-52 y)
// leaves kLog1pBeyondTableBound = 2^-40 more than 16 times the sum
// (encoder_fast_path_test's Log1pBeyondTableIsWithinItsBound checks the
// margin on a million values).
DWAE_AVX512 inline __m512d Log1pBeyondTable(__m512d x,
                                            const Log1pIntervals& intervals) {
  const __m512d one = _mm512_set1_pd(1.0);
  const __m512d z = _mm512_add_pd(x, one);
  const __m512d e = _mm512_getexp_pd(z);
  const __m512d m = _mm512_getmant_pd(z, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero);
  // The top four bits of m's fraction pick c (permutex2var reads the low
  // four bits of each index).
  const __m512i i = _mm512_srli_epi64(_mm512_castpd_si512(m), 48);
  const __m512d inv_c = _mm512_permutex2var_pd(
      _mm512_load_pd(intervals.inv_c), i, _mm512_load_pd(intervals.inv_c + 8));
  const __m512d log_c = _mm512_permutex2var_pd(
      _mm512_load_pd(intervals.log_c), i, _mm512_load_pd(intervals.log_c + 8));
  const __m512d r = _mm512_fmsub_pd(m, inv_c, one);
  __m512d p = _mm512_set1_pd(1.0 / 7);
  for (const double c : {-1.0 / 6, 1.0 / 5, -1.0 / 4, 1.0 / 3, -1.0 / 2, 1.0}) {
    p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(c));
  }
  p = _mm512_mul_pd(p, r);
  return _mm512_fmadd_pd(e, _mm512_set1_pd(0x1.62e42fefa39efp-1),  // ln 2
                         _mm512_add_pd(log_c, p));
}

// ScaleAndClip of 8 transformed values as floats (zero past `valid`):
// (t - min) * inv clipped to [0, 1]; max(v, 0) returns 0 for NaN. Monotone
// in each t, as inv >= 0.
DWAE_AVX512 inline __m256 Scale(__m512d t, __m512d min, __m512d inv,
                                __mmask8 valid) {
  const __m512d v = _mm512_mul_pd(_mm512_sub_pd(t, min), inv);
  const __m512d clipped =
      _mm512_min_pd(_mm512_max_pd(v, _mm512_setzero_pd()), _mm512_set1_pd(1.0));
  return _mm256_maskz_mov_ps(valid, _mm512_cvtpd_ps(clipped));
}

// The constants the numeric groups read.
struct Tables {
  const double* log1p;  // Log1pTable()
  const Log1pIntervals& intervals;
};

// Numeric columns [8g, 8g + 8) of the kdd layout (column 0 is feature 0,
// column j >= 1 feature j + 3), log1p applied on Log1pGroup(g)'s columns,
// scaled and clipped, as 8 floats (zero past column 37). Log1p as the
// scalar Log1p where x is an integer in [0, table size); for finite x from
// the table's end on, the floats of y - bound and y + bound (y the vector
// log1p) enclose, Scale being monotone, the float of std::log1p(x): where
// they agree, that is the float. The lanes where they do not (a value
// within about 2^-40 of a float's rounding boundary, or of the fitted min)
// and the lanes that need std::log1p (negative, fractional, NaN, infinite)
// are added to *unsure, and their floats are not to be used.
template <int g>
DWAE_AVX512 inline __m256 NumericGroup(const double* numeric, const double* min,
                                       const double* inv, const Tables& tables,
                                       __mmask8* unsure) {
  constexpr __mmask8 kLog1p = Log1pGroup(g);
  constexpr __mmask8 kValid = 8 * g + 8 <= kNumNumeric
                                  ? __mmask8(0xFF)
                                  : __mmask8((1u << (kNumNumeric - 8 * g)) - 1);
  __m512d t = _mm512_maskz_loadu_pd(kValid, numeric + 3 + 8 * g);
  if (g == 0) t = _mm512_mask_broadcastsd_pd(t, 1, _mm_load_sd(numeric));
  const __m512d lo = _mm512_maskz_loadu_pd(kValid, min + 8 * g);
  const __m512d scale = _mm512_maskz_loadu_pd(kValid, inv + 8 * g);
  if (kLog1p == 0) return Scale(t, lo, scale, kValid);
  const __m512d x = t;
  const __m512d size = _mm512_set1_pd(double(kLog1pTableSize));
  // NaN compares false.
  __mmask8 table = kLog1p &
                   _mm512_cmp_pd_mask(x, _mm512_setzero_pd(), _CMP_GE_OQ) &
                   _mm512_cmp_pd_mask(x, size, _CMP_LT_OQ);
  const __m256i k = _mm512_maskz_cvttpd_epi32(table, x);
  table &= _mm512_cmp_pd_mask(_mm512_cvtepi32_pd(k), x, _CMP_EQ_OQ);
  const __mmask8 beyond =
      kLog1p & _mm512_cmp_pd_mask(x, size, _CMP_GE_OQ) &
      _mm512_cmp_pd_mask(x, _mm512_set1_pd(HUGE_VAL), _CMP_LT_OQ);
  *unsure |= kLog1p & ~table & ~beyond;
  // The table's values lane by lane (only Log1pGroup(g)'s lanes, known at
  // compile time): a masked gather costs more on AMD Zen 4. Every index is
  // in the table (zero outside kLog1p; below its size elsewhere).
  alignas(32) int32_t index[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(index), k);
#pragma GCC unroll 8
  for (int lane = 0; lane < 8; ++lane) {
    if ((kLog1p >> lane & 1) == 0) continue;
    t = _mm512_mask_broadcastsd_pd(t, table & __mmask8(1u << lane),
                                   _mm_load_sd(tables.log1p + index[lane]));
  }
  if (beyond == 0) return Scale(t, lo, scale, kValid);
  const __m512d y = Log1pBeyondTable(x, tables.intervals);
  const __m512d bound =
      _mm512_mul_pd(y, _mm512_set1_pd(kLog1pBeyondTableBound));
  const __m256 floats =
      Scale(_mm512_mask_sub_pd(t, beyond, y, bound), lo, scale, kValid);
  const __m256 high =
      Scale(_mm512_mask_add_pd(t, beyond, y, bound), lo, scale, kValid);
  *unsure |= _mm256_cmp_ps_mask(floats, high, _CMP_NEQ_OQ);
  return floats;
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

DWAE_AVX512 void Log1pBeyondTableAvx512(const double* x, double* y) {
  _mm512_storeu_pd(y,
                   Log1pBeyondTable(_mm512_loadu_pd(x), Log1pIntervalTable()));
}

DWAE_AVX512 bool EncodeKddAvx512(const Record& record, const double* min,
                                 const double* inv, const float* numeric,
                                 float* out, uint8_t* q) {
  __m512 v[8];
  if (numeric == nullptr) {
    static const Tables kTables = {Log1pTable(), Log1pIntervalTable()};
    const double* x = record.numeric.data();
    __mmask8 unsure = 0;
    v[0] = Join(NumericGroup<0>(x, min, inv, kTables, &unsure),
                NumericGroup<1>(x, min, inv, kTables, &unsure));
    v[1] = Join(NumericGroup<2>(x, min, inv, kTables, &unsure),
                NumericGroup<3>(x, min, inv, kTables, &unsure));
    v[2] = Join(NumericGroup<4>(x, min, inv, kTables, &unsure),
                _mm256_setzero_ps());
    if (unsure != 0) return false;
  } else {
    v[0] = _mm512_loadu_ps(numeric);
    v[1] = _mm512_loadu_ps(numeric + 16);
    v[2] = _mm512_maskz_loadu_ps(__mmask16(0x3F), numeric + 32);
  }
  // The three one-hot dimensions as bits of two words (dimensions [0, 64)
  // and [64, 128)): the protocol's is in the first, the flag's in the
  // second, the service's in either.
  constexpr int kProtocol = kNumNumeric;
  constexpr int kService = kProtocol + kNumProtocols + 1;
  constexpr int kFlag = kService + kNumServices + 1;
  static_assert(kService <= 64 && kFlag >= 64 && kFlag + kNumFlags < 128);
  const int protocol =
      kProtocol + Lookup(record.protocol_type, kProtocolLookup, kNumProtocols);
  const int service =
      kService + Lookup(record.service, kServiceLookup, kNumServices);
  const int flag = kFlag + Lookup(record.flag, kFlagLookup, kNumFlags);
  const uint64_t service_bit = uint64_t{1} << (service & 63);
  const uint64_t bits[2] = {
      (uint64_t{1} << protocol) | (service < 64 ? service_bit : 0),
      (uint64_t{1} << (flag - 64)) | (service >= 64 ? service_bit : 0)};
  for (int b = 3; b < 8; ++b) v[b] = _mm512_setzero_ps();
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
    // Dimensions from 48 on are one-hot, exactly 0 or 1: their bytes are 0
    // or 255 straight from the bits.
    const __m512i ones = _mm512_set1_epi8(char(0xFF));
    _mm512_storeu_si512(
        q,
        _mm512_mask_mov_epi8(
            Join4(Bytes(v[0]), Bytes(v[1]), Bytes(v[2]), _mm_setzero_si128()),
            __mmask64(bits[0] & ~uint64_t{0xFFFFFFFFFFFF}), ones));
    _mm512_storeu_si512(q + 64,
                        _mm512_maskz_mov_epi8(__mmask64(bits[1]), ones));
  }
  return true;
}

#undef DWAE_AVX512

#else  // !DWAE_HAVE_X86

bool DetectEncoderAvx512() { return false; }

void Log1pBeyondTableAvx512(const double*, double*) {}  // never called

bool EncodeKddAvx512(const Record&, const double*, const double*, const float*,
                     float*, uint8_t*) {
  return false;  // never called
}

#endif  // DWAE_HAVE_X86

}  // namespace encoder_internal
}  // namespace dwae
