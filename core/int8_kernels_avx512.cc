// The AVX-512 integer kernels of int8_kernels.h, in their own file because
// every function here carries the avx512 target attribute.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/int8_kernels.h"
#include "core/x86_intrinsics.h"

namespace dwae {

#if DWAE_HAVE_X86

bool CpuHasAvx512() {
  static const bool has = __builtin_cpu_supports("avx512f") &&
                          __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vbmi2");
  return has;
}

namespace {

#define DWAE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vbmi2")))

// The pairs of x that are not both zero, 32 at a time without a branch per
// pair: their indices to idx[0, n) and their two bytes (one little-endian
// 16-bit value) to val[0, n). Each step stores 32 entries, so idx and val
// hold pairs + 32 entries. Returns n.
DWAE_AVX512 int ActivePairsCompress(const uint8_t* x, int pairs, uint16_t* idx,
                                    uint16_t* val) {
  const __m512i iota = _mm512_set_epi16(31, 30, 29, 28, 27, 26, 25, 24, 23, 22,
                                        21, 20, 19, 18, 17, 16, 15, 14, 13, 12,
                                        11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  int n = 0;
  for (int base = 0; base < pairs; base += 32) {
    const int left = pairs - base;
    const __mmask32 in_range =
        left >= 32 ? __mmask32(~0u) : __mmask32((1u << left) - 1);
    // Masked: nothing is read past the pairs.
    const __m512i v = _mm512_maskz_loadu_epi16(in_range, x + 2 * base);
    const __mmask32 nonzero = _mm512_test_epi16_mask(v, v);
    const __m512i index =
        _mm512_add_epi16(iota, _mm512_set1_epi16(static_cast<int16_t>(base)));
    _mm512_storeu_si512(val + n, _mm512_maskz_compress_epi16(nonzero, v));
    _mm512_storeu_si512(idx + n, _mm512_maskz_compress_epi16(nonzero, index));
    n += __builtin_popcount(nonzero);
  }
  return n;
}

// The 16-bit value of entry a: kDense reads pair a of x, else val[a].
template <bool kDense>
inline int16_t PairValue(const uint8_t* x, const uint16_t* val, int a) {
  if (!kDense) return static_cast<int16_t>(val[a]);
  uint16_t v;
  std::memcpy(&v, x + 2 * a, sizeof v);
  return static_cast<int16_t>(v);
}

// Row blocks [first, first + 2 kTile): tile t holds blocks first + 2t and
// first + 2t + 1 in one register (adjacent in the layout); per entry one
// broadcast and kTile maddubs into int16 sums, widened into int32 every
// flush_every entries. Entries are idx/val, or every pair when kDense.
template <int kTile, bool kDense>
DWAE_AVX512 void Tile512(const PackedLevels& k, int first, int entries,
                         const uint8_t* x, const uint16_t* idx,
                         const uint16_t* val, int32_t* out) {
  __m512i lo[kTile], hi[kTile];
  for (int t = 0; t < kTile; ++t) lo[t] = hi[t] = _mm512_setzero_si512();
  for (int start = 0; start < entries; start += k.flush_every()) {
    const int end = std::min(entries, start + k.flush_every());
    __m512i acc[kTile];
    for (int t = 0; t < kTile; ++t) acc[t] = _mm512_setzero_si512();
    for (int a = start; a < end; ++a) {
      const __m512i xv = _mm512_set1_epi16(PairValue<kDense>(x, val, a));
      const int8_t* w = k.block(kDense ? a : idx[a], first);
      for (int t = 0; t < kTile; ++t) {
        acc[t] = _mm512_add_epi16(
            acc[t], _mm512_maddubs_epi16(xv, _mm512_loadu_si512(w + 64 * t)));
      }
    }
    for (int t = 0; t < kTile; ++t) {
      lo[t] = _mm512_add_epi32(
          lo[t], _mm512_cvtepi16_epi32(_mm512_castsi512_si256(acc[t])));
      hi[t] = _mm512_add_epi32(
          hi[t], _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(acc[t], 1)));
    }
  }
  for (int t = 0; t < kTile; ++t) {
    int32_t* o = out + (first + 2 * t) * kInt8RowBlock;
    _mm512_storeu_si512(o, lo[t]);
    _mm512_storeu_si512(o + kInt8RowBlock, hi[t]);
  }
}

// The last row block alone (an odd count), in 256-bit registers.
template <bool kDense>
DWAE_AVX512 void TailTile256(const PackedLevels& k, int block, int entries,
                             const uint8_t* x, const uint16_t* idx,
                             const uint16_t* val, int32_t* out) {
  __m512i sum = _mm512_setzero_si512();
  for (int start = 0; start < entries; start += k.flush_every()) {
    const int end = std::min(entries, start + k.flush_every());
    __m256i acc = _mm256_setzero_si256();
    for (int a = start; a < end; ++a) {
      const __m256i xv = _mm256_set1_epi16(PairValue<kDense>(x, val, a));
      const int8_t* w = k.block(kDense ? a : idx[a], block);
      acc = _mm256_add_epi16(
          acc,
          _mm256_maddubs_epi16(
              xv, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w))));
    }
    sum = _mm512_add_epi32(sum, _mm512_cvtepi16_epi32(acc));
  }
  _mm512_storeu_si512(out + block * kInt8RowBlock, sum);
}

template <bool kDense>
DWAE_AVX512 void MatVecTiles(const PackedLevels& k, int entries,
                             const uint8_t* x, const uint16_t* idx,
                             const uint16_t* val, int32_t* out) {
  int b = 0;
  for (; b + 8 <= k.row_blocks(); b += 8) {
    Tile512<4, kDense>(k, b, entries, x, idx, val, out);
  }
  for (; b + 2 <= k.row_blocks(); b += 2) {
    Tile512<1, kDense>(k, b, entries, x, idx, val, out);
  }
  if (b < k.row_blocks()) TailTile256<kDense>(k, b, entries, x, idx, val, out);
}

}  // namespace

DWAE_AVX512 void MatVecAvx512(const PackedLevels& k, const uint8_t* x,
                              int32_t* pair_scratch, int32_t* out) {
  auto* idx = reinterpret_cast<uint16_t*>(pair_scratch);
  uint16_t* val = idx + k.pairs() + 32;
  const int active = ActivePairsCompress(x, k.pairs(), idx, val);
  MatVecTiles<false>(k, active, x, idx, val, out);
}

DWAE_AVX512 void MatVecDenseAvx512(const PackedLevels& k, const uint8_t* x,
                                   int32_t* out) {
  MatVecTiles<true>(k, k.pairs(), x, nullptr, nullptr, out);
}

#undef DWAE_AVX512

#else  // !DWAE_HAVE_X86

bool CpuHasAvx512() { return false; }

void MatVecAvx512(const PackedLevels& k, const uint8_t* x,
                  int32_t* pair_scratch, int32_t* out) {
  MatVecPortable(k, x, pair_scratch, out);
}

void MatVecDenseAvx512(const PackedLevels& k, const uint8_t* x, int32_t* out) {
  std::vector<int32_t> scratch(k.scratch_size());
  MatVecPortable(k, x, scratch.data(), out);
}

#endif  // DWAE_HAVE_X86

}  // namespace dwae
