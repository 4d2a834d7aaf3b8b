#include "core/inference_fused.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/inference_network.h"
#include "core/x86_intrinsics.h"
// After x86_intrinsics.h.
#include "core/inference_fused_simd.h"

namespace dwae {
namespace inference_internal {

namespace {
std::atomic<bool> force_pair_kernels{false};
}  // namespace

void ForcePairKernelsForTesting(bool force) { force_pair_kernels = force; }
bool PairKernelsForced() {
  return force_pair_kernels.load(std::memory_order_relaxed);
}

void BuildSigmoidTables(IntLayer* layer) {
  SigmoidTables& t = layer->sigmoid_tables;
  t = SigmoidTables();
  if (layer->activation != Activation::kSigmoid) return;
  // |acc| <= 255 max_r sum_c |k_rc|; a = acc + offset must fit 15 or 20
  // bits.
  const int64_t offset = int64_t{255} * layer->max_abs_row_sum;
  if (2 * offset >= (int64_t{1} << 20)) return;
  const int digits = 2 * offset < (int64_t{1} << 15) ? 3 : 4;
  const int rows = layer->levels.rows();
  double max_bias = 0;
  for (int r = 0; r < rows; ++r) {
    max_bias = std::max(max_bias, std::abs(double(layer->bias[r])));
  }
  const double c = double(layer->unit) / 255.0;
  // Every partial product is e^x with |x| <= max_bias + c offset.
  if (!(max_bias + c * double(offset) <= 80.0)) return;
  t.digits = digits;
  t.offset = static_cast<int32_t>(offset);
  t.row.assign(layer->bias.size(), 1.0f);
  for (int r = 0; r < rows; ++r) {
    t.row[r] = float(std::exp(-double(layer->bias[r]) + c * double(offset)));
  }
  for (int d = 0; d < digits; ++d) {
    for (int j = 0; j < 32; ++j) {
      t.digit[d][j] = float(std::exp(-c * double(j) * double(1 << (5 * d))));
    }
  }
  t.usable = true;
}

#if DWAE_HAVE_X86

bool CpuHasFusedForward() { return CpuHasAvx512(); }

namespace {

// 1 / (1 + 2^t) with t = -z log2(e), clamped to [-126, 126] (the result
// changes by less than 1e-37 there, and 2^t stays finite and normal; NaN
// passes through: min/max return their second operand for NaN). 2^t =
// 2^n 2^f with n = round(t), f = t - n in [-1/2, 1/2] (exact), 2^f by a
// degree-6 polynomial (Cephes' exp2f coefficients, relative error below
// 2e-7 on [-1/2, 1/2]), 2^n by scalef. The rounding of t itself moves
// 2^t by at most |t| 2^-24 ln 2 relative, which only matters where the
// sigmoid is below 2^-8 or above 1 - 2^-8. The reciprocal: rcp14 (2^-14)
// and one Newton step y(2 - dy) to about 2^-23.
DWAE_AVX512 inline __m512 Sigmoid(__m512 z) {
  __m512 t = _mm512_mul_ps(z, _mm512_set1_ps(-1.44269504088896341f));
  t = _mm512_min_ps(_mm512_set1_ps(126.0f),
                    _mm512_max_ps(_mm512_set1_ps(-126.0f), t));
  const __m512 n =
      _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(t, n);
  __m512 p = _mm512_set1_ps(1.535336188319500e-4f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.339887440266574e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.618437357674640e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550332471162809e-2f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402264791363012e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931472028550421e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  const __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f), _mm512_scalef_ps(p, n));
  const __m512 y = _mm512_rcp14_ps(d);
  return _mm512_mul_ps(y, _mm512_fnmadd_ps(d, y, _mm512_set1_ps(2.0f)));
}

DWAE_AVX512 inline __m512 Activate(Activation activation, __m512 z) {
  switch (activation) {
    case Activation::kSigmoid:
      return Sigmoid(z);
    case Activation::kRelu:
      return _mm512_max_ps(z, _mm512_setzero_ps());
    case Activation::kTanh:  // tanh z = 2 sigmoid(2z) - 1
      return _mm512_fmsub_ps(_mm512_set1_ps(2.0f), Sigmoid(_mm512_add_ps(z, z)),
                             _mm512_set1_ps(1.0f));
  }
  return z;
}

// QuantizeInput: the range [0, 1] first (the encoder's features, sigmoid
// outputs), again over the values' range when they leave it. (An input known
// to lie in [0, 1] never comes here: the previous layer's epilogue quantized
// it.)
DWAE_AVX512 QuantizedRange Quantize(const float* in, int n, int padded_n,
                                    uint8_t* q, float* copy) {
  float lo = 0, hi = 1;
  QuantizeOnto(in, n, padded_n, 0.0f, 1.0f, q, copy, &lo, &hi);
  if (lo < 0.0f || hi > 1.0f) {
    QuantizeOnto(in, n, padded_n, lo, hi, q, nullptr, &lo, &hi);
  } else {
    lo = 0.0f;
    hi = 1.0f;
  }
  return {lo, (hi - lo) / 255.0f};
}

// The int32 sums of layer `l` for the n records (ws[i]->quantized holds
// record i's quantized input): VNNI when the CPU has it, else the
// pair-layout kernels; both exact.
DWAE_AVX512 void LayerSums(const IntLayer& layer, bool sparse_input, int n,
                           Workspace* const* ws) {
  const PackedLevels& k = layer.levels;
  const int out_size = k.row_blocks() * kInt8RowBlock;
  if (CpuHasVnni() && !force_pair_kernels.load(std::memory_order_relaxed)) {
    if (sparse_input) {
      // Most of an encoded record is zero: only its non-zero quads.
      for (int i = 0; i < n; ++i) {
        int32_t* acc = ws[i]->accumulators.data();
        MatVecSparseVnni(layer.quads, ws[i]->quantized.data(), acc + out_size,
                         acc);
      }
      return;
    }
    const uint8_t* x[kMaxFusedBatch];
    int32_t* out[kMaxFusedBatch];
    for (int i = 0; i < n; ++i) {
      x[i] = ws[i]->quantized.data();
      out[i] = ws[i]->accumulators.data();
    }
    MatVecDenseVnni(layer.quads, n, x, out);
    return;
  }
  for (int i = 0; i < n; ++i) {
    int32_t* acc = ws[i]->accumulators.data();
    if (sparse_input) {
      MatVecAvx512(k, ws[i]->quantized.data(), acc + out_size, acc);
    } else {
      MatVecDenseAvx512(k, ws[i]->quantized.data(), acc);
    }
  }
}

// The layer's output from the int32 sums `acc`: scale, bias, activation,
// the store to `out` and, when `x` is not null (the last layer), the mean
// squared error against x. When `next_q` is not null (the next layer's input
// is known to lie in [0, 1]), the output is also quantized onto [0, 1] into
// next_q, zeroed up to next_padded, from the registers: the bytes
// QuantizeOnto(out, rows, next_padded, 0, 1, next_q, nullptr, nullptr,
// nullptr) would write, without the store and reload.
DWAE_AVX512 float Epilogue(const IntLayer& layer, const int32_t* acc,
                           QuantizedRange range, float* out, const float* x,
                           uint8_t* next_q, int next_padded) {
  const int rows = layer.levels.rows();
  const __m512 offset = _mm512_set1_ps(layer.unit * range.lo);
  const __m512 scale = _mm512_set1_ps(layer.unit * range.step);
  // The tables hold for inputs quantized onto [0, 1] only.
  const bool tables = layer.sigmoid_tables.usable && range.lo == 0.0f &&
                      range.step == 1.0f / 255.0f;
  // Squared errors of block b go to squares[b % 4] (4 short chains instead
  // of one long one), added as SumOfSquares does; ForwardTwoLayer adds in
  // the same order.
  __m512 squares[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(),
                       _mm512_setzero_ps(), _mm512_setzero_ps()};
  for (int r = 0; r < rows; r += 16) {
    const __mmask16 mask = FirstLanes(rows - r);
    __m512 y;
    if (tables) {
      y = SigmoidFromTables(layer.sigmoid_tables, r, acc + r);
    } else {
      const __m512 a = _mm512_cvtepi32_ps(_mm512_loadu_si512(acc + r));
      const __m512 z = _mm512_add_ps(
          _mm512_loadu_ps(layer.bias.data() + r),
          _mm512_fmadd_ps(offset, _mm512_loadu_ps(layer.row_sums.data() + r),
                          _mm512_mul_ps(scale, a)));
      y = Activate(layer.activation, z);
    }
    if (rows - r >= 16) {
      _mm512_storeu_ps(out + r, y);
    } else {
      _mm512_mask_storeu_ps(out + r, mask, y);
    }
    if (next_q != nullptr) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(next_q + r),
                       UnitBytes(y, mask));
    }
    if (x != nullptr) AddSquaredError(y, x + r, mask, &squares[(r / 16) % 4]);
  }
  if (next_q != nullptr) {
    const int written = (rows + 15) / 16 * 16;
    if (written < next_padded) {
      std::memset(next_q + written, 0, size_t(next_padded - written));
    }
  }
  if (x == nullptr) return 0;
  return SumOfSquares(squares) / static_cast<float>(rows);
}

}  // namespace

// Stage by stage over the records (quantize all, sums of all, epilogue of
// all): the records' work is independent, so the core overlaps it, and
// each record's arithmetic is the same as alone.
DWAE_AVX512 void ForwardFusedBatchAvx512(const std::vector<IntLayer>& layers,
                                         int n, const float* const* x,
                                         Workspace* const* ws, float* scores) {
  const int num_layers = static_cast<int>(layers.size());
  QuantizedRange range[kMaxFusedBatch];
  for (int l = 0; l < num_layers; ++l) {
    const IntLayer& layer = layers[l];
    const PackedLevels& k = layer.levels;
    for (int i = 0; i < n; ++i) {
      if (l > 0 && layer.unit_range_input) {
        // The previous layer's epilogue quantized its output already.
        range[i] = {0.0f, 1.0f / 255.0f};
        continue;
      }
      const float* in = l == 0 ? x[i] : ws[i]->activations[l].data();
      range[i] =
          Quantize(in, k.cols(), k.padded_inputs(), ws[i]->quantized.data(),
                   l == 0 ? ws[i]->activations[0].data() : nullptr);
    }
    LayerSums(layer, l == 0, n, ws);
    const bool last = l + 1 == num_layers;
    // Quantize the output in the epilogue when the next layer takes it
    // onto [0, 1] (no range scan): the sums above have read this layer's
    // quantized input, so the buffer is free.
    const bool quantize_next = !last && layers[l + 1].unit_range_input;
    const int next_padded =
        quantize_next ? layers[l + 1].levels.padded_inputs() : 0;
    for (int i = 0; i < n; ++i) {
      const float mse = Epilogue(
          layer, ws[i]->accumulators.data(), range[i],
          ws[i]->activations[l + 1].data(), last ? x[i] : nullptr,
          quantize_next ? ws[i]->quantized.data() : nullptr, next_padded);
      if (last) scores[i] = mse;
    }
  }
}

DWAE_AVX512 float ForwardFusedAvx512(const std::vector<IntLayer>& layers,
                                     const float* x, Workspace* ws) {
  float score;
  ForwardFusedBatchAvx512(layers, 1, &x, &ws, &score);
  return score;
}

DWAE_AVX512 void SigmoidFromTablesForTesting(const IntLayer& layer,
                                             int first_row, const int32_t* acc,
                                             float* y) {
  _mm512_storeu_ps(y, SigmoidFromTables(layer.sigmoid_tables, first_row, acc));
}

#undef DWAE_AVX512

#else  // !DWAE_HAVE_X86

void SigmoidFromTablesForTesting(const IntLayer&, int, const int32_t*, float*) {
}  // never called

bool CpuHasFusedForward() { return false; }

float ForwardFusedAvx512(const std::vector<IntLayer>&, const float*,
                         Workspace*) {
  return 0;  // never called: CpuHasFusedForward() is false
}

void ForwardFusedBatchAvx512(const std::vector<IntLayer>&, int,
                             const float* const*, Workspace* const*, float*) {}

#endif  // DWAE_HAVE_X86

}  // namespace inference_internal
}  // namespace dwae
