// Batched scoring is bit for bit the single-record path, whatever the batch
// size: InferenceNetwork::ForwardBatch against Forward on random shapes and
// batch sizes (remainders of the fused pass's chunks included; VNNI and
// pair-layout kernels),
// ScoringEnsemble::ScoreBatch against Score on every ensemble form, and
// ScoringModel::ScoreBatch against Score on NSL-KDD records (scores,
// verdicts and top deviations), so a verdict never depends on the batch a
// record came in. The daemon's encoded path: ScoreEncodedBatch (from
// FeatureEncoder::EncodeQuantized's bytes) against ScoreBatch on every
// ensemble form, and ScoringModel::ScoreBatch (which takes it) against
// Encode + ScoringEnsemble::ScoreBatch.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/dataset.h"
#include "core/detector.h"
#include "core/encoder.h"
#include "core/ensemble.h"
#include "core/inference_fused.h"
#include "core/inference_network.h"
#include "core/model.h"
#include "core/rng.h"
#include "core/scoring_ensemble.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// Every ensemble form: groups of dimensions (gathered), -mr, -l1.
constexpr const char* kSpecs[] = {"k1",    "k3",    "k2-g4-std-ms", "k1-l1",
                                  "k3-l1", "k3-mr", "k2-g4-mr-l1"};

// Rows of `dim` values: mostly zeros (as one-hot encodings), some in (0, 1),
// a few outside [0, 1] (they widen the quantization range).
std::vector<float> RandomRows(int rows, int dim, Rng* rng) {
  std::vector<float> x(size_t(rows) * dim);
  for (float& v : x) v = rng->Uniform() < 0.4 ? float(rng->Uniform()) : 0.0f;
  for (int r = 0; r < rows; r += 7) x[size_t(r) * dim] = 1.75f;
  return x;
}

std::unique_ptr<Autoencoder> TrainedModel(int dim, std::vector<int> hidden,
                                          Activation activation, RuleKind kind,
                                          uint64_t seed) {
  ModelConfig config;
  config.shape.input_dim = dim;
  config.shape.hidden = std::move(hidden);
  config.shape.hidden_activation = activation;
  config.rule.kind = kind;
  config.seed = seed;
  std::unique_ptr<Autoencoder> model = *Autoencoder::Create(config);
  Workspace ws = model->MakeWorkspace();
  Rng rng(seed + 1);
  const std::vector<float> rows = RandomRows(200, dim, &rng);
  for (int r = 0; r < 200; ++r) model->Learn(&rows[size_t(r) * dim], &ws);
  return model;
}

TEST(InferenceBatchTest, ForwardBatchIsForwardBitForBit) {
  Rng shapes(21);
  for (int trial = 0; trial < 24; ++trial) {
    const int dim = 1 + int(shapes.Below(140));
    std::vector<int> hidden = {1 + int(shapes.Below(40))};
    if (trial % 3 == 1) hidden.push_back(1 + int(shapes.Below(20)));
    const Activation activation = trial % 4 == 3   ? Activation::kTanh
                                  : trial % 4 == 2 ? Activation::kRelu
                                                   : Activation::kSigmoid;
    const RuleKind kind =
        trial % 2 == 0 ? RuleKind::kDwStochastic : RuleKind::kDwShadow;
    std::unique_ptr<Autoencoder> model =
        TrainedModel(dim, hidden, activation, kind, 100 + trial);
    // Dense inputs change how a record alone goes through the two-layer
    // pass (Forward) and not a batch (TwoLayerCall): the same bits.
    // (trial / 2 so that every choice meets the one-hidden-layer trials.)
    const int dense_inputs = std::vector<int>{0, dim / 2, dim}[(trial / 2) % 3];
    const InferenceNetwork net(model->network(), dense_inputs);
    ASSERT_TRUE(net.integer()) << "trial " << trial;
    const int n = 1 + int(shapes.Below(40));  // 16-record chunks + remainder
    Rng rng(300 + trial);
    const std::vector<float> rows = RandomRows(n, dim, &rng);
    std::vector<Workspace> single(n, net.MakeWorkspace());
    // Workspaces made by the Network: the batch sizes their buffers.
    std::vector<Workspace> batch(n, model->network().MakeWorkspace());
    std::vector<const float*> x;
    std::vector<Workspace*> ws;
    for (int i = 0; i < n; ++i) {
      x.push_back(&rows[size_t(i) * dim]);
      ws.push_back(&batch[i]);
    }
    std::vector<float> got(n), pairs(n);
    net.ForwardBatch(n, x.data(), ws.data(), got.data());
    // The pair-layout kernels (AVX-512 CPUs without VNNI) give the same
    // integer sums, so the same scores.
    std::vector<Workspace> pair_ws(n, net.MakeWorkspace());
    std::vector<Workspace*> pair_ptrs;
    for (Workspace& w : pair_ws) pair_ptrs.push_back(&w);
    {
      const inference_internal::ScopedForcePairKernels force;
      net.ForwardBatch(n, x.data(), pair_ptrs.data(), pairs.data());
    }
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(Bits(pairs[i]), Bits(got[i]))
          << "pair kernels, trial " << trial << " record " << i;
      const float want = net.Forward(x[i], &single[i]);
      ASSERT_EQ(Bits(got[i]), Bits(want))
          << "trial " << trial << " record " << i << " of " << n << ": "
          << got[i] << " vs " << want;
      ASSERT_EQ(single[i].activations.size(), batch[i].activations.size());
      for (size_t l = 0; l < single[i].activations.size(); ++l) {
        ASSERT_EQ(single[i].activations[l], batch[i].activations[l])
            << "trial " << trial << " record " << i << " layer " << l;
      }
    }
  }
}

TEST(InferenceBatchTest, ScoringEnsembleScoreBatchIsScoreBitForBit) {
  constexpr int kDim = 23;
  Rng rng(5);
  const std::vector<float> rows = RandomRows(300, kDim, &rng);
  for (RuleKind kind : {RuleKind::kFloat, RuleKind::kDwStochastic}) {
    for (const char* spec : kSpecs) {
      absl::StatusOr<EnsembleOptions> options = ParseEnsembleSpec(spec, {});
      ASSERT_TRUE(options.ok()) << options.status();
      ModelConfig config;
      config.shape.input_dim = kDim;
      config.shape.hidden = {5};
      config.rule.kind = kind;
      config.seed = 9;
      auto e = Ensemble::Create(config, *options, kDim, rows);
      ASSERT_TRUE(e.ok()) << e.status();
      for (int r = 0; r < 300; ++r) (*e)->Learn(&rows[size_t(r) * kDim]);
      (*e)->FitScale(rows);
      const ScoringEnsemble scorer(**e);
      const int n = 37;  // two chunks of 16 and a remainder
      std::vector<ScoringEnsembleScratch> one(n, scorer.MakeScratch());
      std::vector<ScoringEnsembleScratch> many(n, scorer.MakeScratch());
      std::vector<const float*> x;
      std::vector<ScoringEnsembleScratch*> s;
      for (int i = 0; i < n; ++i) {
        x.push_back(&rows[size_t(i * 5) * kDim]);
        s.push_back(&many[i]);
      }
      std::vector<float> got(n);
      scorer.ScoreBatch(n, x.data(), s.data(), got.data());
      std::vector<float> e1(kDim), r1(kDim), e2(kDim), r2(kDim);
      for (int i = 0; i < n; ++i) {
        const float want = scorer.Score(x[i], &one[i]);
        ASSERT_EQ(Bits(got[i]), Bits(want))
            << spec << " record " << i << ": " << got[i] << " vs " << want;
        scorer.Explain(&one[i], e1.data(), r1.data());
        scorer.Explain(&many[i], e2.data(), r2.data());
        ASSERT_EQ(e1, e2) << spec << " record " << i;
        ASSERT_EQ(r1, r2) << spec << " record " << i;
      }
    }
  }
}

// NSL-KDD rows as the daemon encodes them: floats and bytes.
struct EncodedRows {
  FeatureEncoder encoder;
  std::vector<Record> records;
  std::vector<float> x;    // kInputDim floats a row
  std::vector<uint8_t> q;  // encoder.quantized_size() bytes a row
};

EncodedRows EncodeKdd(size_t rows) {
  EncodedRows e;
  absl::StatusOr<std::vector<Record>> all =
      LoadRecords(DWAE_SOURCE_DIR "/data/nsl-kdd/KDDTrain+_20Percent.txt",
                  RecordFormat::kNslKdd);
  EXPECT_TRUE(all.ok()) << all.status();
  if (!all.ok()) return e;
  all->resize(std::min(all->size(), rows));
  e.encoder.Fit(NormalRows(*all));
  e.records = *std::move(all);
  const size_t bytes = size_t(e.encoder.quantized_size());
  e.x.resize(e.records.size() * kInputDim);
  e.q.resize(e.records.size() * bytes);
  for (size_t i = 0; i < e.records.size(); ++i) {
    e.encoder.EncodeQuantized(e.records[i], &e.x[i * kInputDim],
                              &e.q[i * bytes]);
  }
  return e;
}

std::unique_ptr<Ensemble> TrainedEnsemble(const char* spec, RuleKind kind,
                                          const std::vector<float>& rows) {
  absl::StatusOr<EnsembleOptions> options = ParseEnsembleSpec(spec, {});
  EXPECT_TRUE(options.ok()) << options.status();
  if (!options.ok()) return nullptr;
  ModelConfig config;
  config.shape.input_dim = kInputDim;
  config.shape.hidden = {8};
  config.rule.kind = kind;
  config.seed = 13;
  auto e = Ensemble::Create(config, *options, kInputDim, rows);
  EXPECT_TRUE(e.ok()) << e.status();
  if (!e.ok()) return nullptr;
  for (size_t r = 0; r < 400; ++r) (*e)->Learn(&rows[r * kInputDim]);
  (*e)->FitScale(rows);
  return *std::move(e);
}

TEST(InferenceBatchTest, ScoreEncodedBatchIsScoreBatchBitForBit) {
  const EncodedRows rows = EncodeKdd(1000);
  ASSERT_EQ(rows.records.size(), 1000u);
  const size_t bytes = size_t(rows.encoder.quantized_size());
  int two_layer_members = 0;  // members that start from the bytes
  for (RuleKind kind : {RuleKind::kFloat, RuleKind::kDwStochastic}) {
    for (const char* spec : kSpecs) {
      std::unique_ptr<Ensemble> e = TrainedEnsemble(spec, kind, rows.x);
      ASSERT_NE(e, nullptr) << spec;
      for (int m = 0; m < e->num_members(); ++m) {
        const bool all_dims = e->member_dims(m).empty();
        if (all_dims && InferenceNetwork(e->member(m).network()).two_layer()) {
          ++two_layer_members;
        }
      }
      // As ScoringModel builds it.
      const ScoringEnsemble scorer(*e, rows.encoder.num_numeric());
      const int n = 37;  // two chunks of 16 and a remainder
      std::vector<ScoringEnsembleScratch> plain(n, scorer.MakeScratch());
      std::vector<ScoringEnsembleScratch> encoded(n, scorer.MakeScratch());
      std::vector<const float*> x;
      std::vector<const uint8_t*> q;
      std::vector<ScoringEnsembleScratch*> sp, se;
      for (int i = 0; i < n; ++i) {
        const size_t row = 500 + size_t(i) * 11;  // not learned
        x.push_back(&rows.x[row * kInputDim]);
        q.push_back(&rows.q[row * bytes]);
        sp.push_back(&plain[i]);
        se.push_back(&encoded[i]);
      }
      std::vector<float> want(n), got(n);
      scorer.ScoreBatch(n, x.data(), sp.data(), want.data());
      scorer.ScoreEncodedBatch(n, x.data(), q.data(), se.data(), got.data());
      std::vector<float> e1(kInputDim), r1(kInputDim), e2(kInputDim),
          r2(kInputDim);
      for (int i = 0; i < n; ++i) {
        ASSERT_EQ(Bits(got[i]), Bits(want[i]))
            << spec << " record " << i << ": " << got[i] << " vs " << want[i];
        // A batch of one: the record alone.
        ScoringEnsembleScratch alone = scorer.MakeScratch();
        ScoringEnsembleScratch* alone_ptr = &alone;
        float one;
        scorer.ScoreEncodedBatch(1, &x[i], &q[i], &alone_ptr, &one);
        ASSERT_EQ(Bits(one), Bits(want[i])) << spec << " record " << i;
        scorer.Explain(&plain[i], e1.data(), r1.data());
        scorer.Explain(&encoded[i], e2.data(), r2.data());
        ASSERT_EQ(e1, e2) << spec << " record " << i;
        ASSERT_EQ(r1, r2) << spec << " record " << i;
      }
    }
  }
  if (two_layer_members == 0) {
    GTEST_SKIP() << "no member takes the two-layer pass on this CPU (no "
                    "VNNI): ScoreEncodedBatch was ScoreBatch";
  }
}

// ScoringModel::ScoreBatch (EncodeQuantized, ScoreEncodedBatch) against the
// float-encoded path: Encode, then ScoringEnsemble::ScoreBatch.
TEST(InferenceBatchTest, ScoringModelVerdictsAreTheFloatEncodedPaths) {
  const EncodedRows rows = EncodeKdd(1000);
  ASSERT_EQ(rows.records.size(), 1000u);
  for (const char* spec : {"k1", "k3-l1", "k2-g4-mr-l1"}) {
    std::unique_ptr<Ensemble> e =
        TrainedEnsemble(spec, RuleKind::kDwStochastic, rows.x);
    ASSERT_NE(e, nullptr) << spec;
    const ScoringEnsemble scorer(*e);
    constexpr int kN = 50;
    std::vector<ScoringEnsembleScratch> ref(kN, scorer.MakeScratch());
    std::vector<std::vector<float>> x(kN, std::vector<float>(kInputDim));
    std::vector<const float*> xp;
    std::vector<ScoringEnsembleScratch*> rp;
    std::vector<const Record*> records;
    for (int i = 0; i < kN; ++i) {
      records.push_back(&rows.records[500 + size_t(i) * 9]);
      rows.encoder.Encode(*records[i], x[i].data());
      xp.push_back(x[i].data());
      rp.push_back(&ref[i]);
    }
    std::vector<float> want(kN);
    scorer.ScoreBatch(kN, xp.data(), rp.data(), want.data());
    // A threshold between the scores, so both verdicts occur.
    std::vector<float> sorted = want;
    std::sort(sorted.begin(), sorted.end());
    const double threshold = sorted[kN / 2];
    const ScoringModel model(rows.encoder, *e, threshold, "test", 1, false);
    std::vector<ScoringScratch> scratch(kN, model.MakeScratch());
    std::vector<ScoreResult> got(kN);
    std::vector<ScoringScratch*> sp;
    std::vector<ScoreResult*> out;
    for (int i = 0; i < kN; ++i) {
      sp.push_back(&scratch[i]);
      out.push_back(&got[i]);
    }
    model.ScoreBatch(kN, records.data(), 0, sp.data(), out.data());
    int anomalous = 0;
    for (int i = 0; i < kN; ++i) {
      ASSERT_EQ(Bits(got[i].score), Bits(want[i])) << spec << " record " << i;
      ASSERT_EQ(got[i].anomalous, !(want[i] <= threshold))
          << spec << " record " << i;
      ASSERT_EQ(scratch[i].input, x[i]) << spec << " record " << i;
      anomalous += got[i].anomalous ? 1 : 0;
    }
    EXPECT_GT(anomalous, 0) << spec;
    EXPECT_LT(anomalous, kN) << spec;
  }
}

// A detector warmed up on real records, as the daemon serves it.
TEST(InferenceBatchTest, ScoringModelScoreBatchIsScoreOnNslKdd) {
  absl::StatusOr<std::vector<Record>> all =
      LoadRecords(DWAE_SOURCE_DIR "/data/nsl-kdd/KDDTrain+_20Percent.txt",
                  RecordFormat::kNslKdd);
  ASSERT_TRUE(all.ok()) << all.status();
  for (const char* rule : {"dw-stochastic", "dw-shadow"}) {
    DetectorConfig config;
    config.model.rule.kind = *ParseRuleKind(rule);
    config.learning.warmup_records = 2000;
    config.learning.warmup_epochs = 1;
    absl::StatusOr<std::unique_ptr<Detector>> d = Detector::Create(config);
    ASSERT_TRUE(d.ok()) << d.status();
    for (size_t i = 0; i < 2500; ++i) (*d)->Learn((*all)[i]);
    std::shared_ptr<const ScoringModel> model = (*d)->Publish();
    ASSERT_FALSE(model->warming_up());
    ASSERT_GT(model->model().integer_members(), 0) << rule;
    // Records 3000.. (not learned), attacks among them; odd batch sizes.
    const size_t first = 3000;
    for (int n : {1, 5, 16, 17, 50}) {
      std::vector<ScoringScratch> one(n, model->MakeScratch());
      std::vector<ScoringScratch> many(n, model->MakeScratch());
      std::vector<ScoreResult> want(n), got(n);
      std::vector<const Record*> records;
      std::vector<ScoringScratch*> s;
      std::vector<ScoreResult*> out;
      for (int i = 0; i < n; ++i) {
        records.push_back(&(*all)[first + size_t(i) * 13]);
        s.push_back(&many[i]);
        out.push_back(&got[i]);
      }
      model->ScoreBatch(n, records.data(), 3, s.data(), out.data());
      for (int i = 0; i < n; ++i) {
        model->Score(*records[i], 3, &one[i], &want[i]);
        ASSERT_EQ(Bits(got[i].score), Bits(want[i].score))
            << rule << " batch " << n << " record " << i;
        EXPECT_EQ(got[i].anomalous, want[i].anomalous);
        ASSERT_EQ(got[i].num_top, want[i].num_top);
        for (int t = 0; t < want[i].num_top; ++t) {
          EXPECT_EQ(got[i].top[t].dimension, want[i].top[t].dimension);
          EXPECT_EQ(Bits(got[i].top[t].squared_error),
                    Bits(want[i].top[t].squared_error));
          EXPECT_EQ(Bits(got[i].top[t].reconstruction),
                    Bits(want[i].top[t].reconstruction));
        }
        EXPECT_EQ(one[i].input, many[i].input);
      }
    }
  }
}

}  // namespace
}  // namespace dwae
