#include "core/network.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/learn_kernels.h"
#include "core/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

using ::testing::HasSubstr;

double ActivateRef(Activation a, double z) {
  switch (a) {
    case Activation::kSigmoid:
      return 1.0 / (1.0 + std::exp(-z));
    case Activation::kRelu:
      return z > 0 ? z : 0.0;
    case Activation::kTanh:
      return std::tanh(z);
  }
  return 0;
}

// The loss recomputed in double precision from the network's float weights.
double ReferenceLoss(const Network& net, const std::vector<float>& x) {
  std::vector<double> in(x.begin(), x.end());
  for (int l = 0; l < net.num_layers(); ++l) {
    const DenseLayer& layer = net.layer(l);
    std::vector<double> out(layer.out());
    for (int r = 0; r < layer.out(); ++r) {
      double z = layer.bias[r];
      for (int c = 0; c < layer.in(); ++c) z += layer.weight(r, c) * in[c];
      out[r] = ActivateRef(layer.activation, z);
    }
    in = out;
  }
  double sum = 0;
  for (size_t i = 0; i < x.size(); ++i) sum += (in[i] - x[i]) * (in[i] - x[i]);
  return sum / double(x.size());
}

void Randomize(Network* net, Rng* rng) {
  for (int l = 0; l < net->num_layers(); ++l) {
    DenseLayer& layer = net->layer(l);
    for (int j = 0; j < layer.in(); ++j) {
      for (int i = 0; i < layer.out(); ++i) {
        layer.weight(i, j) = float(2 * rng->Uniform() - 1);
      }
    }
    for (int i = 0; i < layer.bias.size(); ++i) {
      layer.bias[i] = float(rng->Uniform() - 0.5);
    }
  }
}

NetworkShape SmallShape(Activation hidden) {
  NetworkShape shape;
  shape.input_dim = 7;
  shape.hidden = {5, 4};
  shape.hidden_activation = hidden;
  return shape;
}

TEST(NetworkTest, ConstructionAndShapes) {
  Network net(SmallShape(Activation::kTanh));
  ASSERT_EQ(net.num_layers(), 3);
  EXPECT_EQ(net.layer(0).in(), 7);
  EXPECT_EQ(net.layer(0).out(), 5);
  EXPECT_EQ(net.layer(1).in(), 5);
  EXPECT_EQ(net.layer(1).out(), 4);
  EXPECT_EQ(net.layer(2).in(), 4);
  EXPECT_EQ(net.layer(2).out(), 7);
  EXPECT_EQ(net.layer(0).activation, Activation::kTanh);
  EXPECT_EQ(net.layer(1).activation, Activation::kTanh);
  EXPECT_EQ(net.layer(2).activation, Activation::kSigmoid);
  EXPECT_EQ(net.num_parameters(), 7 * 5 + 5 + 5 * 4 + 4 + 4 * 7 + 7);
  EXPECT_TRUE(net.layer(0).weight_map().isZero());
  // Every column starts on a cache line (the kernels' loads split none).
  for (int l = 0; l < net.num_layers(); ++l) {
    const PaddedMatrix& w = net.layer(l).weight;
    EXPECT_EQ(w.ld() % 16, 0) << l;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(w.data()) % 64, 0u) << l;
  }
  EXPECT_TRUE(net.layer(2).bias.isZero());

  const Workspace ws = net.MakeWorkspace();
  ASSERT_EQ(ws.activations.size(), 4u);
  ASSERT_EQ(ws.deltas.size(), 3u);
  EXPECT_EQ(ws.activations[0].size(), 7);
  EXPECT_EQ(ws.activations[3].size(), 7);
  EXPECT_EQ(ws.deltas[1].size(), 4);
}

TEST(NetworkTest, ZeroNetworkOutputsOneHalf) {
  Network net(SmallShape(Activation::kRelu));
  Workspace ws = net.MakeWorkspace();
  const std::vector<float> x = {0, 1, 0.5f, 0.25f, 0, 0, 1};
  const float loss = net.Forward(x.data(), &ws);
  double expected = 0;
  for (float v : x) expected += (0.5 - v) * (0.5 - v);
  expected /= 7;
  EXPECT_NEAR(loss, expected, 1e-6);
  for (int i = 0; i < 7; ++i) EXPECT_FLOAT_EQ(Network::Output(ws)[i], 0.5f);
}

class NetworkGradientTest : public ::testing::TestWithParam<Activation> {};

TEST_P(NetworkGradientTest, ForwardIsMeanSquaredError) {
  Network net(SmallShape(GetParam()));
  Rng rng(11);
  Randomize(&net, &rng);
  Workspace ws = net.MakeWorkspace();
  for (int trial = 0; trial < 5; ++trial) {
    std::vector<float> x(7);
    for (float& v : x) v = rng.UniformFloat();
    // Some exact zeros, which Forward skips.
    x[trial] = 0.0f;
    const float loss = net.Forward(x.data(), &ws);
    const Eigen::VectorXf& y = Network::Output(ws);
    ASSERT_EQ(y.size(), 7);
    double mse = 0;
    for (int i = 0; i < 7; ++i) mse += (double(y[i]) - x[i]) * (y[i] - x[i]);
    mse /= 7;
    EXPECT_NEAR(loss, mse, 1e-6 * mse + 1e-9);
    EXPECT_NEAR(loss, ReferenceLoss(net, x), 1e-5 * mse + 1e-8);
    for (int i = 0; i < 7; ++i) EXPECT_EQ(ws.activations[0][i], x[i]);
  }
}

TEST_P(NetworkGradientTest, BackwardMatchesFiniteDifferences) {
  Network net(SmallShape(GetParam()));
  Rng rng(2024 + static_cast<int>(GetParam()));
  Randomize(&net, &rng);
  std::vector<float> x(7);
  for (float& v : x) v = rng.UniformFloat();

  Workspace ws = net.MakeWorkspace();
  net.Forward(x.data(), &ws);
  net.Backward(&ws);

  const float h = 1e-3f;
  int checked = 0, nonzero = 0;
  // Central difference of the (double-precision) loss in one float
  // parameter; the actual float step is used as the denominator.
  auto numeric = [&](float* param) {
    const float saved = *param;
    const float plus = saved + h, minus = saved - h;
    *param = plus;
    const double lp = ReferenceLoss(net, x);
    *param = minus;
    const double lm = ReferenceLoss(net, x);
    *param = saved;
    return (lp - lm) / (double(plus) - double(minus));
  };
  auto expect_close = [&](double analytic, double fd, const std::string& what) {
    ++checked;
    if (std::abs(fd) > 1e-4) ++nonzero;
    const double abs_err = std::abs(analytic - fd);
    const double rel_err = abs_err / std::max(std::abs(analytic), std::abs(fd));
    EXPECT_TRUE(abs_err < 1e-5 || rel_err < 2e-2)
        << what << ": backward " << analytic << " vs finite difference " << fd;
  };

  for (int l = 0; l < net.num_layers(); ++l) {
    DenseLayer& layer = net.layer(l);
    const Eigen::VectorXf& delta = ws.deltas[l];
    const Eigen::VectorXf& a = ws.activations[l];
    ASSERT_EQ(delta.size(), layer.out());
    ASSERT_EQ(a.size(), layer.in());
    for (int r = 0; r < layer.out(); ++r) {
      for (int c = 0; c < layer.in(); ++c) {
        expect_close(double(delta[r]) * a[c], numeric(&layer.weight(r, c)),
                     "layer " + std::to_string(l) + " W(" + std::to_string(r) +
                         "," + std::to_string(c) + ")");
      }
      expect_close(
          delta[r], numeric(&layer.bias[r]),
          "layer " + std::to_string(l) + " b(" + std::to_string(r) + ")");
    }
  }
  EXPECT_EQ(checked, net.num_parameters());
  // The check is not vacuous: most gradients are clearly nonzero.
  EXPECT_GT(nonzero, checked / 2);
}

INSTANTIATE_TEST_SUITE_P(Activations, NetworkGradientTest,
                         ::testing::Values(Activation::kSigmoid,
                                           Activation::kRelu,
                                           Activation::kTanh),
                         [](const auto& info) {
                           return std::string(ActivationName(info.param));
                         });

// The output layer's delta is computed in one pass and the hidden layer's
// derivative in the transposed product's last step; both must keep the bits
// of the Eigen passes they replaced (error times 2/n, then the sigmoid's
// derivative), with and without a separate target, on the model's shape.
TEST(NetworkTest, OutputDeltaHasTheBitsOfTheEigenPasses) {
  NetworkShape shape;
  shape.input_dim = 125;
  shape.hidden = {32};
  Network net(shape);
  Rng rng(77);
  Randomize(&net, &rng);
  Workspace ws = net.MakeWorkspace();
  for (int round = 0; round < 50; ++round) {
    std::vector<float> x(125), target(125);
    for (float& v : x) v = rng.Uniform() < 0.8 ? 0.0f : rng.UniformFloat();
    for (float& v : target) v = rng.UniformFloat();
    for (const float* t : {static_cast<const float*>(nullptr),
                           static_cast<const float*>(target.data())}) {
      net.Forward(x.data(), &ws);
      net.Backward(&ws, t);
      const Eigen::VectorXf& y = ws.activations.back();
      Eigen::VectorXf want = (y - Eigen::Map<const Eigen::VectorXf>(
                                      t != nullptr ? t : x.data(), 125)) *
                             (2.0f / 125.0f);
      want.array() *= y.array() * (1.0f - y.array());
      for (int i = 0; i < 125; ++i) {
        ASSERT_EQ(std::memcmp(&want[i], &ws.deltas[1][i], sizeof(float)), 0)
            << "round " << round << " element " << i << ": " << want[i]
            << " vs " << ws.deltas[1][i];
      }
      // The hidden layer's: the product, then Eigen's derivative pass.
      Eigen::VectorXf hidden(32);
      learn_kernels::ReferenceTransposedProduct(net.layer(1).weight.data(), 125,
                                                net.layer(1).weight.ld(), 32,
                                                want.data(), hidden.data());
      const Eigen::VectorXf& h = ws.activations[1];
      hidden.array() *= h.array() * (1.0f - h.array());
      for (int j = 0; j < 32; ++j) {
        ASSERT_EQ(std::memcmp(&hidden[j], &ws.deltas[0][j], sizeof(float)), 0)
            << "round " << round << " hidden " << j;
      }
    }
  }
}

TEST(NetworkTest, BackwardOfPerfectReconstructionIsZero) {
  // One hidden unit; the output biases alone decide the output. Choose them
  // so that the output equals the input exactly: sigmoid(0) = 0.5.
  NetworkShape shape;
  shape.input_dim = 3;
  shape.hidden = {2};
  Network net(shape);
  Workspace ws = net.MakeWorkspace();
  const std::vector<float> x = {0.5f, 0.5f, 0.5f};
  EXPECT_EQ(net.Forward(x.data(), &ws), 0.0f);
  net.Backward(&ws);
  for (const Eigen::VectorXf& d : ws.deltas) EXPECT_TRUE(d.isZero());
}

TEST(ActivationTest, ParseRoundTripsAndRejectsUnknown) {
  for (Activation a :
       {Activation::kSigmoid, Activation::kRelu, Activation::kTanh}) {
    absl::StatusOr<Activation> parsed = ParseActivation(ActivationName(a));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, a);
  }
  EXPECT_STREQ(ActivationName(Activation::kRelu), "relu");
  for (const char* bad : {"", "Sigmoid", "softmax", "tanh "}) {
    absl::StatusOr<Activation> parsed = ParseActivation(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), HasSubstr("activation"));
  }
  EXPECT_THAT(ParseActivation("softmax").status().message(),
              HasSubstr("softmax"));
}

TEST(NetworkShapeTest, ToString) {
  NetworkShape shape;
  shape.input_dim = 125;
  EXPECT_EQ(shape.ToString(), "125-32-125");
  shape.hidden = {64, 16, 64};
  EXPECT_EQ(shape.ToString(), "125-64-16-64-125");
  shape.input_dim = 7;
  shape.hidden = {5};
  EXPECT_EQ(shape.ToString(), "7-5-7");
}

TEST(NetworkShapeTest, Validate) {
  NetworkShape shape;
  shape.input_dim = 12;
  EXPECT_TRUE(shape.Validate().ok()) << shape.Validate();
  shape.hidden = {1, 4096};
  EXPECT_TRUE(shape.Validate().ok()) << shape.Validate();

  NetworkShape bad = shape;
  bad.input_dim = 0;
  EXPECT_THAT(bad.Validate().message(), HasSubstr("input_dim"));
  bad.input_dim = -3;
  EXPECT_THAT(bad.Validate().message(), HasSubstr("input_dim"));

  bad = shape;
  bad.hidden = {};
  EXPECT_EQ(bad.Validate().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.Validate().message(), HasSubstr("hidden"));
  bad.hidden = {8, 0};
  EXPECT_THAT(bad.Validate().message(), HasSubstr("hidden"));
  bad.hidden = {4097};
  EXPECT_THAT(bad.Validate().message(), HasSubstr("hidden"));
  bad.hidden = {-1};
  EXPECT_EQ(bad.Validate().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dwae
