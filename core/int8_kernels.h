// Integer matrix-vector kernels for inference on device-level weights.
//
// A domain-wall synapse holds one of a few levels k * unit (k a small
// integer), so a layer's product with a quantized input is an integer dot
// product per output:
//   out[r] = sum_c x[c] * k[r][c],  x unsigned 8-bit, |k| <= kMaxInt8Level,
// accumulated exactly in int32.
//
// PackedLevels stores k for the kernels: input columns in pairs, and per
// pair the rows in blocks of 16, each row's two levels side by side
// ([pair][row block][16 rows][2 columns], zero-padded). A kernel visits only
// the pairs of inputs that are not both zero (most of a one-hot encoded
// record), multiplies the pair, broadcast, with 16 rows' levels at once
// (AVX2 maddubs: u8 x s8 pairs summed into int16) and widens the int16
// sums into int32 before they could overflow (every `flush_every` pairs,
// from the layer's largest |k|). Nothing saturates: 2 * 255 * 63 < 2^15.
// So every kernel returns exactly what MatVecReference returns; tests
// compare them bit for bit on random shapes.
//
// The AVX2 kernel is compiled with a function-level target attribute and
// chosen at run time when the CPU has AVX2, so the same binary runs on the
// portable loop on a CPU without it, whatever -march the build used. The
// AVX-512 kernels (int8_kernels_avx512.cc; AVX512F, BW and VBMI2) read two
// row blocks of a pair with one 64-byte load (they are adjacent in the
// layout), so they issue half the multiplies of the AVX2 kernel, and list
// the non-zero pairs without branches (compress, 32 pairs per step).
// MatVecDenseAvx512 visits every pair without listing them, for the dense
// hidden activations. On CPUs with AVX512-VNNI the inference pass uses
// QuadLevels instead (int8_kernels_vnni.cc): vpdpbusd sums four u8 x s8
// products straight into int32, one instruction per 16 rows and 4 inputs,
// and the dense kernel scores up to 4 records per weight load.
//
// Thread-safety: PackedLevels is immutable after construction; the
// functions are pure.
#ifndef DWAE_CORE_INT8_KERNELS_H_
#define DWAE_CORE_INT8_KERNELS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dwae {

inline constexpr int kMaxInt8Level = 63;
inline constexpr int kInt8RowBlock = 16;

// The oracle: plain loops over row-major k (rows x cols).
void MatVecReference(const int8_t* k, int rows, int cols, const uint8_t* x,
                     int32_t* out);

class PackedLevels {
 public:
  PackedLevels() = default;
  // `k` row-major, rows x cols, every |k| <= kMaxInt8Level.
  PackedLevels(const int8_t* k, int rows, int cols);

  int rows() const { return rows_; }
  int cols() const { return cols_; }
  int row_blocks() const { return row_blocks_; }
  int pairs() const { return (cols_ + 1) / 2; }
  // Bytes of input the kernels read: 2 * pairs() rounded up to 32; the
  // caller zeroes those past cols().
  int padded_inputs() const { return (2 * pairs() + 31) / 32 * 32; }
  // Size in int32s of the pair_scratch buffer the kernels take.
  int scratch_size() const { return 2 * pairs() + 32; }
  // Pairs whose int16 sums cannot overflow.
  int flush_every() const { return flush_every_; }
  // The 32 bytes of (pair p, row block b).
  const int8_t* block(int p, int b) const {
    return data_.data() +
           (std::size_t(p) * row_blocks_ + b) * 2 * kInt8RowBlock;
  }

 private:
  int rows_ = 0, cols_ = 0, row_blocks_ = 0, flush_every_ = 1;
  std::vector<int8_t> data_;
};

// Buffer sizes the kernels need: x holds padded_inputs() bytes,
// out row_blocks() * kInt8RowBlock int32s, pair_scratch scratch_size()
// int32s.
void MatVecPortable(const PackedLevels& k, const uint8_t* x,
                    int32_t* pair_scratch, int32_t* out);
// True when this CPU can run MatVecAvx2.
bool CpuHasAvx2();
// Call only when CpuHasAvx2().
void MatVecAvx2(const PackedLevels& k, const uint8_t* x, int32_t* pair_scratch,
                int32_t* out);
// True when this CPU can run the AVX-512 kernels (AVX512F, BW, VBMI2).
bool CpuHasAvx512();
// Call only when CpuHasAvx512().
void MatVecAvx512(const PackedLevels& k, const uint8_t* x,
                  int32_t* pair_scratch, int32_t* out);
void MatVecDenseAvx512(const PackedLevels& k, const uint8_t* x, int32_t* out);
// The fastest kernel this CPU runs.
void MatVec(const PackedLevels& k, const uint8_t* x, int32_t* pair_scratch,
            int32_t* out);

// The same levels for AVX512-VNNI's vpdpbusd, which sums four u8 x s8
// products into an int32 lane at once (no int16 stage, nothing to widen):
// input columns in quads, and per quad the rows in blocks of 16, each row's
// four levels side by side ([quad][row block][16 rows][4 columns],
// zero-padded; int8_kernels_vnni.cc). Immutable after construction.
class QuadLevels {
 public:
  QuadLevels() = default;
  // As PackedLevels.
  QuadLevels(const int8_t* k, int rows, int cols);

  int rows() const { return rows_; }
  int cols() const { return cols_; }
  int row_blocks() const { return row_blocks_; }
  int quads() const { return (cols_ + 3) / 4; }
  // quads() rounded up to 4: the storage holds zero levels for the quads in
  // [quads(), padded_quads()), so a kernel may visit them (with zero or any
  // input bytes) in fixed groups of 4.
  int padded_quads() const { return (quads() + 3) / 4 * 4; }
  // The 64 bytes of (quad q, row block b), q <= padded_quads(): one more
  // quad of zero levels, q == padded_quads(), is stored as a sentinel for
  // kernels that walk a mask of the nonzero quads (a step past the last one
  // lands there and adds nothing).
  const int8_t* block(int q, int b) const {
    return data_.data() +
           (std::size_t(q) * row_blocks_ + b) * 4 * kInt8RowBlock;
  }

 private:
  int rows_ = 0, cols_ = 0, row_blocks_ = 0;
  std::vector<int8_t> data_;
};

// The portable loop over the quad layout, n records (what the VNNI kernels
// fall back to where x86 is absent; tests compare it with the oracle).
void MatVecQuadPortable(const QuadLevels& k, int n, const uint8_t* const* x,
                        int32_t* const* out);
// True when this CPU runs the VNNI kernels (AVX512F, BW and VNNI).
bool CpuHasVnni();
// Call only when CpuHasVnni(). x holds 4 * quads() bytes (zero past cols()),
// out row_blocks() * kInt8RowBlock int32s; scratch holds
// 2 * quads() + 32 int32s (PackedLevels::scratch_size() of the same shape
// is enough). Visits the quads of x that are not all zero.
void MatVecSparseVnni(const QuadLevels& k, const uint8_t* x, int32_t* scratch,
                      int32_t* out);
// n records at once, every quad: out[i] = k x[i] for i in [0, n). The
// records go through the quads in groups of up to 4; each weight block is
// read from L1 once per record (a memory operand of vpdpbusd), not held in
// a register for the group.
void MatVecDenseVnni(const QuadLevels& k, int n, const uint8_t* const* x,
                     int32_t* const* out);

}  // namespace dwae

#endif  // DWAE_CORE_INT8_KERNELS_H_
