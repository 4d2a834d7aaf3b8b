// The integer forward pass of InferenceNetwork fused into one pass per layer
// for CPUs with AVX-512 (AVX512F + AVX512BW). Internal to
// inference_network.cc; declared here so that tests can run it against the
// layer-by-layer path.
//
// Per layer, on 16 rows or inputs per register: the input is quantized
// exactly as QuantizeInput does (the range scan skipped when the previous
// layer is a sigmoid), the int8 kernels compute the exact int32 sums
// (VNNI's when the CPU has them: sparse for the encoded input, several
// records per weight load for hidden inputs; else MatVecAvx512), and one
// epilogue turns them into the layer's output: scale, bias, activation, the
// store into the workspace and, for the last layer, the squared error. The
// sums are the oracle's; the float parts differ from the layer-by-layer path
// only by rounding: the sigmoid here is 1 / (1 + 2^(-z log2 e)) with 2^f
// from a degree-6 polynomial and the reciprocal from rcp14 plus one Newton
// step (a few ulp where the sigmoid lies in [2^-8, 1 - 2^-8]; Eigen's
// logistic, used by the other path, is a rational approximation of a few
// ulp), and the squared errors are summed in another order.
// inference_network_test bounds the difference.
//
// ForwardFusedBatchAvx512 runs several records stage by stage (quantize
// all, sums of all, epilogue of all) with each record's arithmetic exactly
// as alone, so batch and single scores are equal bit for bit
// (inference_batch_test).
//
// Thread-safety: pure functions of their arguments.
#ifndef DWAE_CORE_INFERENCE_FUSED_H_
#define DWAE_CORE_INFERENCE_FUSED_H_

#include <vector>

#include "core/int8_kernels.h"
#include "core/network.h"

namespace dwae {
namespace inference_internal {

// A sigmoid layer's e^-z from tables, for a record whose input was quantized
// onto [0, 1] (lo = 0, step = 1/255: the encoder's features, a sigmoid
// layer's output). Then z_r = bias_r + c acc_r with c = unit / 255 and acc_r
// an integer with |acc_r| <= offset (255 times the largest row sum of |k|),
// so with a = acc_r + offset in [0, 2^(5 digits)) written in base 32,
//   e^-z_r = row[r] * prod_d digit[d][(a >> 5d) & 31],
// row[r] = e^(-bias_r + c offset), digit[d][j] = e^(-c j 32^d) (each
// computed in double, rounded once): no polynomial and no pre-activation,
// one AVX-512 permute (vpermt2ps, 32 entries) per digit; 3 digits for
// a < 2^15 (a hidden layer of up to 32 inputs at levels +-2), else 4. Every
// partial product lies between e^-(|bias|max + c offset) and
// e^(|bias|max + c offset), which BuildSigmoidTables keeps within e^+-80
// (normal floats). Error: at most 5 rounded factors and 4 products, so e^-z
// within 9 * 2^-24 relative and the sigmoid within 9 * 2^-26 absolute
// before its reciprocal (inference_network_test checks every acc of a
// layer against double precision).
struct SigmoidTables {
  bool usable = false;
  int digits = 0;  // 3 or 4
  int32_t offset = 0;
  std::vector<float> row;  // padded to the row blocks with 1
  float digit[4][32] = {};
};

// One layer in integer form: weight = k * unit.
struct IntLayer {
  PackedLevels levels;
  QuadLevels quads;  // the same levels for the VNNI kernels
  // sum_c k_rc and the bias, per row, zero-padded to row_blocks() * 16 so
  // that the epilogue reads whole registers.
  std::vector<float> row_sums;
  std::vector<float> bias;
  float unit = 0;
  Activation activation = Activation::kSigmoid;
  // The input is known to lie in [0, 1] (a sigmoid layer's output).
  bool unit_range_input = false;
  // max_r sum_c |k_rc|.
  int max_abs_row_sum = 0;
  SigmoidTables sigmoid_tables;
  // Quads the register pass (ForwardTwoLayer) multiplies in the first layer
  // whatever their bytes, before it walks the nonzero ones, for a record
  // passed alone (TwoLayerCall): a multiple of 4, at most
  // quads.padded_quads() (TwoLayerEligible checks it). Set from
  // InferenceNetwork's dense_inputs; speed only, the sums are the same
  // integers.
  int dense_quads = 0;
};

// Fills layer->sigmoid_tables (usable only for a sigmoid layer whose sums
// and bias keep the tables' products within range; else usable = false).
void BuildSigmoidTables(IntLayer* layer);
// For tests: the fused pass's sigmoid of rows [first_row, first_row + 16)
// from the int32 sums acc[0, 16) by the tables (CpuHasFusedForward() and
// layer.sigmoid_tables.usable only).
void SigmoidFromTablesForTesting(const IntLayer& layer, int first_row,
                                 const int32_t* acc, float* y);

// True when this CPU runs ForwardFusedAvx512.
bool CpuHasFusedForward();
// Fills ws->activations (input, hidden outputs, reconstruction) and returns
// the mean squared reconstruction error of `x` (input_dim floats). `ws`
// must hold buffers sized by InferenceNetwork::MakeWorkspace.
float ForwardFusedAvx512(const std::vector<IntLayer>& layers, const float* x,
                         Workspace* ws);

// Records a fused batch call takes at most.
inline constexpr int kMaxFusedBatch = 16;
// ForwardFusedAvx512 of n <= kMaxFusedBatch records at once: scores[i] and
// ws[i] are bit for bit what ForwardFusedAvx512(layers, x[i], ws[i]) gives
// (the same arithmetic per record; only the order of independent work
// changes). The ws[i] are distinct.
void ForwardFusedBatchAvx512(const std::vector<IntLayer>& layers, int n,
                             const float* const* x, Workspace* const* ws,
                             float* scores);
// For tests: true makes the fused pass use the pair-layout AVX-512 kernels
// (what a CPU without VNNI runs) even where VNNI is present, and turns the
// two-layer register pass off (InferenceNetwork then runs the general
// pass); false restores the default. Set it only while no pass runs.
void ForcePairKernelsForTesting(bool force);
bool PairKernelsForced();
// For tests: forces the pair-layout kernels for its lifetime, so that a
// failed ASSERT (which returns) cannot leak the forced state into the tests
// that run after it.
class ScopedForcePairKernels {
 public:
  ScopedForcePairKernels() { ForcePairKernelsForTesting(true); }
  ~ScopedForcePairKernels() { ForcePairKernelsForTesting(false); }
  ScopedForcePairKernels(const ScopedForcePairKernels&) = delete;
  ScopedForcePairKernels& operator=(const ScopedForcePairKernels&) = delete;
};

// The register pass (inference_two_layer.cc) of a network of two sigmoid
// layers whose sigmoid tables are usable, with at most 32 hidden and 128
// output rows and as many outputs as inputs (an autoencoder's), hence at
// most 128 inputs: TwoLayerEligible says whether `layers` is one. Then, on
// a CPU with VNNI (CpuHasVnni()), ForwardTwoLayer gives bit for bit what
// ForwardFusedAvx512 gives (score and ws->activations), keeping the hidden
// layer's outputs and the output layer's sums in registers; for a record
// with inputs outside [0, 1] it runs ForwardFusedAvx512.
// The register pass holds the hidden layer's input in two registers of 16
// quads and broadcasts quad j with a two-register permute (5 bits of j),
// so at most kMaxTwoLayerQuads quads (128 inputs; TwoLayerEligible also
// checks the count, so the bound does not rest on the shapes).
inline constexpr int kMaxTwoLayerQuads = 8 * kInt8RowBlock / 4;
bool TwoLayerEligible(const std::vector<IntLayer>& layers);
// How a record comes to the register pass. Alone, its pass is bound by its
// chain of dependent steps, which the hidden layer's dense quads shorten
// (the nonzero ones are found after the first multiplies, not before); in
// a batch, several records' passes overlap and the dense quads' extra
// multiplies are the cost, so the pass walks every nonzero quad
// (docs/performance.md, issue 13's eighth round: a record alone 7-17 %
// faster with them, a batch 4-6 % slower).
// The same bits either way.
enum class TwoLayerCall { kAlone, kBatch };
float ForwardTwoLayer(const std::vector<IntLayer>& layers, const float* x,
                      Workspace* ws, TwoLayerCall call);
// ForwardTwoLayer of an input x in [0, 1] already quantized into q (at
// least layers[0].levels.padded_inputs() bytes, zero past the inputs), as
// FeatureEncoder::EncodeQuantized writes it: the same bits, without the
// range scan and the quantization.
float ForwardTwoLayerEncoded(const std::vector<IntLayer>& layers,
                             const float* x, const uint8_t* q, Workspace* ws,
                             TwoLayerCall call);

}  // namespace inference_internal
}  // namespace dwae

#endif  // DWAE_CORE_INFERENCE_FUSED_H_
