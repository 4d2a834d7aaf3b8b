#include "core/network.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/learn_kernels.h"

namespace dwae {

void ApplyActivation(Activation activation, Eigen::VectorXf* z) {
  switch (activation) {
    case Activation::kSigmoid:
      learn_kernels::Sigmoid(z->data(), int(z->size()));
      break;
    case Activation::kRelu:
      *z = z->cwiseMax(0.0f);
      break;
    case Activation::kTanh:
      *z = z->array().tanh().matrix();
      break;
  }
}

namespace {

// Multiplies *delta (dLoss/dy) by dy/dz, written in terms of the output y.
void ScaleByDerivative(Activation activation, const Eigen::VectorXf& y,
                       Eigen::VectorXf* delta) {
  switch (activation) {
    case Activation::kSigmoid:
      delta->array() *= y.array() * (1.0f - y.array());
      break;
    case Activation::kRelu:
      delta->array() *= (y.array() > 0.0f).cast<float>();
      break;
    case Activation::kTanh:
      delta->array() *= 1.0f - y.array().square();
      break;
  }
}

}  // namespace

absl::StatusOr<Activation> ParseActivation(absl::string_view name) {
  if (name == "sigmoid") return Activation::kSigmoid;
  if (name == "relu") return Activation::kRelu;
  if (name == "tanh") return Activation::kTanh;
  return absl::InvalidArgumentError(absl::StrCat(
      "activation: unknown '", name, "' (expected sigmoid, relu or tanh)"));
}

const char* ActivationName(Activation activation) {
  switch (activation) {
    case Activation::kSigmoid:
      return "sigmoid";
    case Activation::kRelu:
      return "relu";
    case Activation::kTanh:
      return "tanh";
  }
  return "?";
}

std::string NetworkShape::ToString() const {
  return absl::StrCat(input_dim, "-", absl::StrJoin(hidden, "-"), "-",
                      input_dim);
}

absl::Status NetworkShape::Validate() const {
  if (input_dim <= 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("model.input_dim: %d must be positive", input_dim));
  }
  if (hidden.empty()) {
    return absl::InvalidArgumentError(
        "model.hidden: at least one hidden layer is required");
  }
  for (int width : hidden) {
    if (width <= 0 || width > 4096) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "model.hidden: width %d is outside [1, 4096]", width));
    }
  }
  return absl::OkStatus();
}

Network::Network(const NetworkShape& shape, WeightLayout layout)
    : shape_(shape) {
  auto weights = [layout](int rows, int cols) {
    return layout == WeightLayout::kPacked ? PaddedMatrix(rows, cols, rows)
                                           : PaddedMatrix(rows, cols);
  };
  int in = shape.input_dim;
  for (int width : shape.hidden) {
    layers_.push_back({weights(width, in), Eigen::VectorXf::Zero(width),
                       shape.hidden_activation});
    in = width;
  }
  layers_.push_back({weights(shape.input_dim, in),
                     Eigen::VectorXf::Zero(shape.input_dim),
                     Activation::kSigmoid});
}

int64_t Network::num_parameters() const {
  int64_t n = 0;
  for (const DenseLayer& layer : layers_) {
    n += layer.weight.size() + layer.bias.size();
  }
  return n;
}

Workspace Network::MakeWorkspace() const {
  Workspace ws;
  ws.activations.emplace_back(shape_.input_dim);
  ws.active_inputs.resize(shape_.input_dim);
  for (const DenseLayer& layer : layers_) {
    ws.activations.emplace_back(layer.out());
    ws.deltas.emplace_back(layer.out());
  }
  return ws;
}

float Network::Forward(const float* x, Workspace* ws) const {
  ws->activations[0] = Eigen::Map<const Eigen::VectorXf>(x, shape_.input_dim);
  for (size_t l = 0; l < layers_.size(); ++l) {
    const DenseLayer& layer = layers_[l];
    const Eigen::VectorXf& in = ws->activations[l];
    Eigen::VectorXf& z = ws->activations[l + 1];
    if (l == 0) {
      // Only the non-zero inputs' columns (most of a one-hot encoded record
      // is zero).
      std::vector<int>& active = ws->active_inputs;
      active.resize(layer.in());
      const int n =
          learn_kernels::NonZeroIndices(in.data(), layer.in(), active.data());
      ws->num_active_inputs = n;
      z = layer.bias;
      learn_kernels::AccumulateColumns(layer.weight.data(), layer.out(),
                                       layer.weight.ld(), active.data(), n,
                                       in.data(), z.data());
    } else {
      learn_kernels::DenseForward(layer.weight.data(), layer.out(),
                                  layer.weight.ld(), layer.in(), in.data(),
                                  layer.bias.data(), z.data());
    }
    ApplyActivation(layer.activation, &z);
  }
  return (ws->activations.back() - ws->activations[0]).squaredNorm() /
         static_cast<float>(shape_.input_dim);
}

void Network::Backward(Workspace* ws, const float* target) const {
  const int last = num_layers() - 1;
  const float scale = 2.0f / static_cast<float>(shape_.input_dim);
  // The output layer is a sigmoid layer (the constructor): its delta
  // ((y - t) * scale) * (y * (1 - y)) in one pass, the same operations on
  // each element as the two Eigen passes (error, then derivative) it
  // replaces, so the same bits.
  const Eigen::VectorXf& y = ws->activations.back();
  const float* t = target != nullptr ? target : ws->activations[0].data();
  float* d = ws->deltas[last].data();
  for (int i = 0; i < shape_.input_dim; ++i) {
    d[i] = ((y[i] - t[i]) * scale) * (y[i] * (1.0f - y[i]));
  }
  for (int l = last; l > 0; --l) {
    // delta_(l-1) = W_l^T delta_l times the derivative of layer l - 1's
    // activation (taken in the product's last step for a sigmoid).
    const DenseLayer& layer = layers_[l];
    const Activation below = layers_[l - 1].activation;
    if (below == Activation::kSigmoid) {
      learn_kernels::TransposedProductSigmoid(
          layer.weight.data(), layer.out(), layer.weight.ld(), layer.in(),
          ws->deltas[l].data(), ws->activations[l].data(),
          ws->deltas[l - 1].data());
    } else {
      learn_kernels::TransposedProduct(
          layer.weight.data(), layer.out(), layer.weight.ld(), layer.in(),
          ws->deltas[l].data(), ws->deltas[l - 1].data());
      ScaleByDerivative(below, ws->activations[l], &ws->deltas[l - 1]);
    }
  }
}

}  // namespace dwae
