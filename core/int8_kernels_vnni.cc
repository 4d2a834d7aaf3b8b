// The AVX512-VNNI integer kernels of int8_kernels.h: vpdpbusd multiplies
// four u8 inputs by four s8 levels and adds the four products to an int32
// lane, so a row block of 16 rows takes one instruction per quad of inputs
// and the sums are exact int32 sums like MatVecReference's (integer
// addition in any order gives the same result).
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/int8_kernels.h"
#include "core/x86_intrinsics.h"
// After x86_intrinsics.h.
#include "core/int8_dpbusd.h"

namespace dwae {

QuadLevels::QuadLevels(const int8_t* k, int rows, int cols)
    : rows_(rows),
      cols_(cols),
      row_blocks_((rows + kInt8RowBlock - 1) / kInt8RowBlock) {
  // padded_quads() + 1: the sentinel quad (int8_kernels.h).
  data_.assign(size_t(padded_quads() + 1) * row_blocks_ * 4 * kInt8RowBlock, 0);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      int8_t* b =
          data_.data() +
          (size_t(c / 4) * row_blocks_ + r / kInt8RowBlock) * 4 * kInt8RowBlock;
      b[4 * (r % kInt8RowBlock) + c % 4] = k[size_t(r) * cols + c];
    }
  }
}

void MatVecQuadPortable(const QuadLevels& k, int n, const uint8_t* const* x,
                        int32_t* const* out) {
  for (int i = 0; i < n; ++i) {
    std::fill(out[i], out[i] + k.row_blocks() * kInt8RowBlock, 0);
    for (int q = 0; q < k.quads(); ++q) {
      const uint8_t* in = x[i] + 4 * q;
      if ((in[0] | in[1] | in[2] | in[3]) == 0) continue;
      for (int b = 0; b < k.row_blocks(); ++b) {
        const int8_t* w = k.block(q, b);
        int32_t* o = out[i] + b * kInt8RowBlock;
        for (int r = 0; r < kInt8RowBlock; ++r) {
          for (int j = 0; j < 4; ++j) o[r] += int32_t{in[j]} * w[4 * r + j];
        }
      }
    }
  }
}

#if DWAE_HAVE_X86

bool CpuHasVnni() {
  static const bool has = __builtin_cpu_supports("avx512f") &&
                          __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vnni");
  return has;
}

namespace {

#define DWAE_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))

// The quads of x that are not all zero, 16 at a time without a branch per
// quad: indices to idx[0, n), the four bytes to val[0, n). Each step stores
// 16 entries, so idx and val hold quads + 16 entries. Returns n.
DWAE_VNNI int ActiveQuads(const uint8_t* x, int quads, int32_t* idx,
                          int32_t* val) {
  const __m512i iota =
      _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  int n = 0;
  for (int base = 0; base < quads; base += 16) {
    const int left = quads - base;
    const __mmask16 in_range =
        left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
    // Masked: nothing is read past the quads.
    const __m512i v = _mm512_maskz_loadu_epi32(in_range, x + 4 * base);
    const __mmask16 nonzero = _mm512_test_epi32_mask(v, v);
    const __m512i index = _mm512_add_epi32(iota, _mm512_set1_epi32(base));
    _mm512_storeu_si512(val + n, _mm512_maskz_compress_epi32(nonzero, v));
    _mm512_storeu_si512(idx + n, _mm512_maskz_compress_epi32(nonzero, index));
    n += __builtin_popcount(nonzero);
  }
  return n;
}

// Row blocks [first, first + kTile) over the listed quads, with even and
// odd entries in separate accumulators (two dependency chains per block).
template <int kTile>
DWAE_VNNI void SparseTile(const QuadLevels& k, int first, int entries,
                          const int32_t* idx, const int32_t* val,
                          int32_t* out) {
  __m512i even[kTile], odd[kTile];
  for (int t = 0; t < kTile; ++t) even[t] = odd[t] = _mm512_setzero_si512();
  int e = 0;
  for (; e + 2 <= entries; e += 2) {
    const __m512i x0 = _mm512_set1_epi32(val[e]);
    const __m512i x1 = _mm512_set1_epi32(val[e + 1]);
    const int8_t* w0 = k.block(idx[e], first);
    const int8_t* w1 = k.block(idx[e + 1], first);
    for (int t = 0; t < kTile; ++t) {
      even[t] = DpbusdFrom(even[t], x0, w0 + 64 * t);
      odd[t] = DpbusdFrom(odd[t], x1, w1 + 64 * t);
    }
  }
  if (e < entries) {
    const __m512i x0 = _mm512_set1_epi32(val[e]);
    const int8_t* w0 = k.block(idx[e], first);
    for (int t = 0; t < kTile; ++t) {
      even[t] = DpbusdFrom(even[t], x0, w0 + 64 * t);
    }
  }
  for (int t = 0; t < kTile; ++t) {
    _mm512_storeu_si512(out + (first + t) * kInt8RowBlock,
                        _mm512_add_epi32(even[t], odd[t]));
  }
}

// kRecords records, row blocks [first, first + kTile): per quad and record,
// one broadcast of the record's quad and kTile vpdpbusd, each reading its
// weight block from memory (so each block is read once per record).
template <int kRecords, int kTile>
DWAE_VNNI void DenseTile(const QuadLevels& k, int first,
                         const uint8_t* const* x, int32_t* const* out) {
  __m512i acc[kRecords][kTile];
  for (int i = 0; i < kRecords; ++i) {
    for (int t = 0; t < kTile; ++t) acc[i][t] = _mm512_setzero_si512();
  }
  for (int q = 0; q < k.quads(); ++q) {
    // The weights as memory operands: each block is read once per record
    // from L1, which costs load slots rather than registers.
    const int8_t* w = k.block(q, first);
    for (int i = 0; i < kRecords; ++i) {
      int32_t quad;
      std::memcpy(&quad, x[i] + 4 * q, sizeof quad);
      const __m512i xv = _mm512_set1_epi32(quad);
      for (int t = 0; t < kTile; ++t) {
        acc[i][t] = DpbusdFrom(acc[i][t], xv, w + 64 * t);
      }
    }
  }
  for (int i = 0; i < kRecords; ++i) {
    for (int t = 0; t < kTile; ++t) {
      _mm512_storeu_si512(out[i] + (first + t) * kInt8RowBlock, acc[i][t]);
    }
  }
}

template <int kRecords>
DWAE_VNNI void DenseRecords(const QuadLevels& k, const uint8_t* const* x,
                            int32_t* const* out) {
  int b = 0;
  for (; b + 4 <= k.row_blocks(); b += 4) {
    DenseTile<kRecords, 4>(k, b, x, out);
  }
  for (; b + 2 <= k.row_blocks(); b += 2) {
    DenseTile<kRecords, 2>(k, b, x, out);
  }
  if (b < k.row_blocks()) DenseTile<kRecords, 1>(k, b, x, out);
}

}  // namespace

DWAE_VNNI void MatVecSparseVnni(const QuadLevels& k, const uint8_t* x,
                                int32_t* scratch, int32_t* out) {
  int32_t* idx = scratch;
  int32_t* val = scratch + k.quads() + 16;
  const int entries = ActiveQuads(x, k.quads(), idx, val);
  int b = 0;
  for (; b + 2 <= k.row_blocks(); b += 2) {
    SparseTile<2>(k, b, entries, idx, val, out);
  }
  if (b < k.row_blocks()) SparseTile<1>(k, b, entries, idx, val, out);
}

DWAE_VNNI void MatVecDenseVnni(const QuadLevels& k, int n,
                               const uint8_t* const* x, int32_t* const* out) {
  int i = 0;
  for (; i + 4 <= n; i += 4) DenseRecords<4>(k, x + i, out + i);
  switch (n - i) {
    case 3:
      DenseRecords<3>(k, x + i, out + i);
      break;
    case 2:
      DenseRecords<2>(k, x + i, out + i);
      break;
    case 1:
      DenseRecords<1>(k, x + i, out + i);
      break;
    default:
      break;
  }
}

#undef DWAE_VNNI

#else  // !DWAE_HAVE_X86

bool CpuHasVnni() { return false; }

// Never called (CpuHasVnni() is false); the oracle keeps them honest.
void MatVecSparseVnni(const QuadLevels& k, const uint8_t* x, int32_t*,
                      int32_t* out) {
  MatVecQuadPortable(k, 1, &x, &out);
}

void MatVecDenseVnni(const QuadLevels& k, int n, const uint8_t* const* x,
                     int32_t* const* out) {
  MatVecQuadPortable(k, n, x, out);
}

#endif  // DWAE_HAVE_X86

}  // namespace dwae
