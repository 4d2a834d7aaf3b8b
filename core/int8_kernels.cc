#include "core/int8_kernels.h"

#include <algorithm>
#include <cstdlib>

#include "core/x86_intrinsics.h"

namespace dwae {
namespace {

// Lists the pairs of x that are not both zero: out[0, n) their indices,
// out[pairs, pairs + n) their two bytes as one little-endian 16-bit value.
// Returns n.
int ActivePairs(const uint8_t* x, int pairs, int32_t* out) {
  int n = 0;
  for (int p = 0; p < pairs; ++p) {
    const int32_t value = x[2 * p] | (x[2 * p + 1] << 8);
    out[n] = p;
    out[pairs + n] = value;
    n += value != 0 ? 1 : 0;
  }
  return n;
}

}  // namespace

void MatVecReference(const int8_t* k, int rows, int cols, const uint8_t* x,
                     int32_t* out) {
  for (int r = 0; r < rows; ++r) {
    int32_t sum = 0;
    for (int c = 0; c < cols; ++c) {
      sum += int32_t{x[c]} * int32_t{k[size_t(r) * cols + c]};
    }
    out[r] = sum;
  }
}

PackedLevels::PackedLevels(const int8_t* k, int rows, int cols)
    : rows_(rows),
      cols_(cols),
      row_blocks_((rows + kInt8RowBlock - 1) / kInt8RowBlock) {
  data_.assign(size_t(pairs()) * row_blocks_ * 2 * kInt8RowBlock, 0);
  int max_level = 1;
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      const int8_t level = k[size_t(r) * cols + c];
      max_level = std::max(max_level, std::abs(int{level}));
      int8_t* b =
          data_.data() +
          (size_t(c / 2) * row_blocks_ + r / kInt8RowBlock) * 2 * kInt8RowBlock;
      b[2 * (r % kInt8RowBlock) + c % 2] = level;
    }
  }
  // One pair adds at most 2 * 255 * max_level to an int16 sum.
  flush_every_ = std::max(1, 32767 / (2 * 255 * max_level));
}

void MatVecPortable(const PackedLevels& k, const uint8_t* x,
                    int32_t* pair_scratch, int32_t* out) {
  const int active = ActivePairs(x, k.pairs(), pair_scratch);
  std::fill(out, out + k.row_blocks() * kInt8RowBlock, 0);
  for (int a = 0; a < active; ++a) {
    const int p = pair_scratch[a];
    const int32_t x0 = x[2 * p], x1 = x[2 * p + 1];
    for (int b = 0; b < k.row_blocks(); ++b) {
      const int8_t* w = k.block(p, b);
      int32_t* o = out + b * kInt8RowBlock;
      for (int r = 0; r < kInt8RowBlock; ++r) {
        o[r] += x0 * w[2 * r] + x1 * w[2 * r + 1];
      }
    }
  }
}

#if DWAE_HAVE_X86

bool CpuHasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}

// kTile row blocks of 16 rows from `first`: for each active pair, one
// broadcast and kTile independent maddubs into int16 sums (the pair's blocks
// are adjacent in memory), widened into int32 every flush_every pairs.
template <int kTile>
__attribute__((target("avx2"))) void MatVecTileAvx2(const PackedLevels& k,
                                                    int first, int active,
                                                    const int32_t* pairs,
                                                    const int32_t* values,
                                                    int32_t* out) {
  __m256i lo[kTile], hi[kTile];
  for (int t = 0; t < kTile; ++t) lo[t] = hi[t] = _mm256_setzero_si256();
  for (int start = 0; start < active; start += k.flush_every()) {
    const int end = std::min(active, start + k.flush_every());
    __m256i acc[kTile];
    for (int t = 0; t < kTile; ++t) acc[t] = _mm256_setzero_si256();
    for (int a = start; a < end; ++a) {
      const __m256i xv = _mm256_set1_epi16(static_cast<int16_t>(values[a]));
      const auto* w =
          reinterpret_cast<const __m256i*>(k.block(pairs[a], first));
      for (int t = 0; t < kTile; ++t) {
        acc[t] = _mm256_add_epi16(
            acc[t], _mm256_maddubs_epi16(xv, _mm256_loadu_si256(w + t)));
      }
    }
    for (int t = 0; t < kTile; ++t) {
      lo[t] = _mm256_add_epi32(
          lo[t], _mm256_cvtepi16_epi32(_mm256_castsi256_si128(acc[t])));
      hi[t] = _mm256_add_epi32(
          hi[t], _mm256_cvtepi16_epi32(_mm256_extracti128_si256(acc[t], 1)));
    }
  }
  for (int t = 0; t < kTile; ++t) {
    int32_t* o = out + (first + t) * kInt8RowBlock;
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), lo[t]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 8), hi[t]);
  }
}

// ActivePairs, 16 pairs at a time: a zero test per 16-bit lane, then one
// entry per set bit of the mask.
__attribute__((target("avx2,bmi"))) int ActivePairsAvx2(const uint8_t* x,
                                                        int pairs,
                                                        int32_t* out) {
  int n = 0;
  const __m256i zero = _mm256_setzero_si256();
  for (int base = 0; base < pairs; base += 16) {
    const __m256i v =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + 2 * base));
    // Two mask bits per pair; keep the low one of each non-zero pair.
    uint32_t mask =
        ~uint32_t(_mm256_movemask_epi8(_mm256_cmpeq_epi16(v, zero))) &
        0x55555555u;
    while (mask != 0) {
      const int p = base + int(_tzcnt_u32(mask)) / 2;
      mask &= mask - 1;
      if (p >= pairs) break;
      out[n] = p;
      out[pairs + n] = x[2 * p] | (x[2 * p + 1] << 8);
      ++n;
    }
  }
  return n;
}

__attribute__((target("avx2"))) void MatVecAvx2(const PackedLevels& k,
                                                const uint8_t* x,
                                                int32_t* pair_scratch,
                                                int32_t* out) {
  const int active = ActivePairsAvx2(x, k.pairs(), pair_scratch);
  const int32_t* values = pair_scratch + k.pairs();
  int b = 0;
  for (; b + 4 <= k.row_blocks(); b += 4) {
    MatVecTileAvx2<4>(k, b, active, pair_scratch, values, out);
  }
  for (; b + 2 <= k.row_blocks(); b += 2) {
    MatVecTileAvx2<2>(k, b, active, pair_scratch, values, out);
  }
  for (; b < k.row_blocks(); ++b) {
    MatVecTileAvx2<1>(k, b, active, pair_scratch, values, out);
  }
}

#else  // !DWAE_HAVE_X86

bool CpuHasAvx2() { return false; }

void MatVecAvx2(const PackedLevels& k, const uint8_t* x, int32_t* pair_scratch,
                int32_t* out) {
  MatVecPortable(k, x, pair_scratch, out);
}

#endif  // DWAE_HAVE_X86

void MatVec(const PackedLevels& k, const uint8_t* x, int32_t* pair_scratch,
            int32_t* out) {
  if (CpuHasAvx512()) {
    MatVecAvx512(k, x, pair_scratch, out);
  } else if (CpuHasAvx2()) {
    MatVecAvx2(k, x, pair_scratch, out);
  } else {
    MatVecPortable(k, x, pair_scratch, out);
  }
}

}  // namespace dwae
