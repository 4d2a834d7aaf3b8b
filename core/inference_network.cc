#include "core/inference_network.h"

#include <algorithm>
#include <cmath>

#include "core/int8_kernels.h"

namespace dwae {
namespace {

// Relative distance from a level below which a weight counts as on it: the
// devices' float read-out of (notch - center) * alpha rounds once.
constexpr float kLevelTolerance = 1e-4f;

using inference_internal::TwoLayerCall;

// A batch of one is a record alone (the unary Score call's path).
TwoLayerCall CallFor(int n) {
  return n == 1 ? TwoLayerCall::kAlone : TwoLayerCall::kBatch;
}

}  // namespace

QuantizedRange QuantizeInput(const float* v, int n, int padded_n, uint8_t* q,
                             bool unit_range) {
  float lo = 0.0f, hi = 1.0f;
  if (!unit_range) {
    const Eigen::Map<const Eigen::ArrayXf> values(v, n);
    lo = std::min(lo, values.minCoeff());
    hi = std::max(hi, values.maxCoeff());
  }
  const float step = (hi - lo) / 255.0f;
  const float inv = 255.0f / (hi - lo);
  for (int c = 0; c < n; ++c) {
    // v - lo >= 0, so truncating after +0.5 rounds to nearest.
    q[c] = static_cast<uint8_t>((v[c] - lo) * inv + 0.5f);
  }
  std::fill(q + n, q + padded_n, uint8_t{0});
  return {lo, step};
}

bool InferenceNetwork::Quantize(const DenseLayer& layer, IntLayer* out) {
  const int rows = layer.out(), cols = layer.in();
  float unit = 0;
  for (int c = 0; c < cols; ++c) {
    for (int r = 0; r < rows; ++r) {
      const float a = std::abs(layer.weight(r, c));
      if (a > 0 && (unit == 0 || a < unit)) unit = a;
    }
  }
  if (!std::isfinite(unit)) return false;
  if (unit == 0) unit = 1;                     // all weights zero
  std::vector<int8_t> k(size_t(rows) * cols);  // row-major
  std::vector<int> abs_row_sums(rows, 0);
  out->row_sums.assign(rows, 0.0f);
  out->unit = unit;
  for (int c = 0; c < cols; ++c) {
    for (int r = 0; r < rows; ++r) {
      const float ratio = layer.weight(r, c) / unit;
      const float level = std::round(ratio);
      if (!(std::abs(level) <= kMaxInt8Level) ||
          std::abs(ratio - level) > kLevelTolerance) {
        return false;
      }
      k[size_t(r) * cols + c] = static_cast<int8_t>(level);
      out->row_sums[r] += level;
      abs_row_sums[r] += std::abs(static_cast<int>(level));
    }
  }
  out->max_abs_row_sum =
      rows == 0 ? 0
                : *std::max_element(abs_row_sums.begin(), abs_row_sums.end());
  out->levels = PackedLevels(k.data(), rows, cols);
  out->quads = QuadLevels(k.data(), rows, cols);
  const size_t padded_rows = size_t(out->levels.row_blocks()) * kInt8RowBlock;
  out->row_sums.resize(padded_rows, 0.0f);
  out->bias.assign(padded_rows, 0.0f);
  std::copy(layer.bias.data(), layer.bias.data() + rows, out->bias.begin());
  out->activation = layer.activation;
  inference_internal::BuildSigmoidTables(out);
  return true;
}

InferenceNetwork::InferenceNetwork(const Network& network, int dense_inputs)
    : network_(network) {
  std::vector<IntLayer> layers(network.num_layers());
  for (int l = 0; l < network.num_layers(); ++l) {
    if (!Quantize(network.layer(l), &layers[l])) return;
    // Outputs of a sigmoid layer lie in [0, 1].
    layers[l].unit_range_input =
        l > 0 && network.layer(l - 1).activation == Activation::kSigmoid;
  }
  if (!layers.empty()) {
    // Whole groups of 4 quads (the register pass's chains), rounded up.
    const int padded_quads = layers[0].quads.padded_quads();
    const int inputs = std::clamp(dense_inputs, 0, 4 * padded_quads);
    layers[0].dense_quads = std::min((inputs + 15) / 16 * 4, padded_quads);
  }
  layers_ = std::move(layers);
  fused_ = inference_internal::CpuHasFusedForward();
  two_layer_ =
      fused_ && CpuHasVnni() && inference_internal::TwoLayerEligible(layers_);
  for (const IntLayer& layer : layers_) {
    const PackedLevels& k = layer.levels;
    quantized_size_ = std::max(quantized_size_, size_t(k.padded_inputs()));
    accumulators_size_ =
        std::max(accumulators_size_, size_t(k.row_blocks()) * kInt8RowBlock +
                                         size_t(k.scratch_size()));
  }
}

void InferenceNetwork::FitWorkspace(Workspace* ws) const {
  // A workspace made by the Network rather than by MakeWorkspace().
  if (ws->quantized.size() < quantized_size_) {
    ws->quantized.resize(quantized_size_);
  }
  if (ws->accumulators.size() < accumulators_size_) {
    ws->accumulators.resize(accumulators_size_);
  }
}

Workspace InferenceNetwork::MakeWorkspace() const {
  Workspace ws = network_.MakeWorkspace();
  ws.quantized.resize(quantized_size_);
  ws.accumulators.resize(accumulators_size_);
  return ws;
}

void InferenceNetwork::ForwardLayer(int l, const Eigen::VectorXf& in,
                                    Workspace* ws, Eigen::VectorXf* z) const {
  const IntLayer& layer = layers_[l];
  const PackedLevels& k = layer.levels;
  const size_t out_size = size_t(k.row_blocks()) * kInt8RowBlock;
  if (ws->quantized.size() < size_t(k.padded_inputs())) {
    ws->quantized.resize(k.padded_inputs());
  }
  if (ws->accumulators.size() < out_size + k.scratch_size()) {
    ws->accumulators.resize(out_size + k.scratch_size());
  }
  const QuantizedRange range =
      QuantizeInput(in.data(), k.cols(), k.padded_inputs(),
                    ws->quantized.data(), layer.unit_range_input);
  int32_t* acc = ws->accumulators.data();
  MatVec(k, ws->quantized.data(), acc + out_size, acc);
  const float offset = layer.unit * range.lo;
  const float scale = layer.unit * range.step;
  const float* bias = layer.bias.data();
  const float* row_sums = layer.row_sums.data();
  float* out = z->data();
  for (int r = 0; r < k.rows(); ++r) {
    out[r] = bias[r] + (offset * row_sums[r] + scale * float(acc[r]));
  }
  if (layer.activation == Activation::kSigmoid) {
    // Eigen's rational approximation (a few ulp), no exp.
    z->array() = z->array().logistic();
  } else {
    ApplyActivation(layer.activation, z);
  }
}

float InferenceNetwork::Forward(const float* x, Workspace* ws) const {
  if (fused_) {
    FitWorkspace(ws);
    if (two_layer()) {
      return inference_internal::ForwardTwoLayer(layers_, x, ws,
                                                 TwoLayerCall::kAlone);
    }
    return inference_internal::ForwardFusedAvx512(layers_, x, ws);
  }
  return ForwardLayered(x, ws);
}

float InferenceNetwork::ForwardEncoded(const float* x, const uint8_t* q,
                                       Workspace* ws) const {
  if (!two_layer()) return Forward(x, ws);
  // The register pass from the bytes uses only ws->activations (no integer
  // buffers), which every workspace of the network has.
  return inference_internal::ForwardTwoLayerEncoded(layers_, x, q, ws,
                                                    TwoLayerCall::kAlone);
}

void InferenceNetwork::ForwardEncodedBatch(int n, const float* const* x,
                                           const uint8_t* const* q,
                                           Workspace* const* ws,
                                           float* scores) const {
  if (!two_layer()) {
    ForwardBatch(n, x, ws, scores);
    return;
  }
  for (int i = 0; i < n; ++i) {
    scores[i] = inference_internal::ForwardTwoLayerEncoded(layers_, x[i], q[i],
                                                           ws[i], CallFor(n));
  }
}

int InferenceNetwork::encoded_bytes() const {
  return layers_.empty() ? 0 : layers_[0].levels.padded_inputs();
}

bool InferenceNetwork::two_layer() const {
  return two_layer_ && !inference_internal::PairKernelsForced();
}

void InferenceNetwork::ForwardBatch(int n, const float* const* x,
                                    Workspace* const* ws, float* scores) const {
  if (!fused_) {
    for (int i = 0; i < n; ++i) scores[i] = ForwardLayered(x[i], ws[i]);
    return;
  }
  for (int i = 0; i < n; ++i) FitWorkspace(ws[i]);
  if (two_layer()) {
    for (int i = 0; i < n; ++i) {
      scores[i] =
          inference_internal::ForwardTwoLayer(layers_, x[i], ws[i], CallFor(n));
    }
    return;
  }
  for (int first = 0; first < n; first += inference_internal::kMaxFusedBatch) {
    const int count = std::min(n - first, inference_internal::kMaxFusedBatch);
    inference_internal::ForwardFusedBatchAvx512(layers_, count, x + first,
                                                ws + first, scores + first);
  }
}

float InferenceNetwork::ForwardLayered(const float* x, Workspace* ws) const {
  if (layers_.empty()) return network_.Forward(x, ws);
  const int dim = network_.shape().input_dim;
  ws->activations[0] = Eigen::Map<const Eigen::VectorXf>(x, dim);
  for (int l = 0; l < int(layers_.size()); ++l) {
    ForwardLayer(l, ws->activations[l], ws, &ws->activations[l + 1]);
  }
  return (ws->activations.back() - ws->activations[0]).squaredNorm() /
         static_cast<float>(dim);
}

}  // namespace dwae
