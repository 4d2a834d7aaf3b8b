// Internal to the learning rules (rules.h): the two domain-wall rules live in
// device_rules.cc (dw-stochastic) and dw_shadow_rule.cc (dw-shadow), on
// DeviceRule (device_rule.h); the float rule and the public entry points in
// rules.cc; this header holds what those files share. Not for use outside
// core/rules*, core/device_rule* and core/dw_shadow_rule.cc.
//
// Thread-safety: as rules.h.
#ifndef DWAE_CORE_DEVICE_RULES_H_
#define DWAE_CORE_DEVICE_RULES_H_

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "core/network.h"
#include "core/rules.h"
#include "dwae/v1/checkpoint.pb.h"

namespace dwae::rule_internal {

// Seeds for the independent random streams of one run.
inline constexpr uint64_t kInitStream = 1;
inline constexpr uint64_t kWriteStream = 2;
inline constexpr uint64_t kFabricationStream = 3;

// PyTorch's default initialization bound for a layer with `fan_in` inputs.
float InitBound(int fan_in);

// The rule name, step count and layer shapes every rule's state starts with.
void SaveCommon(RuleKind kind, float learning_rate, uint64_t steps,
                const Network& net, v1::RuleState* state);
// The rule's name and every layer's shape must match.
absl::Status CheckCommon(const v1::RuleState& state, RuleKind kind,
                         const Network& net);

// `config` is valid (RuleConfig::Validate).
std::unique_ptr<LearningRule> NewDwShadowRule(const RuleConfig& config,
                                              uint64_t seed, Network* net);
std::unique_ptr<LearningRule> NewDwStochasticRule(const RuleConfig& config,
                                                  uint64_t seed, Network* net);

}  // namespace dwae::rule_internal

#endif  // DWAE_CORE_DEVICE_RULES_H_
