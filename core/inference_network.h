// InferenceNetwork: a frozen copy of a Network for scoring, with integer
// kernels when the weights are domain-wall device levels.
//
// Built from a Network, it checks each layer: when every weight is an exact
// integer multiple k * unit of one spacing with |k| <= kMaxInt8Level (what
// the dw rules' devices hold without fabrication spread), the layer runs on
// int8 weights; otherwise (float training, level_sigma > 0) the whole
// network keeps the float path of Network::Forward.
//
// Integer path of one layer with input v (n floats):
//   range   [lo, hi] = [min(0, min v), max(1, max v)], s = (hi - lo) / 255
//   input   q_c = round((v_c - lo) / s), unsigned 8 bits
//   product acc_r = sum_c k_rc * q_c, int32 (int8_kernels.h)
//   output  z_r = bias_r + unit * (lo * sum_c k_rc + s * acc_r)
// then the layer's activation in float. The encoder's features lie in
// [0, 1] and sigmoid outputs in (0, 1), so s is 1/255 on the default model:
// an input is off by at most 1/510 (what a crossbar's 8-bit ADC would give).
// The score is the mean squared error between the float input and the
// reconstruction, as on the float path; the two paths' scores agree within
// the tolerance measured in docs/performance.md.
//
// Forward() fills ws->activations like Network::Forward (input, hidden
// outputs, reconstruction), so per-dimension errors read the same way. On a
// CPU with AVX-512 it runs the fused pass of inference_fused.h (same integer
// sums, float epilogue equal up to rounding); ForwardLayered() is the
// layer-by-layer path that every other CPU runs, kept callable for tests.
// A workspace from MakeWorkspace() holds every buffer, so a Forward call
// does not allocate.
//
// Thread-safety: immutable after construction; Forward() may run on many
// threads at once, each with its own Workspace.
#ifndef DWAE_CORE_INFERENCE_NETWORK_H_
#define DWAE_CORE_INFERENCE_NETWORK_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "Eigen/Core"
#include "core/inference_fused.h"
#include "core/int8_kernels.h"
#include "core/network.h"

namespace dwae {

class InferenceNetwork {
 public:
  // `dense_inputs`: how many leading inputs are usually nonzero (an
  // encoder's numeric features, FeatureEncoder::num_numeric()). For a
  // record scored alone (Forward, ForwardEncoded, a batch of one), the
  // two-layer register pass multiplies their quads without first finding
  // the nonzero ones, which shortens the record's chain of dependent steps
  // (inference_fused.h, TwoLayerCall). Speed only: every score and
  // activation is the same bits whatever it is.
  explicit InferenceNetwork(const Network& network, int dense_inputs = 0);

  const Network& network() const { return network_; }
  const NetworkShape& shape() const { return network_.shape(); }
  // True when the integer kernels run.
  bool integer() const { return !layers_.empty(); }

  // A workspace with the integer path's buffers sized.
  Workspace MakeWorkspace() const;
  // Mean squared reconstruction error of `x` (input_dim floats).
  float Forward(const float* x, Workspace* ws) const;
  // Forward() of n records at once: scores[i] = Forward(x[i], ws[i]) bit for
  // bit, with ws[i] filled the same way (the ws[i] distinct). On the fused
  // path the records go through each stage together (batched kernels,
  // inference_fused.h); elsewhere one after another.
  void ForwardBatch(int n, const float* const* x, Workspace* const* ws,
                    float* scores) const;
  // Forward() of an encoded record: x (input_dim floats in [0, 1]) and q,
  // the bytes FeatureEncoder::EncodeQuantized writes for it (x quantized
  // onto [0, 1], zero up to encoded_bytes()). The same score and
  // ws->activations bit for bit (ws->quantized may differ: the register
  // pass never fills it); where the two-layer register pass runs it starts
  // from q (no range scan, no quantization), elsewhere this is Forward(x).
  float ForwardEncoded(const float* x, const uint8_t* q, Workspace* ws) const;
  // ForwardBatch() of encoded records, as ForwardEncoded() each.
  void ForwardEncodedBatch(int n, const float* const* x,
                           const uint8_t* const* q, Workspace* const* ws,
                           float* scores) const;
  // Bytes of q that ForwardEncoded reads (0 for the float path).
  int encoded_bytes() const;
  // The layer-by-layer integer path (or the float path), whatever the CPU.
  float ForwardLayered(const float* x, Workspace* ws) const;
  // True when Forward() runs the fused AVX-512 pass.
  bool fused() const { return fused_; }
  // True when it runs the two-layer register pass (inference_fused.h,
  // ForwardTwoLayer) of the fused pass.
  bool two_layer() const;

 private:
  using IntLayer = inference_internal::IntLayer;
  // The integer form of `layer`, or false when its weights are not levels.
  static bool Quantize(const DenseLayer& layer, IntLayer* out);
  // Sizes the integer buffers of a workspace made by the Network.
  void FitWorkspace(Workspace* ws) const;
  void ForwardLayer(int l, const Eigen::VectorXf& in, Workspace* ws,
                    Eigen::VectorXf* z) const;

  Network network_;
  std::vector<IntLayer> layers_;  // empty: the float path
  bool fused_ = false;
  bool two_layer_ = false;  // ForwardTwoLayer runs when pairs are not forced
  // Integer-path buffer sizes (Workspace::quantized, accumulators).
  size_t quantized_size_ = 0, accumulators_size_ = 0;
};

// One input vector quantized as described above: writes n bytes to q (then
// zeros up to padded_n) and returns {lo, s}. The scalar loop is the
// reference; it vectorizes.
struct QuantizedRange {
  float lo;
  float step;
};
// `unit_range`: the caller knows v lies in [0, 1] (sigmoid outputs), so the
// scan for the range is skipped.
QuantizedRange QuantizeInput(const float* v, int n, int padded_n, uint8_t* q,
                             bool unit_range = false);

}  // namespace dwae

#endif  // DWAE_CORE_INFERENCE_NETWORK_H_
