// The register pass of a two-layer sigmoid network (inference_fused.h,
// ForwardTwoLayer): the default 125-32-125 model and any other whose hidden
// layer has at most 32 rows and output layer at most 128.
//
// Per record: the input quantized onto [0, 1] (as the general pass), the
// hidden sums by MatVecSparseVnni, the hidden sigmoid by the tables, its
// output quantized in registers; then the output layer's sums in kOut
// registers, each quad of hidden bytes broadcast once (no int32 sums
// stored), started at the tables' offset (so the sums are the tables'
// index a = acc + offset without an add), and the output epilogue from the
// registers. Every float operation is the general pass's, in the same
// order, so the score and the activations are equal bit for bit; the test
// compares them (inference_two_layer_test).
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
         out.unit_range_input && hidden.levels.rows() <= 2 * kInt8RowBlock &&
         hidden.levels.rows() >= 1 && out.levels.rows() >= 1 &&
         out.levels.rows() <= 8 * kInt8RowBlock &&
         out.levels.cols() == hidden.levels.rows();
}

#if DWAE_HAVE_X86

namespace {

#define DWAE_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))

// The hidden layer: sums, sigmoid (stored to `y`), and its output quantized
// onto [0, 1] into q[0, 32) (zero past the rows), as the general pass's
// epilogue with next_q.
template <int kHidden>
DWAE_VNNI void HiddenLayer(const IntLayer& layer, const uint8_t* in,
                           int32_t* acc, float* y, uint8_t* q) {
  const int rows = layer.levels.rows();
  const int out_size = layer.levels.row_blocks() * kInt8RowBlock;
  MatVecSparseVnni(layer.quads, in, acc + out_size, acc);
  __m128i bytes[2] = {_mm_setzero_si128(), _mm_setzero_si128()};
#pragma GCC unroll 2
  for (int b = 0; b < kHidden; ++b) {
    const int r = b * kInt8RowBlock;
    const __mmask16 mask = FirstLanes(rows - r);
    const __m512 s = SigmoidFromTables(layer.sigmoid_tables, r, acc + r);
    if (rows - r >= 16) {
      _mm512_storeu_ps(y + r, s);
    } else {
      _mm512_mask_storeu_ps(y + r, mask, s);
    }
    bytes[b] = UnitBytes(s, mask);
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q),
                      _mm256_set_m128i(bytes[1], bytes[0]));
}

// The output layer from the hidden bytes q (quads() of them used): sums in
// registers, sigmoid, the store to `y` and the mean squared error against x.
// The sums run in two chains per row block (even and odd quads), half as
// long; integer sums, so the order does not matter.
template <int kOut>
DWAE_VNNI float OutputLayer(const IntLayer& layer, const uint8_t* q,
                            const float* x, float* y) {
  const QuadLevels& k = layer.quads;
  const SigmoidTables& t = layer.sigmoid_tables;
  const int rows = layer.levels.rows();
  const int quads = k.quads();
  __m512i even[kOut], odd[kOut];
#pragma GCC unroll 8
  for (int b = 0; b < kOut; ++b) {
    even[b] = _mm512_set1_epi32(t.offset);
    odd[b] = _mm512_setzero_si512();
  }
  int qd = 0;
  for (; qd + 2 <= quads; qd += 2) {
    int32_t quad[2];
    std::memcpy(quad, q + 4 * qd, sizeof quad);
    const __m512i x0 = _mm512_set1_epi32(quad[0]);
    const __m512i x1 = _mm512_set1_epi32(quad[1]);
    // The row blocks of a quad are adjacent.
    const int8_t* w0 = k.block(qd, 0);
    const int8_t* w1 = k.block(qd + 1, 0);
#pragma GCC unroll 8
    for (int b = 0; b < kOut; ++b) {
      even[b] = DpbusdFrom(even[b], x0, w0 + 64 * b);
      odd[b] = DpbusdFrom(odd[b], x1, w1 + 64 * b);
    }
  }
  if (qd < quads) {
    int32_t quad;
    std::memcpy(&quad, q + 4 * qd, sizeof quad);
    const __m512i x0 = _mm512_set1_epi32(quad);
    const int8_t* w0 = k.block(qd, 0);
#pragma GCC unroll 8
    for (int b = 0; b < kOut; ++b) {
      even[b] = DpbusdFrom(even[b], x0, w0 + 64 * b);
    }
  }
  __m512 squares[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(),
                       _mm512_setzero_ps(), _mm512_setzero_ps()};
#pragma GCC unroll 8
  for (int b = 0; b < kOut; ++b) {
    const int r = b * kInt8RowBlock;
    const __mmask16 mask = FirstLanes(rows - r);
    const __m512 s =
        SigmoidFromOffsetSums(t, r, _mm512_add_epi32(even[b], odd[b]));
    if (b + 1 < kOut) {
      _mm512_storeu_ps(y + r, s);  // every block but the last is whole
    } else {
      _mm512_mask_storeu_ps(y + r, mask, s);
    }
    AddSquaredError(s, x + r, mask, &squares[b % 4]);
  }
  return SumOfSquares(squares) / static_cast<float>(rows);
}

// The pass from the input bytes q (quantized onto [0, 1]); x the floats.
template <int kHidden, int kOut>
DWAE_VNNI float FromBytes(const IntLayer& hidden, const IntLayer& out,
                          const float* x, const uint8_t* q, Workspace* ws) {
  alignas(32) uint8_t hidden_q[32];
  HiddenLayer<kHidden>(hidden, q, ws->accumulators.data(),
                       ws->activations[1].data(), hidden_q);
  return OutputLayer<kOut>(out, hidden_q, x, ws->activations[2].data());
}

// From the floats: quantized here (the range scanned; *done false, nothing
// else done, when it leaves [0, 1]).
template <int kHidden, int kOut>
DWAE_VNNI float FromFloats(const IntLayer& hidden, const IntLayer& out,
                           const float* x, Workspace* ws, bool* done) {
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
  return FromBytes<kHidden, kOut>(hidden, out, x, q, ws);
}

// From the bytes, then the floats copied to the workspace's input (last:
// by then the caller's stores of x have reached the cache).
template <int kHidden, int kOut>
DWAE_VNNI float FromEncoded(const IntLayer& hidden, const IntLayer& out,
                            const float* x, const uint8_t* q, Workspace* ws) {
  const float score = FromBytes<kHidden, kOut>(hidden, out, x, q, ws);
  const int n = hidden.levels.cols();
  float* copy = ws->activations[0].data();
  for (int c = 0; c < n; c += 16) {
    const __mmask16 mask = FirstLanes(n - c);
    _mm512_mask_storeu_ps(copy + c, mask, _mm512_maskz_loadu_ps(mask, x + c));
  }
  return score;
}

using FromFloatsFn = float (*)(const IntLayer&, const IntLayer&, const float*,
                               Workspace*, bool*);
using FromEncodedFn = float (*)(const IntLayer&, const IntLayer&, const float*,
                                const uint8_t*, Workspace*);

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

}  // namespace

float ForwardTwoLayer(const std::vector<IntLayer>& layers, const float* x,
                      Workspace* ws) {
  const IntLayer& hidden = layers[0];
  const IntLayer& out = layers[1];
  const int out_blocks = out.levels.row_blocks();
  const FromFloatsFn fn = hidden.levels.row_blocks() == 1
                              ? kFloatsByOut<1>[out_blocks - 1]
                              : kFloatsByOut<2>[out_blocks - 1];
  bool done;
  const float score = fn(hidden, out, x, ws, &done);
  return done ? score : ForwardFusedAvx512(layers, x, ws);
}

float ForwardTwoLayerEncoded(const std::vector<IntLayer>& layers,
                             const float* x, const uint8_t* q, Workspace* ws) {
  const IntLayer& hidden = layers[0];
  const IntLayer& out = layers[1];
  const int out_blocks = out.levels.row_blocks();
  const FromEncodedFn fn = hidden.levels.row_blocks() == 1
                               ? kEncodedByOut<1>[out_blocks - 1]
                               : kEncodedByOut<2>[out_blocks - 1];
  return fn(hidden, out, x, q, ws);
}

#undef DWAE_VNNI
#undef DWAE_AVX512

#else  // !DWAE_HAVE_X86

float ForwardTwoLayer(const std::vector<IntLayer>& layers, const float* x,
                      Workspace* ws) {
  return ForwardFusedAvx512(layers, x, ws);  // never called: no VNNI
}

float ForwardTwoLayerEncoded(const std::vector<IntLayer>& layers,
                             const float* x, const uint8_t*, Workspace* ws) {
  return ForwardFusedAvx512(layers, x, ws);  // never called: no VNNI
}

#endif  // DWAE_HAVE_X86

}  // namespace inference_internal
}  // namespace dwae
