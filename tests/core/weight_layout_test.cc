// The padded weight layout (network.h, padded_matrix.h) changes no result:
// every rule trains a padded network and a packed one (leading dimension =
// rows, the layout before padding, which the kernels ran on) from the same
// seed on the same records, and after every step the losses, and every 50
// steps the weights, biases and whole saved rule state (devices, write
// stream, shadow weights, Adam moments) must agree bit for bit. Halfway, a
// third, packed, network loads the padded one's checkpoint and must follow
// the same trajectory. A writer that indexed the padded weights as packed
// (a pulse, SyncLayer, Adam, a checkpoint load) would make them differ. The
// float rule is also checked against its Adam step as it ran on an Eigen
// matrix before the padding.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "Eigen/Core"
#include "core/network.h"
#include "core/rng.h"
#include "core/rules.h"
#include "dwae/v1/checkpoint.pb.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

uint32_t Bits(float x) {
  uint32_t b;
  std::memcpy(&b, &x, sizeof(b));
  return b;
}

// One-hot-like records: most inputs 0, some 1, the rest in (0, 1).
std::vector<float> Records(int dim, int n) {
  Rng rng(4242);
  std::vector<float> rows(size_t(dim) * n);
  for (float& v : rows) {
    const double u = rng.Uniform();
    v = u < 0.7 ? 0.0f : u < 0.8 ? 1.0f : float(rng.Uniform());
  }
  return rows;
}

void ExpectSameNetwork(const Network& a, const Network& b,
                       const std::string& where) {
  for (int l = 0; l < a.num_layers(); ++l) {
    const DenseLayer& x = a.layer(l);
    const DenseLayer& y = b.layer(l);
    for (int j = 0; j < x.in(); ++j) {
      for (int i = 0; i < x.out(); ++i) {
        ASSERT_EQ(Bits(x.weight(i, j)), Bits(y.weight(i, j)))
            << where << " layer " << l << " weight " << i << ", " << j;
      }
    }
    for (int i = 0; i < x.out(); ++i) {
      ASSERT_EQ(Bits(x.bias[i]), Bits(y.bias[i]))
          << where << " layer " << l << " bias " << i;
    }
  }
}

std::string SavedState(const LearningRule& rule, const Network& net) {
  v1::RuleState state;
  rule.SaveState(net, 0, &state);
  return state.SerializeAsString();
}

struct Learner {
  Learner(const RuleConfig& config, uint64_t seed, const NetworkShape& shape,
          WeightLayout layout)
      : net(shape, layout), ws(net.MakeWorkspace()) {
    absl::StatusOr<std::unique_ptr<LearningRule>> r =
        CreateRule(config, seed, &net);
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok()) rule = *std::move(r);
  }
  float Learn(const float* x) {
    const float loss = net.Forward(x, &ws);
    net.Backward(&ws);
    rule->Step(ws, &net);
    return loss;
  }
  Network net;
  Workspace ws;
  std::unique_ptr<LearningRule> rule;
};

void CheckSameTrajectories(RuleKind kind, const NetworkShape& shape) {
  constexpr int kSteps = 400;
  constexpr int kRecords = 97;
  const std::vector<float> rows = Records(shape.input_dim, kRecords);
  RuleConfig config;
  config.kind = kind;
  Learner padded(config, 7, shape, WeightLayout::kPadded);
  Learner packed(config, 7, shape, WeightLayout::kPacked);
  ASSERT_NE(padded.rule, nullptr);
  ASSERT_NE(packed.rule, nullptr);
  const DenseLayer& last = padded.net.layer(padded.net.num_layers() - 1);
  ASSERT_NE(last.weight.ld(), last.out())
      << "the shape must make the layouts differ";
  // Learners of both layouts loaded from the padded one's checkpoint: the
  // padded load is the daemon's, the packed one the layout it replaced.
  std::vector<std::unique_ptr<Learner>> loaded;
  for (int step = 0; step < kSteps; ++step) {
    const float* x = &rows[size_t(step % kRecords) * shape.input_dim];
    const float want = packed.Learn(x);
    ASSERT_EQ(Bits(want), Bits(padded.Learn(x))) << "step " << step;
    for (size_t k = 0; k < loaded.size(); ++k) {
      ASSERT_EQ(Bits(want), Bits(loaded[k]->Learn(x)))
          << "loaded " << k << ", step " << step;
    }
    if (step % 50 == 49) {
      const std::string where = "step " + std::to_string(step);
      ExpectSameNetwork(packed.net, padded.net, where);
      ASSERT_EQ(SavedState(*packed.rule, packed.net),
                SavedState(*padded.rule, padded.net))
          << where;
      for (size_t k = 0; k < loaded.size(); ++k) {
        ExpectSameNetwork(packed.net, loaded[k]->net,
                          "loaded " + std::to_string(k) + ", " + where);
        ASSERT_EQ(SavedState(*packed.rule, packed.net),
                  SavedState(*loaded[k]->rule, loaded[k]->net))
            << "loaded " << k << ", " << where;
      }
    }
    if (step == kSteps / 2) {  // learners from the padded checkpoint
      v1::RuleState state;
      padded.rule->SaveState(padded.net, step + 1, &state);  // steps done
      for (WeightLayout layout :
           {WeightLayout::kPacked, WeightLayout::kPadded}) {
        loaded.push_back(std::make_unique<Learner>(config, 99, shape, layout));
        ASSERT_TRUE(
            loaded.back()->rule->LoadState(state, &loaded.back()->net).ok());
        ExpectSameNetwork(padded.net, loaded.back()->net, "after the load");
      }
    }
  }
  // The rule did learn: weights moved (pulses for the device rules).
  if (kind != RuleKind::kFloat) {
    EXPECT_GT(padded.rule->weight_updates(), 0u);
  }
}

// The float rule's Adam step as it ran before the padding, on an Eigen
// matrix (32-byte aligned, columns `rows` floats apart): which elements
// Eigen's packets take (whose fast-math sqrt rounds unlike std::sqrt)
// depends on that layout, so the padded rule must reproduce it.
class OldAdam {
 public:
  explicit OldAdam(const Network& net) {
    for (int l = 0; l < net.num_layers(); ++l) {
      const DenseLayer& layer = net.layer(l);
      Eigen::MatrixXf w(layer.out(), layer.in());
      layer.weight.CopyTo(w.data());
      weights_.push_back(w);
      const int r = layer.out(), c = layer.in();
      moments_.push_back({Eigen::MatrixXf::Zero(r, c),
                          Eigen::MatrixXf::Zero(r, c), Eigen::VectorXf::Zero(r),
                          Eigen::VectorXf::Zero(r)});
    }
  }
  // One step from the gradient in ws; the new weights copied into net.
  void Step(const Workspace& ws, Network* net) {
    ++steps_;
    RuleConfig config;
    config.kind = RuleKind::kFloat;
    const float b1 = config.adam_beta1, b2 = config.adam_beta2;
    const float c1 = 1.0f - std::pow(b1, float(steps_));
    const float c2 = 1.0f - std::pow(b2, float(steps_));
    const float step = config.EffectiveLearningRate() * std::sqrt(c2) / c1;
    const float eps = config.adam_epsilon * std::sqrt(c2);
    for (int l = 0; l < net->num_layers(); ++l) {
      DenseLayer& layer = net->layer(l);
      Moments& m = moments_[l];
      Eigen::MatrixXf& weight = weights_[l];
      const Eigen::VectorXf& delta = ws.deltas[l];
      const Eigen::VectorXf& a = ws.activations[l];
      for (int j = 0; j < layer.in(); ++j) {
        auto g = delta * a[j];
        m.w1.col(j) = b1 * m.w1.col(j) + (1 - b1) * g;
        m.w2.col(j) = b2 * m.w2.col(j) + (1 - b2) * g.cwiseAbs2();
        weight.col(j).array() -=
            step * m.w1.col(j).array() / (m.w2.col(j).array().sqrt() + eps);
      }
      m.b1 = b1 * m.b1 + (1 - b1) * delta;
      m.b2 = b2 * m.b2 + (1 - b2) * delta.cwiseAbs2();
      layer.bias.array() -= step * m.b1.array() / (m.b2.array().sqrt() + eps);
      layer.weight.Assign(weight.data());
    }
  }

 private:
  struct Moments {
    Eigen::MatrixXf w1, w2;
    Eigen::VectorXf b1, b2;
  };
  std::vector<Eigen::MatrixXf> weights_;
  std::vector<Moments> moments_;
  uint64_t steps_ = 0;
};

void CheckFloatAsBefore(const NetworkShape& shape) {
  constexpr int kSteps = 300;
  constexpr int kRecords = 97;
  const std::vector<float> rows = Records(shape.input_dim, kRecords);
  RuleConfig config;
  config.kind = RuleKind::kFloat;
  Learner padded(config, 7, shape, WeightLayout::kPadded);
  Learner old(config, 7, shape, WeightLayout::kPacked);
  ASSERT_NE(padded.rule, nullptr);
  OldAdam adam(old.net);
  for (int step = 0; step < kSteps; ++step) {
    const float* x = &rows[size_t(step % kRecords) * shape.input_dim];
    const float want = old.net.Forward(x, &old.ws);
    old.net.Backward(&old.ws);
    adam.Step(old.ws, &old.net);
    ASSERT_EQ(Bits(want), Bits(padded.Learn(x))) << "step " << step;
  }
  ExpectSameNetwork(old.net, padded.net, "the end");
}

TEST(WeightLayoutTest, FloatRuleTrainsAsBeforeThePadding) {
  NetworkShape shape;
  shape.input_dim = 125;
  shape.hidden = {32};
  CheckFloatAsBefore(shape);
  shape.input_dim = 37;
  shape.hidden = {20, 9};
  shape.hidden_activation = Activation::kTanh;
  CheckFloatAsBefore(shape);
}

class WeightLayoutTest : public ::testing::TestWithParam<RuleKind> {};

TEST_P(WeightLayoutTest, PaddedTrainsExactlyAsPacked) {
  NetworkShape shape;  // the daemon's: rows 125 padded to 128
  shape.input_dim = 125;
  shape.hidden = {32};
  CheckSameTrajectories(GetParam(), shape);
}

TEST_P(WeightLayoutTest, PaddedTrainsExactlyAsPackedOddWidths) {
  NetworkShape shape;  // every layer padded; a tanh hidden layer
  shape.input_dim = 37;
  shape.hidden = {20, 9};
  shape.hidden_activation = Activation::kTanh;
  CheckSameTrajectories(GetParam(), shape);
}

INSTANTIATE_TEST_SUITE_P(AllRules, WeightLayoutTest,
                         ::testing::Values(RuleKind::kFloat,
                                           RuleKind::kDwShadow,
                                           RuleKind::kDwStochastic),
                         [](const auto& info) {
                           std::string name = RuleName(info.param);
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

}  // namespace
}  // namespace dwae
