// dw-shadow (rules.h): every device keeps a float shadow weight that takes
// the plain SGD step (shadow_kernels.h), and a device is pulsed when its
// shadow has moved past a trigger from the level its wall sits at.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "core/device.h"
#include "core/device_rule.h"
#include "core/device_rules.h"
#include "core/shadow_kernels.h"
#include "dwae/v1/checkpoint.pb.h"

namespace dwae::rule_internal {
namespace {

class DwShadowRule final : public DeviceRule {
 public:
  DwShadowRule(const RuleConfig& config, uint64_t seed, Network* net)
      : DeviceRule(config, seed, net) {
    for (int l = 0; l < net->num_layers(); ++l) {
      const DenseLayer& layer = net->layer(l);
      shadow_w_.emplace_back(layer.out(), layer.in());
      shadow_w_.back().Assign(layer.weight);
      shadow_b_.emplace_back(layer.out(), 1);
      shadow_b_.back().Assign(layer.bias.data());
      // Every column is checked once, at the first step.
      pending_.push_back(AllColumns(net->layer(l).in()));
      slack_w_.emplace_back(layer.in(), learn_kernels::kShadowUnchecked);
      slack_b_.push_back(learn_kernels::kShadowUnchecked);
    }
  }

  RuleKind kind() const override { return RuleKind::kDwShadow; }

  // Column j of layer l's shadow weights moves only when its input a_j is
  // non-zero; a column that did not move and held no device waiting for a
  // pulse (pending_) cannot trigger one, so it is skipped. The visited
  // columns take their shadow steps in one kernel call per layer, then the
  // columns with a pulse due write their devices in index order (a column's
  // writes touch no other column), so the write stream is consumed exactly
  // as by a pass over every device. Each column's slack (shadow_kernels.h)
  // skips its trigger test while no device can have reached its trigger.
  void Step(const Workspace& ws, Network* net) override {
    for (int l = 0; l < net->num_layers(); ++l) {
      DenseLayer& layer = net->layer(l);
      const float* delta = ws.deltas[l].data();
      const Eigen::VectorXf& a = ws.activations[l];
      const int rows = layer.out();
      const int inputs = layer.in();
      std::vector<uint64_t>& pending = pending_[l];
      const int n = ActiveInputs(ws, l, &active_);
      if (columns_.size() < size_t(inputs)) {
        columns_.resize(inputs);
        steps_.resize(inputs);
        due_.resize(inputs);
      }
      const int count =
          VisitedColumns(active_.data(), n, pending, inputs, columns_.data());
      for (int c = 0; c < count; ++c) {
        steps_[c] = learning_rate_ * a[columns_[c]];
      }
      SynapseArray& devices = weights_[l];
      const learn_kernels::ShadowParams p = Params(devices);
      const float delta_bound = learn_kernels::ShadowDeltaBound(delta, rows);
      const int dues = learn_kernels::ShadowStepColumns(
          p, columns_.data(), steps_.data(), count, delta, delta_bound,
          devices.notches().data(), &shadow_w_[l], slack_w_[l].data(),
          due_.data());
      // Every visited column leaves pending_ unless a write failed in it.
      std::fill(pending.begin(), pending.end(), 0);
      for (int c = 0; dues > 0 && c < count; ++c) {
        if (due_[c] == 0) continue;
        const size_t offset = size_t(columns_[c]) * rows;
        SetBit(&pending, columns_[c],
               PulseColumn(devices, p, rows, offset,
                           shadow_w_[l].column(columns_[c]),
                           layer.weight.column(columns_[c])));
      }
      SetBit(&pending, inputs,
             FollowColumn(biases_[l], learning_rate_, delta, delta_bound,
                          &shadow_b_[l], &slack_b_[l], layer.bias.data()));
    }
  }

  void SaveExtra(int l, v1::LayerState* out) const override {
    SaveShadow(shadow_w_[l], out->mutable_shadow_weights());
    SaveShadow(shadow_b_[l], out->mutable_shadow_biases());
  }
  absl::Status CheckExtra(int l, const v1::LayerState& in) const override {
    absl::Status s = CheckFloats(in.shadow_weights(), Size(shadow_w_[l]), l,
                                 "shadow_weights");
    if (!s.ok()) return s;
    return CheckFloats(in.shadow_biases(), Size(shadow_b_[l]), l,
                       "shadow_biases");
  }
  void LoadExtra(int l, const v1::LayerState& in) override {
    shadow_w_[l].Assign(in.shadow_weights().data());
    shadow_b_[l].Assign(in.shadow_biases().data());
    pending_[l] = AllColumns(shadow_w_[l].cols());
    std::fill(slack_w_[l].begin(), slack_w_[l].end(),
              learn_kernels::kShadowUnchecked);
    slack_b_[l] = learn_kernels::kShadowUnchecked;
  }

  int64_t state_bytes() const override {
    int64_t bytes = model_bytes();
    for (size_t l = 0; l < shadow_w_.size(); ++l) {
      bytes += (Size(shadow_w_[l]) + Size(shadow_b_[l])) * sizeof(float);
    }
    return bytes;
  }

 private:
  // The shadow-step parameters for the devices of `array`.
  learn_kernels::ShadowParams Params(const SynapseArray& array) const {
    const float alpha = array.alpha();
    const float center = float(config_.device.center());
    return {(center + 0.5f) * alpha, (0.5f + config_.shadow_margin) * alpha,
            center, alpha};
  }

  // One column of `rows` devices (the biases, from 0 of `array`, with their
  // slack): takes the SGD step shadow -= step * delta (skipped when step is
  // 0), clips each shadow weight to the track's range and pulses every
  // device whose nearest level to the shadow differs from where its wall
  // sits by more than the margin (PulseColumn, only when the kernel reports
  // a device to write). Returns whether a device still differs after its
  // pulse (a failed or blocked write), i.e. whether the column must be
  // checked again at the next step even if it does not move.
  bool FollowColumn(SynapseArray& array, float step, const float* delta,
                    float delta_bound, learn_kernels::ShadowMatrix* shadow,
                    double* slack, float* mirror) {
    const learn_kernels::ShadowParams p = Params(array);
    const int column = 0;
    uint8_t due = 0;
    learn_kernels::ShadowStepColumns(p, &column, &step, 1, delta, delta_bound,
                                     array.notches().data(), shadow, slack,
                                     &due);
    return due != 0 &&
           PulseColumn(array, p, shadow->rows(), 0, shadow->column(0), mirror);
  }

  // The scalar pulse pass of one column from `offset` of `array`, after its
  // shadow step (mirror: the column's read-out, its layer's weight column
  // or the biases); returns whether a device still differs after its pulse.
  bool PulseColumn(SynapseArray& array, const learn_kernels::ShadowParams& p,
                   int rows, size_t offset, const float* shadow,
                   float* mirror) {
    const int8_t* notch = array.notches().data() + offset;
    bool still = false;
    for (int i = 0; i < rows; ++i) {
      float gap = learn_kernels::ShadowGap(p, shadow[i], notch[i]);
      if (std::abs(gap) <= p.trigger) continue;
      PulseToward(array, int(offset) + i, gap > 0 ? 1 : -1, mirror + i);
      gap = learn_kernels::ShadowGap(p, shadow[i], notch[i]);
      still = still || std::abs(gap) > p.trigger;
    }
    return still;
  }

  static int Size(const learn_kernels::ShadowMatrix& m) {
    return m.rows() * m.cols();
  }
  static void SaveShadow(const learn_kernels::ShadowMatrix& m,
                         google::protobuf::RepeatedField<float>* out) {
    out->Resize(Size(m), 0.0f);
    m.CopyTo(out->mutable_data());
  }

  // The columns to visit, in increasing order, written to out: the active
  // ones idx[0..n) (increasing) and the pending ones (a set bit below
  // `inputs`: a failed write, rare). Returns how many.
  static int VisitedColumns(const int* idx, int n,
                            const std::vector<uint64_t>& pending, int inputs,
                            int* out) {
    int count = 0, k = 0;
    for (size_t w = 0; w < pending.size(); ++w) {
      for (uint64_t bits = pending[w]; bits != 0; bits &= bits - 1) {
        const int j = int(64 * w) + __builtin_ctzll(bits);
        if (j >= inputs) break;  // the biases' bit
        while (k < n && idx[k] < j) out[count++] = idx[k++];
        if (k < n && idx[k] == j) ++k;
        out[count++] = j;
      }
    }
    std::copy(idx + k, idx + n, out + count);
    return count + n - k;
  }
  static void SetBit(std::vector<uint64_t>* bits, int i, bool value) {
    const uint64_t mask = uint64_t{1} << (i % 64);
    uint64_t& word = (*bits)[i / 64];
    word = value ? word | mask : word & ~mask;
  }
  // All columns of a layer with `inputs` inputs, and its biases, set.
  static std::vector<uint64_t> AllColumns(int inputs) {
    std::vector<uint64_t> bits((inputs + 1 + 63) / 64, 0);
    for (int j = 0; j <= inputs; ++j) SetBit(&bits, j, true);
    return bits;
  }

  // The shadow weights and biases (a column) of every layer; saved packed.
  std::vector<learn_kernels::ShadowMatrix> shadow_w_;
  std::vector<learn_kernels::ShadowMatrix> shadow_b_;
  // Per layer, a bit per input column (and one for the biases, bit in()):
  // set when a device in it still differs from its shadow after the last
  // step.
  std::vector<std::vector<uint64_t>> pending_;
  // Per layer, the slack of every weight column and of the biases
  // (shadow_kernels.h): kShadowUnchecked until tested, after a pulse and
  // after a load.
  std::vector<std::vector<double>> slack_w_;
  std::vector<double> slack_b_;
  // Scratch of one step, kept to avoid allocations: the active inputs, the
  // visited columns, their steps and whether a pulse is due in each.
  std::vector<int> active_;
  std::vector<int> columns_;
  std::vector<float> steps_;
  std::vector<uint8_t> due_;
};

}  // namespace

std::unique_ptr<LearningRule> NewDwShadowRule(const RuleConfig& config,
                                              uint64_t seed, Network* net) {
  return std::make_unique<DwShadowRule>(config, seed, net);
}

}  // namespace dwae::rule_internal
