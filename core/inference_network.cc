#include "core/inference_network.h"

#include <algorithm>
#include <cmath>

#include "core/int8_kernels.h"

namespace dwae {
namespace {

// Relative distance from a level below which a weight counts as on it: the
// devices' float read-out of (notch - center) * alpha rounds once.
constexpr float kLevelTolerance = 1e-4f;

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
  const float* w = layer.weight.data();  // column-major
  float unit = 0;
  for (int i = 0; i < rows * cols; ++i) {
    const float a = std::abs(w[i]);
    if (a > 0 && (unit == 0 || a < unit)) unit = a;
  }
  if (!std::isfinite(unit)) return false;
  if (unit == 0) unit = 1;                     // all weights zero
  std::vector<int8_t> k(size_t(rows) * cols);  // row-major
  out->row_sums.assign(rows, 0.0f);
  out->unit = unit;
  for (int c = 0; c < cols; ++c) {
    for (int r = 0; r < rows; ++r) {
      const float ratio = w[size_t(c) * rows + r] / unit;
      const float level = std::round(ratio);
      if (!(std::abs(level) <= kMaxInt8Level) ||
          std::abs(ratio - level) > kLevelTolerance) {
        return false;
      }
      k[size_t(r) * cols + c] = static_cast<int8_t>(level);
      out->row_sums[r] += level;
    }
  }
  out->levels = PackedLevels(k.data(), rows, cols);
  return true;
}

InferenceNetwork::InferenceNetwork(const Network& network) : network_(network) {
  std::vector<IntLayer> layers(network.num_layers());
  for (int l = 0; l < network.num_layers(); ++l) {
    if (!Quantize(network.layer(l), &layers[l])) return;
  }
  layers_ = std::move(layers);
}

void InferenceNetwork::ForwardLayer(int l, const Eigen::VectorXf& in,
                                    Workspace* ws, Eigen::VectorXf* z) const {
  const IntLayer& layer = layers_[l];
  const PackedLevels& k = layer.levels;
  const size_t out_size = size_t(k.row_blocks()) * kInt8RowBlock;
  if (ws->quantized.size() < size_t(k.padded_inputs())) {
    ws->quantized.resize(k.padded_inputs());
  }
  if (ws->accumulators.size() < out_size + 2 * k.pairs()) {
    ws->accumulators.resize(out_size + 2 * k.pairs());
  }
  // Outputs of a sigmoid layer lie in [0, 1].
  const bool unit_range =
      l > 0 && network_.layer(l - 1).activation == Activation::kSigmoid;
  const QuantizedRange range = QuantizeInput(
      in.data(), k.cols(), k.padded_inputs(), ws->quantized.data(), unit_range);
  int32_t* acc = ws->accumulators.data();
  MatVec(k, ws->quantized.data(), acc + out_size, acc);
  const DenseLayer& dense = network_.layer(l);
  const float offset = layer.unit * range.lo;
  const float scale = layer.unit * range.step;
  const float* bias = dense.bias.data();
  const float* row_sums = layer.row_sums.data();
  float* out = z->data();
  for (int r = 0; r < k.rows(); ++r) {
    out[r] = bias[r] + (offset * row_sums[r] + scale * float(acc[r]));
  }
  if (dense.activation == Activation::kSigmoid) {
    // Eigen's rational approximation (a few ulp), no exp.
    z->array() = z->array().logistic();
  } else {
    ApplyActivation(dense.activation, z);
  }
}

float InferenceNetwork::Forward(const float* x, Workspace* ws) const {
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
