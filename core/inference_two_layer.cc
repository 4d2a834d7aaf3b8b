// The register pass of a two-layer sigmoid network (inference_fused.h,
// ForwardTwoLayer): the default 125-32-125 model and any other whose hidden
// layer has at most 32 rows and output layer at most 128.
//
// Per record: the input quantized onto [0, 1] (as the general pass) or the
// encoder's bytes; the hidden sums in registers, over the leading dense
// quads (IntLayer::dense_quads: the encoder's numeric features, for a
// record alone) whatever their bytes and then over the other quads that
// are not all zero, the hidden sigmoid by the tables, its output quantized
// in registers; then the output layer row block by row block: the
// kHidden * 4 quads of hidden bytes broadcast once, each block's sums in
// two chains started at the tables' offset (so the sums are the tables'
// index a = acc + offset without an add) and its epilogue right after them
// (so it overlaps the next block's multiply-adds on the other port). No
// int32 sums are stored; the layers' tables and level pointers are read
// into locals once (the stores to the activations could alias them
// otherwise, and were followed by reloads). Every float operation is the
// general pass's, in the same order, so the score and the activations are
// equal bit for bit; the test compares them (inference_two_layer_test),
// from the floats and from the bytes.
//
// What this layout gained over the previous one (quad-major output sums,
// the hidden sums through MatVecSparseVnni and memory, the tables reloaded
// per block): docs/performance.md, issue 13's seventh round. A dense hidden
// pass (every quad, 8 chains per block) was slower (130 against 113 ns per
// forward: vpdpbusd issues on one port here, and the list of nonzero quads
// then skipped most quads of an encoded record); broadcasting the hidden
// quads from memory instead of with vpermd measured the same. The dense
// prefix and the walk replaced a list of the nonzero quads built with
// vpcompressd, stored and read back (issue 13's eighth round): a single
// record's pass is bound by its chain of dependent steps more than by its
// instruction count, and the list sat on that chain between the encoder's
// bytes and the first multiply.
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/inference_fused.h"
#include "core/int8_kernels.h"
#include "core/x86_intrinsics.h"
// After x86_intrinsics.h.
#include "core/inference_fused_simd.h"
#include "core/int8_dpbusd.h"

namespace dwae {
namespace inference_internal {

bool TwoLayerEligible(const std::vector<IntLayer>& layers) {
  if (layers.size() != 2) return false;
  const IntLayer& hidden = layers[0];
  const IntLayer& out = layers[1];
  return hidden.sigmoid_tables.usable && out.sigmoid_tables.usable &&
         hidden.quads.quads() <= kMaxTwoLayerQuads && out.unit_range_input &&
         hidden.levels.rows() <= 2 * kInt8RowBlock &&
         hidden.levels.rows() >= 1 && out.levels.rows() >= 1 &&
         out.levels.rows() <= 8 * kInt8RowBlock &&
         out.levels.cols() == hidden.levels.rows() &&
         out.levels.rows() == hidden.levels.cols() &&
         // Whole groups of the pass's 4 chains, within the levels.
         hidden.dense_quads % 4 == 0 && hidden.dense_quads >= 0 &&
         hidden.dense_quads <= hidden.quads.padded_quads();
}

#if DWAE_HAVE_X86

namespace {

#define DWAE_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))

// The hidden layer from the input bytes `in`: its int32 sums in registers,
// the sigmoid by the tables (stored to `y`), and its output quantized onto
// [0, 1] (zero past the rows) returned in a register: the bytes the general
// pass's epilogue writes to next_q. The sums: the input's quads in two
// registers; the first `dense` of them (0 or layer.dense_quads: whole
// groups of kChains within the levels, TwoLayerEligible) multiplied
// whatever their bytes (each broadcast from the registers), then the
// nonzero quads after them by a walk over a mask (lowest set bit, cleared)
// in steps of kChains.
// The mask always holds a sentinel bit at padded_quads(), whose levels are
// zero (QuadLevels' sentinel quad): a step past the last nonzero quad adds
// nothing, so the walk needs no test per step.
template <int kHidden>
DWAE_VNNI __m256i HiddenLayer(const IntLayer& layer, const uint8_t* in,
                              int dense, float* y) {
  constexpr int kChains = 4;
  const QuadLevels& k = layer.quads;
  const int quads = k.quads();  // <= kMaxTwoLayerQuads (TwoLayerEligible)
  // Quads [0, 16) and [16, 32), zero past quads(); whole loads where the 16
  // quads are there (one load per store of the encoder's, which writes the
  // bytes 64 at a time).
  const __m512i low = quads >= 16
                          ? _mm512_loadu_si512(in)
                          : _mm512_maskz_loadu_epi32(FirstLanes(quads), in);
  const __m512i high =
      quads >= 32  ? _mm512_loadu_si512(in + 64)
      : quads > 16 ? _mm512_maskz_loadu_epi32(FirstLanes(quads - 16), in + 64)
                   : _mm512_setzero_si512();
  // Integer sums: the order does not matter. Chain 0 starts at the tables'
  // offset, so the total is a = acc + offset.
  __m512i sums[kHidden][kChains];
#pragma GCC unroll 2
  for (int b = 0; b < kHidden; ++b) {
    sums[b][0] = _mm512_set1_epi32(layer.sigmoid_tables.offset);
#pragma GCC unroll 4
    for (int u = 1; u < kChains; ++u) sums[b][u] = _mm512_setzero_si512();
  }
  const int8_t* const levels = k.block(0, 0);  // kHidden row blocks
  // Quad j (j < 32 read from the registers; the sentinel's bytes are any
  // input quad's, multiplied by zero levels) into chain u.
  auto add_quad = [&](int u, int j) DWAE_VNNI {
    const __m512i xv =
        _mm512_permutex2var_epi32(low, _mm512_set1_epi32(j), high);
    const int8_t* w = levels + 64 * kHidden * j;
#pragma GCC unroll 2
    for (int b = 0; b < kHidden; ++b) {
      sums[b][u] = DpbusdFrom(sums[b][u], xv, w + 64 * b);
    }
  };
  for (int j = 0; j < dense; j += kChains) {
#pragma GCC unroll 4
    for (int u = 0; u < kChains; ++u) add_quad(u, j + u);
  }
  const uint64_t sentinel = uint64_t{1} << k.padded_quads();
  const uint64_t nonzero = uint64_t(_mm512_test_epi32_mask(low, low)) |
                           uint64_t(_mm512_test_epi32_mask(high, high)) << 16;
  uint64_t rest = (nonzero >> dense << dense) | sentinel;
  while (rest != sentinel) {
#pragma GCC unroll 4
    for (int u = 0; u < kChains; ++u) {
      const int j = __builtin_ctzll(rest);
      rest = (rest & (rest - 1)) | sentinel;
      add_quad(u, j);
    }
  }
  const int rows = layer.levels.rows();
  __m128i bytes[2] = {_mm_setzero_si128(), _mm_setzero_si128()};
#pragma GCC unroll 2
  for (int b = 0; b < kHidden; ++b) {
    const __m512i* c = sums[b];
    const __m512i a = _mm512_add_epi32(_mm512_add_epi32(c[0], c[1]),
                                       _mm512_add_epi32(c[2], c[3]));
    const int r = b * kInt8RowBlock;
    const __mmask16 mask = FirstLanes(rows - r);
    const __m512 s = SigmoidFromOffsetSums(layer.sigmoid_tables, r, a);
    if (rows - r >= 16) {
      _mm512_storeu_ps(y + r, s);
    } else {
      _mm512_mask_storeu_ps(y + r, mask, s);
    }
    bytes[b] = UnitBytes(s, mask);
  }
  return _mm256_set_m128i(bytes[1], bytes[0]);
}

// The output layer from the hidden bytes h (4 * kHidden quads, zero past
// the hidden rows; the levels are zero-padded to as many quads,
// QuadLevels::padded_quads): each quad broadcast once from the register,
// then row block by row block the sums in two chains (even and odd quads;
// integer sums, so the order does not matter), started at the tables'
// offset (the sums are the tables' index a = acc + offset without an add),
// the sigmoid, the store to `y` and the squared error against x. A block's
// epilogue follows its sums, so it overlaps the next block's
// multiply-adds.
// With `copy` not null (rows() floats), x is also copied there from the
// registers that load it for the squared errors.
template <int kHidden, int kOut>
DWAE_VNNI float OutputLayer(const IntLayer& layer, __m256i h, const float* x,
                            float* y, float* copy) {
  constexpr int kQuads = 4 * kHidden;
  // Everything the loop reads from the layer, in locals: the stores to y
  // could alias the layer's members otherwise, and the compiler would load
  // them again after each one.
  const int8_t* const levels = layer.quads.block(0, 0);  // kOut row blocks
  const DigitRegs digits = LoadDigits(layer.sigmoid_tables);
  const float* const row = layer.sigmoid_tables.row.data();
  const __m512i offset = _mm512_set1_epi32(layer.sigmoid_tables.offset);
  const int rows = layer.levels.rows();
  // Each quad broadcast once (lanes 8-15 of h512 are never read).
  __m512i xq[kQuads];
  const __m512i h512 = _mm512_castsi256_si512(h);
#pragma GCC unroll 8
  for (int j = 0; j < kQuads; ++j) {
    xq[j] = _mm512_permutexvar_epi32(_mm512_set1_epi32(j), h512);
  }
  __m512 squares[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(),
                       _mm512_setzero_ps(), _mm512_setzero_ps()};
#pragma GCC unroll 8
  for (int b = 0; b < kOut; ++b) {
    __m512i even = offset;
    __m512i odd = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int j = 0; j < kQuads; j += 2) {
      even = DpbusdFrom(even, xq[j], levels + 64 * (j * kOut + b));
      odd = DpbusdFrom(odd, xq[j + 1], levels + 64 * ((j + 1) * kOut + b));
    }
    const int r = b * kInt8RowBlock;
    // Every block but the last is whole.
    const __mmask16 mask =
        b + 1 < kOut ? __mmask16(0xFFFF) : FirstLanes(rows - r);
    const __m512 s = SigmoidFromDigits(digits, _mm512_loadu_ps(row + r),
                                       _mm512_add_epi32(even, odd));
    if (b + 1 < kOut) {
      _mm512_storeu_ps(y + r, s);
    } else {
      _mm512_mask_storeu_ps(y + r, mask, s);
    }
    const __m512 xv = _mm512_maskz_loadu_ps(mask, x + r);
    if (copy != nullptr) {
      if (b + 1 < kOut) {
        _mm512_storeu_ps(copy + r, xv);
      } else {
        _mm512_mask_storeu_ps(copy + r, mask, xv);
      }
    }
    AddSquaredError(s, xv, mask, &squares[b % 4]);
  }
  return SumOfSquares(squares) / static_cast<float>(rows);
}

// The pass from the input bytes q (quantized onto [0, 1]); x the floats,
// copied to `copy` when not null (as OutputLayer).
template <int kHidden, int kOut>
DWAE_VNNI float FromBytes(const IntLayer& hidden, const IntLayer& out,
                          const float* x, const uint8_t* q, int dense,
                          Workspace* ws, float* copy) {
  const __m256i h =
      HiddenLayer<kHidden>(hidden, q, dense, ws->activations[1].data());
  return OutputLayer<kHidden, kOut>(out, h, x, ws->activations[2].data(), copy);
}

// From the floats: quantized here (the range scanned; *done false, nothing
// else done, when it leaves [0, 1]).
template <int kHidden, int kOut>
DWAE_VNNI float FromFloats(const IntLayer& hidden, const IntLayer& out,
                           const float* x, int dense, Workspace* ws,
                           bool* done) {
  float lo, hi;
  uint8_t* q = ws->quantized.data();
  QuantizeOnto(x, hidden.levels.cols(), hidden.levels.padded_inputs(), 0.0f,
               1.0f, q, ws->activations[0].data(), &lo, &hi);
  // Inputs outside [0, 1] widen the range: the general pass then.
  if (lo < 0.0f || hi > 1.0f) {
    *done = false;
    return 0;
  }
  *done = true;
  // QuantizeOnto has copied x to the workspace's input.
  return FromBytes<kHidden, kOut>(hidden, out, x, q, dense, ws, nullptr);
}

// From the bytes; the floats are copied to the workspace's input by the
// output layer, from the registers that load them for the squared errors
// (the output rows are the inputs: TwoLayerEligible), instead of a loop of
// its own (which cost about 5 ns of BM_ForwardEncoded's 108).
template <int kHidden, int kOut>
DWAE_VNNI float FromEncoded(const IntLayer& hidden, const IntLayer& out,
                            const float* x, const uint8_t* q, int dense,
                            Workspace* ws) {
  return FromBytes<kHidden, kOut>(hidden, out, x, q, dense, ws,
                                  ws->activations[0].data());
}

using FromFloatsFn = float (*)(const IntLayer&, const IntLayer&, const float*,
                               int, Workspace*, bool*);
using FromEncodedFn = float (*)(const IntLayer&, const IntLayer&, const float*,
                                const uint8_t*, int, Workspace*);

template <int kHidden>
constexpr FromFloatsFn kFloatsByOut[8] = {
    FromFloats<kHidden, 1>, FromFloats<kHidden, 2>, FromFloats<kHidden, 3>,
    FromFloats<kHidden, 4>, FromFloats<kHidden, 5>, FromFloats<kHidden, 6>,
    FromFloats<kHidden, 7>, FromFloats<kHidden, 8>};
template <int kHidden>
constexpr FromEncodedFn kEncodedByOut[8] = {
    FromEncoded<kHidden, 1>, FromEncoded<kHidden, 2>, FromEncoded<kHidden, 3>,
    FromEncoded<kHidden, 4>, FromEncoded<kHidden, 5>, FromEncoded<kHidden, 6>,
    FromEncoded<kHidden, 7>, FromEncoded<kHidden, 8>};

// The hidden layer's dense quads for a record passed alone or in a batch.
int DenseQuads(const IntLayer& hidden, TwoLayerCall call) {
  return call == TwoLayerCall::kAlone ? hidden.dense_quads : 0;
}

}  // namespace

float ForwardTwoLayer(const std::vector<IntLayer>& layers, const float* x,
                      Workspace* ws, TwoLayerCall call) {
  const IntLayer& hidden = layers[0];
  const IntLayer& out = layers[1];
  const int out_blocks = out.levels.row_blocks();
  const FromFloatsFn fn = hidden.levels.row_blocks() == 1
                              ? kFloatsByOut<1>[out_blocks - 1]
                              : kFloatsByOut<2>[out_blocks - 1];
  bool done;
  const float score = fn(hidden, out, x, DenseQuads(hidden, call), ws, &done);
  return done ? score : ForwardFusedAvx512(layers, x, ws);
}

float ForwardTwoLayerEncoded(const std::vector<IntLayer>& layers,
                             const float* x, const uint8_t* q, Workspace* ws,
                             TwoLayerCall call) {
  const IntLayer& hidden = layers[0];
  const IntLayer& out = layers[1];
  const int out_blocks = out.levels.row_blocks();
  const FromEncodedFn fn = hidden.levels.row_blocks() == 1
                               ? kEncodedByOut<1>[out_blocks - 1]
                               : kEncodedByOut<2>[out_blocks - 1];
  return fn(hidden, out, x, q, DenseQuads(hidden, call), ws);
}

#undef DWAE_VNNI
#undef DWAE_AVX512

#else  // !DWAE_HAVE_X86

float ForwardTwoLayer(const std::vector<IntLayer>& layers, const float* x,
                      Workspace* ws, TwoLayerCall) {
  return ForwardFusedAvx512(layers, x, ws);  // never called: no VNNI
}

float ForwardTwoLayerEncoded(const std::vector<IntLayer>& layers,
                             const float* x, const uint8_t*, Workspace* ws,
                             TwoLayerCall) {
  return ForwardFusedAvx512(layers, x, ws);  // never called: no VNNI
}

#endif  // DWAE_HAVE_X86

}  // namespace inference_internal
}  // namespace dwae
