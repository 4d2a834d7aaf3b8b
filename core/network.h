// The autoencoder's arithmetic: dense layers, forward pass, back-propagation.
//
// A Network is a stack of DenseLayers, input kInputDim wide (or any width),
// hidden layers with a configurable activation and a sigmoid output layer as
// wide as the input. The loss of a record is the mean squared reconstruction
// error; it is also the record's anomaly score. Each layer holds the weight
// values the forward pass reads: for float training the weights themselves,
// for domain-wall training a read-out of what the devices hold (rules.h owns
// the devices and keeps the read-out current).
//
// Back-propagation yields, per layer, the error signal `delta` (dLoss/dz, z
// the pre-activation) and the layer's input `a`: the weight gradient is the
// rank-1 product delta * a^T and the bias gradient is delta. Rules use that
// form directly, which keeps an online step O(nonzeros) on sparse inputs.
//
// Thread-safety: a const Network may be read by many threads at once, each
// with its own Workspace. Mutation needs exclusive access.
#ifndef DWAE_CORE_NETWORK_H_
#define DWAE_CORE_NETWORK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "Eigen/Core"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/cache_aligned.h"
#include "core/padded_matrix.h"

namespace dwae {

enum class Activation { kSigmoid, kRelu, kTanh };

absl::StatusOr<Activation> ParseActivation(absl::string_view name);
const char* ActivationName(Activation activation);

// Applies `activation` to every element of *z in place.
void ApplyActivation(Activation activation, Eigen::VectorXf* z);

// Shape of the autoencoder: input width, hidden widths, hidden activation.
// The output layer always has `input_dim` sigmoid units.
struct NetworkShape {
  int input_dim = 0;
  std::vector<int> hidden = {32};
  Activation hidden_activation = Activation::kSigmoid;

  // "125-32-125" style, e.g. for logs and JSON.
  std::string ToString() const;
  absl::Status Validate() const;
};

// An Eigen view of a layer's weights (columns weight.ld() floats apart).
using WeightMap =
    Eigen::Map<Eigen::MatrixXf, Eigen::Aligned64, Eigen::OuterStride<>>;
using ConstWeightMap =
    Eigen::Map<const Eigen::MatrixXf, Eigen::Aligned64, Eigen::OuterStride<>>;

struct DenseLayer {
  // out x in: column j, at weight.column(j), holds the weights from input j.
  // Padded so that every column starts on a cache line (padded_matrix.h):
  // the forward and backward products of a 125-row layer load whole lines
  // (columns 125 floats apart made most of their loads split two lines).
  PaddedMatrix weight;
  Eigen::VectorXf bias;
  Activation activation = Activation::kSigmoid;

  int in() const { return weight.cols(); }
  int out() const { return weight.rows(); }
  WeightMap weight_map() {
    return WeightMap(weight.data(), out(), in(),
                     Eigen::OuterStride<>(weight.ld()));
  }
  ConstWeightMap weight_map() const {
    return ConstWeightMap(weight.data(), out(), in(),
                          Eigen::OuterStride<>(weight.ld()));
  }
};

// How a Network lays out its weights: kPadded (PaddedMatrix's default
// leading dimension) runs; kPacked (leading dimension = rows) is for tests
// that check that no result depends on the layout.
enum class WeightLayout { kPadded, kPacked };

// Per-call scratch space: activations and error signals of every layer.
struct Workspace {
  // activations[0] is the input, activations[l + 1] the output of layer l.
  std::vector<Eigen::VectorXf> activations;
  // deltas[l] is dLoss/dz of layer l.
  std::vector<Eigen::VectorXf> deltas;
  // After Forward: the indices of the non-zero inputs are
  // active_inputs[0 .. num_active_inputs) (the learning rules read them).
  std::vector<int> active_inputs;
  int num_active_inputs = 0;
  // Scratch of the integer inference path (inference_network.h), sized on
  // first use.
  CacheAlignedBytes quantized;  // starts a cache line
  std::vector<int32_t> accumulators;
};

class Network {
 public:
  // Zero weights and biases of the given shape.
  explicit Network(const NetworkShape& shape,
                   WeightLayout layout = WeightLayout::kPadded);

  const NetworkShape& shape() const { return shape_; }
  int num_layers() const { return static_cast<int>(layers_.size()); }
  DenseLayer& layer(int l) { return layers_[l]; }
  const DenseLayer& layer(int l) const { return layers_[l]; }
  // Weights plus biases.
  int64_t num_parameters() const;

  // A workspace sized for this network.
  Workspace MakeWorkspace() const;

  // Runs the forward pass on `x` (input_dim floats, copied into the
  // workspace) and returns the mean squared reconstruction error.
  float Forward(const float* x, Workspace* ws) const;
  // After Forward on the same workspace: fills ws->deltas. The loss is the
  // reconstruction error against `target` (input_dim floats), or against
  // the input when it is null (a denoising autoencoder passes the clean
  // record as target and a corrupted copy as input).
  void Backward(Workspace* ws, const float* target = nullptr) const;

  // The reconstruction after Forward.
  static const Eigen::VectorXf& Output(const Workspace& ws) {
    return ws.activations.back();
  }

 private:
  NetworkShape shape_;
  std::vector<DenseLayer> layers_;
};

}  // namespace dwae

#endif  // DWAE_CORE_NETWORK_H_
