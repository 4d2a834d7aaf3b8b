// The integer inference paths on NSL-KDD: a model trained on the normal rows
// of KDDTrain+_20Percent scores KDDTest+ on the float path, the layered
// integer path and the fused pass (AVX-512 CPUs); the detection quality must
// not move: ROC AUC within 0.001 and the accuracy at a label-free threshold
// (the 99th percentile of the training rows' own scores) within 0.1 point.
// The figures are printed for docs/performance.md.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/dataset.h"
#include "core/encoder.h"
#include "core/inference_network.h"
#include "core/metrics.h"
#include "core/model.h"
#include "gtest/gtest.h"
#include "tests/testing/kdd_rows.h"

namespace dwae {
namespace {

struct Quality {
  double auc = 0, accuracy = 0;
};

// `score(x)` for every row; the threshold is the 99th percentile of the
// training rows' scores.
template <typename Score>
Quality Evaluate(const std::vector<float>& train,
                 const std::vector<float>& test,
                 const std::vector<bool>& is_anomaly, Score score) {
  std::vector<float> train_scores, test_scores;
  for (size_t i = 0; i < train.size(); i += kInputDim) {
    train_scores.push_back(score(&train[i]));
  }
  for (size_t i = 0; i < test.size(); i += kInputDim) {
    test_scores.push_back(score(&test[i]));
  }
  std::sort(train_scores.begin(), train_scores.end());
  const double threshold = train_scores[train_scores.size() * 99 / 100];
  const Confusion c = Classify(test_scores, is_anomaly, threshold);
  return {RocAuc(test_scores, is_anomaly), c.accuracy()};
}

// The daemon's path (the encoder's bytes, ForwardEncoded) with the
// encoder's numeric features as dense inputs, as ScoringModel builds it,
// against the same network without: the same score bits on every row.
void ExpectDenseInputsChangeNoScore(const Autoencoder& model,
                                    const FeatureEncoder& encoder,
                                    const std::vector<Record>& rows) {
  const InferenceNetwork dense(model.network(), encoder.num_numeric());
  const InferenceNetwork sparse(model.network());
  // Without the register pass (no VNNI) both run the same path.
  if (!dense.two_layer()) return;
  Workspace a = dense.MakeWorkspace(), b = sparse.MakeWorkspace();
  std::vector<float> x(kInputDim);
  std::vector<uint8_t> q(size_t(encoder.quantized_size()));
  int differ = 0;
  for (const Record& row : rows) {
    encoder.EncodeQuantized(row, x.data(), q.data());
    const float got = dense.ForwardEncoded(x.data(), q.data(), &a);
    const float want = sparse.ForwardEncoded(x.data(), q.data(), &b);
    differ += std::memcmp(&got, &want, sizeof(float)) != 0;
  }
  EXPECT_EQ(differ, 0) << "of " << rows.size() << " rows";
}

TEST(InferenceAccuracyTest, IntegerPathsKeepAucAndAccuracy) {
  const std::vector<Record> normal =
      NormalRows(testutil::LoadKddRows("KDDTrain+_20Percent.txt"));
  const std::vector<Record> test_rows = testutil::LoadKddRows("KDDTest+.txt");
  ASSERT_FALSE(normal.empty());
  ASSERT_FALSE(test_rows.empty());
  FeatureEncoder encoder;
  encoder.Fit(normal);
  std::vector<float> train(normal.size() * kInputDim);
  std::vector<float> test(test_rows.size() * kInputDim);
  std::vector<bool> is_anomaly;
  for (size_t i = 0; i < normal.size(); ++i) {
    encoder.Encode(normal[i], &train[i * kInputDim]);
  }
  for (size_t i = 0; i < test_rows.size(); ++i) {
    encoder.Encode(test_rows[i], &test[i * kInputDim]);
    is_anomaly.push_back(!test_rows[i].is_normal());
  }
  for (RuleKind kind : {RuleKind::kDwStochastic, RuleKind::kDwShadow}) {
    ModelConfig config;
    config.shape.input_dim = kInputDim;
    config.rule.kind = kind;
    std::unique_ptr<Autoencoder> model = *Autoencoder::Create(config);
    Workspace ws = model->MakeWorkspace();
    for (int epoch = 0; epoch < 2; ++epoch) {
      for (size_t i = 0; i < train.size(); i += kInputDim) {
        model->Learn(&train[i], &ws);
      }
    }
    const InferenceNetwork net(model->network());
    ASSERT_TRUE(net.integer()) << RuleName(kind);
    Workspace a = net.MakeWorkspace();
    const Quality f = Evaluate(train, test, is_anomaly, [&](const float* x) {
      return model->network().Forward(x, &a);
    });
    const Quality layered =
        Evaluate(train, test, is_anomaly,
                 [&](const float* x) { return net.ForwardLayered(x, &a); });
    const Quality served =
        Evaluate(train, test, is_anomaly,
                 [&](const float* x) { return net.Forward(x, &a); });
    std::printf(
        "%s: AUC float %.5f int8 layered %.5f int8 served%s %.5f | accuracy "
        "float %.5f layered %.5f served %.5f\n",
        RuleName(kind), f.auc, layered.auc, net.fused() ? " (fused)" : "",
        served.auc, f.accuracy, layered.accuracy, served.accuracy);
    for (const Quality& q : {layered, served}) {
      EXPECT_NEAR(q.auc, f.auc, 0.001) << RuleName(kind);
      EXPECT_NEAR(q.accuracy, f.accuracy, 0.001) << RuleName(kind);
    }
    ExpectDenseInputsChangeNoScore(*model, encoder, test_rows);
  }
}

}  // namespace
}  // namespace dwae
