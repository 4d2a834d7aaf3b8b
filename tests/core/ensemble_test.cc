#include "core/ensemble.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "core/model.h"
#include "core/rng.h"
#include "core/scoring_ensemble.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

constexpr int kDim = 12;

// Rows of kDim values in [0, 1]: dimensions 0-3 follow one latent value,
// 4-7 another, 8-11 are independent noise.
std::vector<float> CorrelatedRows(int rows, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> out;
  for (int r = 0; r < rows; ++r) {
    const double a = rng.Uniform(), b = rng.Uniform();
    for (int d = 0; d < kDim; ++d) {
      const double noise = 0.05 * rng.Uniform();
      const double v = d < 4 ? a : d < 8 ? b : rng.Uniform();
      out.push_back(float(std::min(1.0, 0.9 * v + noise)));
    }
  }
  return out;
}

ModelConfig SmallModel(RuleKind kind, uint64_t seed) {
  ModelConfig config;
  config.shape.input_dim = kDim;
  config.shape.hidden = {4};
  config.rule.kind = kind;
  config.seed = seed;
  return config;
}

TEST(EnsembleTest, OneMemberIsTheSingleAutoencoder) {
  const std::vector<float> rows = CorrelatedRows(300, 1);
  for (RuleKind kind :
       {RuleKind::kFloat, RuleKind::kDwShadow, RuleKind::kDwStochastic}) {
    auto ensemble =
        Ensemble::Create(SmallModel(kind, 5), EnsembleOptions(), kDim, rows);
    ASSERT_TRUE(ensemble.ok()) << ensemble.status();
    auto single = Autoencoder::Create(SmallModel(kind, 5));
    ASSERT_TRUE(single.ok()) << single.status();
    Workspace ws = (*single)->MakeWorkspace();
    for (size_t r = 0; r < 300; ++r) {
      (*ensemble)->Learn(&rows[r * kDim]);
      (*single)->Learn(&rows[r * kDim], &ws);
    }
    EnsembleWorkspace ews = (*ensemble)->MakeWorkspace();
    for (size_t r = 0; r < 20; ++r) {
      EXPECT_EQ((*ensemble)->Score(&rows[r * kDim], &ews),
                (*single)->Score(&rows[r * kDim], &ws));
    }
    EXPECT_EQ((*ensemble)->weight_updates(),
              (*single)->rule().weight_updates());
  }
}

TEST(EnsembleTest, MembersDifferAndCountTogether) {
  const std::vector<float> rows = CorrelatedRows(200, 2);
  EnsembleOptions options;
  options.members = 3;
  auto e = Ensemble::Create(SmallModel(RuleKind::kDwStochastic, 9), options,
                            kDim, rows);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ((*e)->num_members(), 3);
  for (size_t r = 0; r < 200; ++r) (*e)->Learn(&rows[r * kDim]);
  uint64_t sum = 0;
  for (int m = 0; m < 3; ++m) sum += (*e)->member(m).rule().weight_updates();
  EXPECT_EQ((*e)->weight_updates(), sum);
  EXPECT_EQ((*e)->float_equivalent_updates(),
            3u * 200u * uint64_t((*e)->member(0).network().num_parameters()));
  EXPECT_NE((*e)->member(0).network().layer(0).weight,
            (*e)->member(1).network().layer(0).weight);
}

TEST(EnsembleTest, CorrelationGroupsPartitionTheDimensions) {
  const std::vector<float> rows = CorrelatedRows(500, 3);
  const auto groups = CorrelationGroups(rows, kDim, 4);
  std::vector<int> seen;
  for (const auto& g : groups) {
    EXPECT_LE(g.size(), 4u);
    EXPECT_TRUE(std::is_sorted(g.begin(), g.end()));
    seen.insert(seen.end(), g.begin(), g.end());
  }
  std::sort(seen.begin(), seen.end());
  std::vector<int> all(kDim);
  for (int d = 0; d < kDim; ++d) all[d] = d;
  EXPECT_EQ(seen, all);
  // The two correlated blocks come out as groups of their own.
  EXPECT_NE(
      std::find(groups.begin(), groups.end(), std::vector<int>{0, 1, 2, 3}),
      groups.end());
  EXPECT_NE(
      std::find(groups.begin(), groups.end(), std::vector<int>{4, 5, 6, 7}),
      groups.end());
}

TEST(EnsembleTest, GroupMembersSeeOnlyTheirDimensions) {
  const std::vector<float> rows = CorrelatedRows(300, 4);
  EnsembleOptions options;
  options.group_size = 4;
  options.members = 2;
  auto e = Ensemble::Create(SmallModel(RuleKind::kDwStochastic, 1), options,
                            kDim, rows);
  ASSERT_TRUE(e.ok()) << e.status();
  int covered = 0;
  for (int m = 0; m < (*e)->num_members(); ++m) {
    const int width = int((*e)->member_dims(m).size());
    EXPECT_EQ((*e)->member(m).network().shape().input_dim, width);
    covered += width;
  }
  EXPECT_EQ(covered, 2 * kDim);
  for (size_t r = 0; r < 300; ++r) (*e)->Learn(&rows[r * kDim]);
  EnsembleWorkspace ws = (*e)->MakeWorkspace();
  EXPECT_GT((*e)->Score(&rows[0], &ws), 0.0f);
}

TEST(EnsembleTest, StandardizedErrorsWeighDimensionsByTheirNormalError) {
  const std::vector<float> rows = CorrelatedRows(400, 5);
  EnsembleOptions options;
  options.standardize = true;
  auto e =
      Ensemble::Create(SmallModel(RuleKind::kFloat, 2), options, kDim, rows);
  ASSERT_TRUE(e.ok()) << e.status();
  for (int epoch = 0; epoch < 3; ++epoch) {
    for (size_t r = 0; r < 400; ++r) (*e)->Learn(&rows[r * kDim]);
  }
  EnsembleWorkspace ws = (*e)->MakeWorkspace();
  const float before = (*e)->Score(&rows[0], &ws);
  (*e)->FitScale(rows);
  // The mean standardized score over the rows the scales came from is
  // about the mean error scale (weights average near 1), not arbitrary.
  double mean_score = 0, mean_mse = 0;
  Workspace mws = (*e)->member(0).MakeWorkspace();
  for (size_t r = 0; r < 400; ++r) {
    mean_score += (*e)->Score(&rows[r * kDim], &ws);
    mean_mse += (*e)->member(0).Score(&rows[r * kDim], &mws);
  }
  EXPECT_NE((*e)->Score(&rows[0], &ws), before);
  EXPECT_GT(mean_score, 0.5 * mean_mse);
  EXPECT_LT(mean_score, 2.0 * mean_mse);
}

TEST(EnsembleTest, DenoisingLearnsFromCorruptedInputs) {
  const std::vector<float> rows = CorrelatedRows(200, 6);
  EnsembleOptions plain, noisy;
  noisy.input_dropout = 0.2;
  auto a = Ensemble::Create(SmallModel(RuleKind::kFloat, 3), plain, kDim, rows);
  auto b = Ensemble::Create(SmallModel(RuleKind::kFloat, 3), noisy, kDim, rows);
  ASSERT_TRUE(a.ok() && b.ok());
  for (size_t r = 0; r < 200; ++r) {
    (*a)->Learn(&rows[r * kDim]);
    (*b)->Learn(&rows[r * kDim]);
  }
  EXPECT_NE((*a)->member(0).network().layer(0).weight,
            (*b)->member(0).network().layer(0).weight);
}

TEST(EnsembleTest, DenoisingWithTheCleanInputIsAPlainStep) {
  const std::vector<float> rows = CorrelatedRows(50, 7);
  auto a = Autoencoder::Create(SmallModel(RuleKind::kFloat, 4));
  auto b = Autoencoder::Create(SmallModel(RuleKind::kFloat, 4));
  ASSERT_TRUE(a.ok() && b.ok());
  Workspace wa = (*a)->MakeWorkspace(), wb = (*b)->MakeWorkspace();
  for (size_t r = 0; r < 50; ++r) {
    (*a)->Learn(&rows[r * kDim], &wa);
    (*b)->LearnDenoising(&rows[r * kDim], &rows[r * kDim], &wb);
  }
  EXPECT_EQ((*a)->network().layer(0).weight, (*b)->network().layer(0).weight);
}

TEST(EnsembleTest, BaggingMembersLearnAboutTwoThirdsOfTheRecords) {
  const std::vector<float> rows = CorrelatedRows(1000, 8);
  EnsembleOptions options;
  options.members = 3;
  options.bagging = true;
  auto e = Ensemble::Create(SmallModel(RuleKind::kDwStochastic, 5), options,
                            kDim, rows);
  ASSERT_TRUE(e.ok()) << e.status();
  for (size_t r = 0; r < 1000; ++r) (*e)->Learn(&rows[r * kDim]);
  for (int m = 0; m < 3; ++m) {
    EXPECT_GT((*e)->member(m).steps(), 560u);
    EXPECT_LT((*e)->member(m).steps(), 700u);
  }
}

TEST(EnsembleTest, MemberScaleEqualizesMembersOnNormalRows) {
  const std::vector<float> rows = CorrelatedRows(400, 9);
  EnsembleOptions options;
  options.group_size = 4;
  options.member_scale = true;
  auto e =
      Ensemble::Create(SmallModel(RuleKind::kFloat, 6), options, kDim, rows);
  ASSERT_TRUE(e.ok()) << e.status();
  for (size_t r = 0; r < 400; ++r) (*e)->Learn(&rows[r * kDim]);
  (*e)->FitScale(rows);
  // After scaling every member's mean score on the fit rows is the same.
  std::vector<double> mean((*e)->num_members(), 0.0);
  for (size_t r = 0; r < 400; ++r) {
    for (int m = 0; m < (*e)->num_members(); ++m) {
      Workspace mws = (*e)->member(m).MakeWorkspace();
      std::vector<float> x;
      for (int d : (*e)->member_dims(m)) x.push_back(rows[r * kDim + d]);
      mean[m] += (*e)->member(m).Score(x.data(), &mws) / 400.0;
    }
  }
  // Raw member scores differ (noise dims are hard, correlated ones easy),
  // weighted ones agree.
  const auto [lo, hi] = std::minmax_element(mean.begin(), mean.end());
  EXPECT_GT(*hi, 1.2 * *lo);
  for (int m = 0; m < (*e)->num_members(); ++m) {
    EXPECT_NEAR((*e)->member_weight(m) * mean[m],
                (*e)->member_weight(0) * mean[0], 1e-3 * mean[0]);
  }
}

TEST(EnsembleTest, SpecRoundTripsAndNamesBadParts) {
  for (const char* spec :
       {"k1", "k5", "k5-g32", "k3-std", "k5-g16-std-dn0.1", "k5-g32-ms",
        "k5-bag", "k2-std-ms-bag", "k5-mr", "k5-l1", "k3-g16-std-mr-l1"}) {
    auto o = ParseEnsembleSpec(spec, EnsembleOptions());
    ASSERT_TRUE(o.ok()) << spec << ": " << o.status();
    EXPECT_EQ(o->ToString(), spec);
  }
  for (const char* bad : {"", "5", "kx", "k0", "k5-g1", "k5-zz", "k5-dn2"}) {
    auto o = ParseEnsembleSpec(bad, EnsembleOptions());
    EXPECT_FALSE(o.ok()) << bad;
  }
  EXPECT_NE(ParseEnsembleSpec("k5-zz", EnsembleOptions())
                .status()
                .message()
                .find("'zz'"),
            std::string::npos);
}

TEST(EnsembleTest, DefaultsAreTheValidatedChoice) {
  EXPECT_EQ(DefaultEnsemble(RuleKind::kFloat).ToString(), "k5");
  EXPECT_EQ(DefaultEnsemble(RuleKind::kDwShadow).ToString(), "k5-l1");
  EXPECT_EQ(DefaultEnsemble(RuleKind::kDwStochastic).ToString(), "k5-g32");
}

// The serving copy scores as the ensemble does: exactly on the float path,
// within the integer path's tolerance for device levels; the per-dimension
// explanation averages the covering members.
TEST(EnsembleTest, ScoringEnsembleScoresAsTheEnsemble) {
  const std::vector<float> rows = CorrelatedRows(300, 4);
  for (RuleKind kind : {RuleKind::kFloat, RuleKind::kDwStochastic}) {
    for (const char* spec : {"k1", "k3", "k2-g4-std-ms", "k1-l1", "k3-l1",
                             "k3-mr", "k2-g4-mr-l1"}) {
      absl::StatusOr<EnsembleOptions> options = ParseEnsembleSpec(spec, {});
      ASSERT_TRUE(options.ok()) << options.status();
      auto e = Ensemble::Create(SmallModel(kind, 3), *options, kDim, rows);
      ASSERT_TRUE(e.ok()) << e.status();
      for (size_t r = 0; r < 300; ++r) (*e)->Learn(&rows[r * kDim]);
      (*e)->FitScale(rows);
      const ScoringEnsemble scorer(**e);
      EXPECT_EQ(scorer.num_members(), (*e)->num_members());
      EXPECT_EQ(scorer.integer_members(),
                kind == RuleKind::kFloat ? 0 : (*e)->num_members());
      EnsembleWorkspace ews = (*e)->MakeWorkspace();
      ScoringEnsembleScratch scratch = scorer.MakeScratch();
      EXPECT_TRUE(scorer.Fits(scratch));
      std::vector<float> errors(kDim), reconstruction(kDim);
      for (size_t r = 0; r < 50; ++r) {
        const float want = (*e)->Score(&rows[r * kDim], &ews);
        const float got = scorer.Score(&rows[r * kDim], &scratch);
        if (kind == RuleKind::kFloat) {
          EXPECT_EQ(got, want) << spec;
        } else {
          EXPECT_NEAR(got, want, 2e-3 + 0.02 * want) << spec;
        }
        scorer.Explain(&scratch, errors.data(), reconstruction.data());
        double mean_error = 0;
        for (int d = 0; d < kDim; ++d) {
          const float gap = reconstruction[d] - rows[r * kDim + d];
          // One member: its error; several: the mean of their squared
          // errors, at least the square of the mean reconstruction's.
          if ((*e)->num_members() == 1) {
            EXPECT_NEAR(errors[d], gap * gap, 1e-6) << spec;
          } else {
            EXPECT_GE(errors[d], gap * gap - 1e-6f) << spec;
          }
          mean_error += errors[d];
        }
        // Without scales the score is the mean of the explained errors.
        if (!options->standardize && !options->member_scale &&
            !options->absolute_error && !options->mean_reconstruction) {
          EXPECT_NEAR(mean_error / kDim, got, 1e-5) << spec;
        }
      }
    }
  }
}

TEST(EnsembleTest, ScratchOfAnotherLayoutDoesNotFit) {
  const std::vector<float> rows = CorrelatedRows(100, 6);
  auto one = Ensemble::Create(SmallModel(RuleKind::kFloat, 1), {}, kDim, rows);
  absl::StatusOr<EnsembleOptions> grouped = ParseEnsembleSpec("k2-g4", {});
  ASSERT_TRUE(grouped.ok());
  auto two =
      Ensemble::Create(SmallModel(RuleKind::kFloat, 1), *grouped, kDim, rows);
  ASSERT_TRUE(one.ok() && two.ok());
  const ScoringEnsemble a(**one), b(**two);
  EXPECT_FALSE(a.Fits(b.MakeScratch()));
  EXPECT_FALSE(b.Fits(a.MakeScratch()));
  EXPECT_TRUE(b.Fits(b.MakeScratch()));
}

TEST(EnsembleTest, SaveAndLoadMembersRoundTrip) {
  const std::vector<float> rows = CorrelatedRows(200, 8);
  absl::StatusOr<EnsembleOptions> options = ParseEnsembleSpec("k2-g4-std", {});
  ASSERT_TRUE(options.ok());
  const ModelConfig config = SmallModel(RuleKind::kDwShadow, 2);
  auto e = Ensemble::Create(config, *options, kDim, rows);
  ASSERT_TRUE(e.ok()) << e.status();
  for (size_t r = 0; r < 200; ++r) (*e)->Learn(&rows[r * kDim]);
  (*e)->FitScale(rows);
  v1::ModelState state;
  (*e)->SaveMembers(state.mutable_members());
  ASSERT_EQ(state.members_size(), (*e)->num_members());
  auto back =
      Ensemble::CreateWithGroups(config, *options, kDim, (*e)->groups());
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_TRUE((*back)->LoadMembers(state.members()).ok());
  EnsembleWorkspace a = (*e)->MakeWorkspace(), b = (*back)->MakeWorkspace();
  for (size_t r = 0; r < 20; ++r) {
    EXPECT_EQ((*e)->Score(&rows[r * kDim], &a),
              (*back)->Score(&rows[r * kDim], &b));
  }
  // Another layout refuses the states.
  auto other = Ensemble::Create(config, {}, kDim, rows);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE((*other)->LoadMembers(state.members()).ok());
}

}  // namespace
}  // namespace dwae
