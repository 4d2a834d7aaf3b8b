// Ensemble: checkpoint state and descriptions of the members (ensemble.h).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/ensemble.h"

namespace dwae {

void Ensemble::SaveMembers(
    google::protobuf::RepeatedPtrField<v1::EnsembleMemberState>* out) const {
  for (const Member& m : members_) {
    v1::EnsembleMemberState* state = out->Add();
    state->mutable_dims()->Add(m.dims.begin(), m.dims.end());
    m.model->SaveState(state->mutable_rule());
    state->mutable_inv_scale()->Add(m.inv_scale.begin(), m.inv_scale.end());
    if (m.weight != 1.0f) state->set_weight(m.weight);
  }
}

absl::Status Ensemble::LoadMembers(
    const google::protobuf::RepeatedPtrField<v1::EnsembleMemberState>& in) {
  if (in.size() != int(members_.size())) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%d members saved, the layout has %d", in.size(), members_.size()));
  }
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& m = members_[i];
    const v1::EnsembleMemberState& state = in[int(i)];
    const auto error = [i](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("member ", i, ": ", why));
    };
    if (!std::equal(state.dims().begin(), state.dims().end(), m.dims.begin(),
                    m.dims.end())) {
      return error("dimensions differ from the layout");
    }
    if (absl::Status s = m.model->LoadState(state.rule()); !s.ok()) {
      return error(s.message());
    }
    const int width = m.model->network().shape().input_dim;
    if (state.inv_scale_size() != 0 && state.inv_scale_size() != width) {
      return error(absl::StrFormat("%d scales for %d dimensions",
                                   state.inv_scale_size(), width));
    }
    for (float v : state.inv_scale()) {
      if (!(v > 0 && std::isfinite(v))) return error("a scale is not > 0");
    }
    m.inv_scale.assign(state.inv_scale().begin(), state.inv_scale().end());
    const float w = state.weight() == 0 ? 1.0f : state.weight();
    if (!(w > 0 && std::isfinite(w))) return error("weight is not > 0");
    m.weight = w;
  }
  return absl::OkStatus();
}

std::vector<LayerDeviceCounters> Ensemble::layer_device_counters() const {
  std::vector<LayerDeviceCounters> total;
  for (const Member& m : members_) {
    const std::vector<LayerDeviceCounters> layers =
        m.model->rule().device_counters();
    if (total.size() < layers.size()) total.resize(layers.size());
    for (size_t l = 0; l < layers.size(); ++l) {
      total[l].weights += layers[l].weights;
      total[l].biases += layers[l].biases;
    }
  }
  return total;
}

std::string Ensemble::ShapeString() const {
  if (members_.size() == 1)
    return members_[0].model->network().shape().ToString();
  std::string s = absl::StrCat("k", options_.members, " x ");
  if (members_[0].dims.empty()) {
    return absl::StrCat(s, members_[0].model->network().shape().ToString());
  }
  std::vector<std::string> shapes;
  for (size_t i = 0; i < members_.size(); i += options_.members) {
    shapes.push_back(members_[i].model->network().shape().ToString());
  }
  return absl::StrCat(s, "(", absl::StrJoin(shapes, ", "), ")");
}

}  // namespace dwae
