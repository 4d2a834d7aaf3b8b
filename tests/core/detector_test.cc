// Tests of the live detector on the shipped NSL-KDD data: warm-up, the
// thresholds, scoring and explanations, snapshots, determinism and
// checkpoint round trips (bit-identical scores before and after). Small
// warm-ups keep the suite fast.
#include "core/detector.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/checkpoint.h"
#include "core/config.h"
#include "core/dataset.h"
#include "core/encoder.h"
#include "core/record.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

using ::testing::HasSubstr;

constexpr char kTrain[] =
    DWAE_SOURCE_DIR "/data/nsl-kdd/KDDTrain+_20Percent.txt";
constexpr uint64_t kWarmup = 2000;

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

DetectorConfig SmallConfig(RuleKind rule = RuleKind::kDwShadow,
                           ThresholdMode mode = ThresholdMode::kQuantile) {
  DetectorConfig c;
  c.model.rule.kind = rule;
  c.learning.warmup_records = kWarmup;
  c.learning.warmup_epochs = 2;
  c.threshold.mode = mode;
  c.threshold.quantile = 0.95;
  return c;
}

std::unique_ptr<Detector> MustCreate(const DetectorConfig& config) {
  absl::StatusOr<std::unique_ptr<Detector>> d = Detector::Create(config);
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? *std::move(d) : nullptr;
}

std::vector<float> ScoreAll(const ScoringModel& model,
                            const std::vector<Record>& rows, size_t begin,
                            size_t count) {
  ScoringScratch scratch = model.MakeScratch();
  ScoreResult result;
  std::vector<float> scores;
  for (size_t i = begin; i < begin + count && i < rows.size(); ++i) {
    model.Score(rows[i], 0, &scratch, &result);
    scores.push_back(result.score);
  }
  return scores;
}

void ExpectBitIdentical(const std::vector<float>& a,
                        const std::vector<float>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(Bits(a[i]), Bits(b[i]))
        << "score " << i << ": " << a[i] << " vs " << b[i];
  }
}

class DetectorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto rows = LoadRecords(kTrain, RecordFormat::kNslKdd);
    ASSERT_TRUE(rows.ok()) << rows.status();
    all_ = new std::vector<Record>(*std::move(rows));
    normal_ = new std::vector<Record>(NormalRows(*all_));
    neptune_ = new std::vector<Record>();
    for (const Record& r : *all_) {
      if (r.label == "neptune") neptune_->push_back(r);
    }
  }
  static void TearDownTestSuite() {
    delete all_;
    delete normal_;
    delete neptune_;
    all_ = normal_ = neptune_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(all_, nullptr);
    ASSERT_GE(normal_->size(), 6000u);
    ASSERT_GE(neptune_->size(), 1000u);
  }

  static void LearnRange(Detector* d, const std::vector<Record>& rows,
                         size_t begin, size_t count) {
    for (size_t i = begin; i < begin + count; ++i) d->Learn(rows[i]);
  }

  static std::vector<Record>* all_;
  static std::vector<Record>* normal_;
  static std::vector<Record>* neptune_;
};

std::vector<Record>* DetectorTest::all_ = nullptr;
std::vector<Record>* DetectorTest::normal_ = nullptr;
std::vector<Record>* DetectorTest::neptune_ = nullptr;

TEST_F(DetectorTest, CreateRejectsInvalidConfig) {
  DetectorConfig c = SmallConfig();
  c.learning.warmup_records = 1;
  absl::StatusOr<std::unique_ptr<Detector>> d = Detector::Create(c);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(d.status().message()),
              HasSubstr("learning.warmup_records"));
}

TEST_F(DetectorTest, BeforeLearningEverythingIsNormal) {
  std::unique_ptr<Detector> d = MustCreate(SmallConfig());
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->warming_up());
  EXPECT_EQ(d->records_learned(), 0u);
  EXPECT_EQ(d->threshold(), std::numeric_limits<double>::infinity());
  EXPECT_EQ(d->threshold_source(), "warmup");

  std::shared_ptr<const ScoringModel> model = d->Publish();
  EXPECT_TRUE(model->warming_up());
  EXPECT_EQ(model->threshold(), std::numeric_limits<double>::infinity());
  EXPECT_EQ(model->threshold_source(), "warmup");
  ScoringScratch scratch = model->MakeScratch();
  ScoreResult result;
  for (size_t i = 0; i < 300; ++i) {
    model->Score((*neptune_)[i], 3, &scratch, &result);
    EXPECT_FALSE(result.anomalous) << i;
    model->Score((*all_)[i], 3, &scratch, &result);
    EXPECT_FALSE(result.anomalous) << i;
  }
}

TEST_F(DetectorTest, WarmupEndsAfterExactlyWarmupRecords) {
  std::unique_ptr<Detector> d =
      MustCreate(SmallConfig(RuleKind::kDwShadow, ThresholdMode::kAdaptive));
  ASSERT_NE(d, nullptr);
  LearnRange(d.get(), *normal_, 0, kWarmup - 1);
  EXPECT_TRUE(d->warming_up());
  EXPECT_EQ(d->records_learned(), kWarmup - 1);
  EXPECT_EQ(d->threshold_source(), "warmup");
  EXPECT_TRUE(std::isinf(d->threshold()));
  EXPECT_TRUE(d->Publish()->warming_up());

  d->Learn((*normal_)[kWarmup - 1]);
  EXPECT_FALSE(d->warming_up());
  EXPECT_EQ(d->records_learned(), kWarmup);
  EXPECT_TRUE(std::isfinite(d->threshold()));
  EXPECT_GT(d->threshold(), 0);
  EXPECT_EQ(d->threshold_source(), "quantile");
  std::shared_ptr<const ScoringModel> model = d->Publish();
  EXPECT_FALSE(model->warming_up());
  EXPECT_EQ(model->threshold(), d->threshold());
  EXPECT_EQ(model->threshold_source(), "quantile");

  // The adaptive threshold takes over once 200 scores were observed.
  const std::vector<float> scores = ScoreAll(*model, *normal_, kWarmup, 200);
  ASSERT_EQ(scores.size(), 200u);
  for (int i = 0; i < 199; ++i) d->Observe(scores[i]);
  EXPECT_EQ(d->threshold_source(), "quantile");
  d->Observe(scores[199]);
  EXPECT_EQ(d->threshold_source(), "adaptive");
  EXPECT_TRUE(std::isfinite(d->threshold()));
  EXPECT_GT(d->threshold(), 0);

  // Learning after warm-up keeps counting.
  LearnRange(d.get(), *normal_, kWarmup, 10);
  EXPECT_EQ(d->records_learned(), kWarmup + 10);
  EXPECT_FALSE(d->warming_up());
}

TEST_F(DetectorTest, QuantileModeIgnoresObservations) {
  std::unique_ptr<Detector> d = MustCreate(SmallConfig());
  ASSERT_NE(d, nullptr);
  LearnRange(d.get(), *normal_, 0, kWarmup);
  const double before = d->threshold();
  for (int i = 0; i < 500; ++i) d->Observe(1e-3 * (i % 7 + 1));
  EXPECT_EQ(d->threshold_source(), "quantile");
  EXPECT_EQ(d->threshold(), before);
}

TEST_F(DetectorTest, FlagsAboutOneMinusQuantileOfNormalAndMostAttacks) {
  std::unique_ptr<Detector> d = MustCreate(SmallConfig());
  ASSERT_NE(d, nullptr);
  LearnRange(d.get(), *normal_, 0, kWarmup);
  std::shared_ptr<const ScoringModel> model = d->Publish();
  ScoringScratch scratch = model->MakeScratch();
  ScoreResult result;

  int flagged = 0;
  const int kHeldOut = 3000;
  for (int i = 0; i < kHeldOut; ++i) {
    model->Score((*normal_)[kWarmup + i], 0, &scratch, &result);
    flagged += result.anomalous;
    EXPECT_EQ(result.anomalous, !(result.score <= model->threshold()));
  }
  const double normal_rate = double(flagged) / kHeldOut;
  EXPECT_GE(normal_rate, 0.01);
  EXPECT_LE(normal_rate, 0.15);

  int attacks = 0;
  const int kAttacks = 2000;
  for (int i = 0; i < kAttacks; ++i) {
    model->Score((*neptune_)[i], 0, &scratch, &result);
    attacks += result.anomalous;
  }
  EXPECT_GT(double(attacks) / kAttacks, 0.80);
}

TEST_F(DetectorTest, TopFeaturesExplainTheScore) {
  std::unique_ptr<Detector> d = MustCreate(SmallConfig());
  ASSERT_NE(d, nullptr);
  LearnRange(d.get(), *normal_, 0, kWarmup);
  std::shared_ptr<const ScoringModel> model = d->Publish();
  ScoringScratch scratch = model->MakeScratch();
  for (const Record* r :
       {&(*neptune_)[0], &(*neptune_)[1], &(*normal_)[5000], &(*all_)[0]}) {
    ScoreResult result;
    model->Score(*r, kMaxTopK, &scratch, &result);
    ASSERT_EQ(result.num_top, kMaxTopK);
    for (int i = 0; i < result.num_top; ++i) {
      const FeatureDeviation& f = result.top[i];
      ASSERT_GE(f.dimension, 0);
      ASSERT_LT(f.dimension, kInputDim);
      if (i > 0) {
        EXPECT_GE(result.top[i - 1].squared_error, f.squared_error);
      }
      const double diff = double(f.value) - double(f.reconstruction);
      EXPECT_NEAR(f.squared_error, diff * diff, 1e-6);
      EXPECT_EQ(f.value, scratch.input[f.dimension]);
      EXPECT_EQ(f.squared_error, scratch.errors[f.dimension]);
    }
    // Distinct dimensions, and they are the largest errors.
    std::vector<int> dims;
    for (int i = 0; i < result.num_top; ++i) {
      dims.push_back(result.top[i].dimension);
    }
    std::sort(dims.begin(), dims.end());
    EXPECT_EQ(std::unique(dims.begin(), dims.end()), dims.end());
    std::vector<float> errors = scratch.errors;
    ASSERT_EQ(errors.size(), static_cast<size_t>(kInputDim));
    std::sort(errors.begin(), errors.end(), std::greater<float>());
    for (int i = 0; i < kMaxTopK; ++i) {
      EXPECT_EQ(result.top[i].squared_error, errors[i]);
    }
    // The score (the default dw-shadow model's: k1-l1) is the mean absolute
    // error over all dimensions.
    ASSERT_TRUE(d->config().ensemble.absolute_error);
    double sum = 0;
    for (float e : scratch.errors) sum += std::sqrt(double(e));
    EXPECT_NEAR(sum / kInputDim, result.score,
                1e-5 * std::max(1.0, double(result.score)));

    // Smaller k gives a prefix of the same ranking.
    ScoreResult three;
    model->Score(*r, 3, &scratch, &three);
    ASSERT_EQ(three.num_top, 3);
    EXPECT_EQ(Bits(three.score), Bits(result.score));
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(three.top[i].squared_error, result.top[i].squared_error);
    }

    ScoreResult none;
    model->Score(*r, 0, &scratch, &none);
    EXPECT_EQ(none.num_top, 0);
    EXPECT_EQ(Bits(none.score), Bits(result.score));

    ScoreResult too_many;
    model->Score(*r, kMaxTopK + 10, &scratch, &too_many);
    EXPECT_EQ(too_many.num_top, kMaxTopK);
    ScoreResult negative;
    model->Score(*r, -1, &scratch, &negative);
    EXPECT_EQ(negative.num_top, 0);
  }
}

TEST_F(DetectorTest, FixedAndAutomaticThresholds) {
  std::unique_ptr<Detector> d =
      MustCreate(SmallConfig(RuleKind::kDwShadow, ThresholdMode::kAdaptive));
  ASSERT_NE(d, nullptr);
  // An operator may fix the threshold even during warm-up.
  d->SetFixedThreshold(0.25);
  EXPECT_EQ(d->threshold(), 0.25);
  EXPECT_EQ(d->threshold_source(), "fixed");
  d->SetAutomaticThreshold(ThresholdMode::kAdaptive);
  EXPECT_EQ(d->threshold_source(), "warmup");

  LearnRange(d.get(), *normal_, 0, kWarmup);
  const double quantile = d->threshold();
  EXPECT_EQ(d->threshold_source(), "quantile");  // nothing observed yet

  d->SetFixedThreshold(0.01);
  EXPECT_EQ(d->threshold(), 0.01);
  EXPECT_EQ(d->threshold_source(), "fixed");
  std::shared_ptr<const ScoringModel> model = d->Publish();
  EXPECT_EQ(model->threshold(), 0.01);
  EXPECT_EQ(model->threshold_source(), "fixed");

  // Observations do not move a fixed threshold.
  std::shared_ptr<const ScoringModel> scorer = d->Publish();
  for (float s : ScoreAll(*scorer, *normal_, kWarmup, 300)) d->Observe(s);
  EXPECT_EQ(d->threshold(), 0.01);
  EXPECT_EQ(d->threshold_source(), "fixed");

  d->SetAutomaticThreshold(ThresholdMode::kQuantile);
  EXPECT_EQ(d->threshold_source(), "quantile");
  EXPECT_EQ(d->threshold(), quantile);
  d->SetAutomaticThreshold(ThresholdMode::kAdaptive);
  EXPECT_EQ(d->threshold_source(), "adaptive");
  EXPECT_TRUE(std::isfinite(d->threshold()));
  EXPECT_EQ(d->Publish()->threshold_source(), "adaptive");
}

TEST_F(DetectorTest, PublishedSnapshotIsUnaffectedByLaterLearning) {
  for (RuleKind rule : {RuleKind::kFloat, RuleKind::kDwShadow}) {
    SCOPED_TRACE(RuleName(rule));
    std::unique_ptr<Detector> d = MustCreate(SmallConfig(rule));
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->model_version(), 0u);

    // During warm-up (the encoder still widens) ...
    LearnRange(d.get(), *normal_, 0, 500);
    std::shared_ptr<const ScoringModel> early = d->Publish();
    EXPECT_EQ(d->model_version(), 1u);
    EXPECT_EQ(early->version(), 1u);
    const std::vector<float> early_before = ScoreAll(*early, *all_, 0, 200);

    // ... and after it.
    LearnRange(d.get(), *normal_, 500, kWarmup - 500 + 100);
    std::shared_ptr<const ScoringModel> late = d->Publish();
    EXPECT_EQ(late->version(), 2u);
    EXPECT_EQ(d->model_version(), 2u);
    const std::vector<float> late_before = ScoreAll(*late, *all_, 0, 200);

    LearnRange(d.get(), *normal_, kWarmup + 100, 300);
    ExpectBitIdentical(early_before, ScoreAll(*early, *all_, 0, 200));
    ExpectBitIdentical(late_before, ScoreAll(*late, *all_, 0, 200));
    EXPECT_EQ(early->version(), 1u);
    EXPECT_TRUE(early->warming_up());
    EXPECT_FALSE(late->warming_up());

    std::shared_ptr<const ScoringModel> newest = d->Publish();
    EXPECT_EQ(newest->version(), 3u);
    if (rule == RuleKind::kFloat) {
      // Float weights move with every step.
      EXPECT_NE(ScoreAll(*newest, *all_, 0, 200), late_before);
    }
  }
}

TEST_F(DetectorTest, SameConfigAndRecordsGiveBitIdenticalScores) {
  for (RuleKind rule :
       {RuleKind::kFloat, RuleKind::kDwShadow, RuleKind::kDwStochastic}) {
    SCOPED_TRACE(RuleName(rule));
    std::unique_ptr<Detector> a = MustCreate(SmallConfig(rule));
    std::unique_ptr<Detector> b = MustCreate(SmallConfig(rule));
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    LearnRange(a.get(), *normal_, 0, kWarmup + 200);
    LearnRange(b.get(), *normal_, 0, kWarmup + 200);
    EXPECT_EQ(a->threshold(), b->threshold());
    ExpectBitIdentical(ScoreAll(*a->Publish(), *all_, 0, 500),
                       ScoreAll(*b->Publish(), *all_, 0, 500));
  }
}

// The learner may reuse a snapshot's encoding (the server carries it in the
// queue): learning is bit-identical to encoding again; an encoding from
// another detector, or one offered during warm-up, is not used.
TEST_F(DetectorTest, CarriedEncodingLearnsExactlyLikeEncodingAgain) {
  std::unique_ptr<Detector> a = MustCreate(SmallConfig(RuleKind::kDwShadow));
  std::unique_ptr<Detector> b = MustCreate(SmallConfig(RuleKind::kDwShadow));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const std::vector<float> garbage(kInputDim, 0.5f);
  for (size_t i = 0; i < kWarmup; ++i) {
    a->Learn((*normal_)[i]);
    b->Process((*normal_)[i], Detector::LearnDecision::kYes, garbage.data(),
               b->encoder_id());
  }
  std::shared_ptr<const ScoringModel> snapshot = b->Publish();
  ASSERT_FALSE(snapshot->warming_up());
  ScoringScratch scratch = snapshot->MakeScratch();
  ScoreResult result;
  for (size_t i = kWarmup; i < kWarmup + 300; ++i) {
    const Record& r = (*all_)[i];
    a->Process(r, Detector::LearnDecision::kIfNormal);
    snapshot->Score(r, 0, &scratch, &result);
    b->Process(r, Detector::LearnDecision::kIfNormal, scratch.input.data(),
               snapshot->encoder_id());
    // Another detector's id: encoded again.
    a->Process(r, Detector::LearnDecision::kNo, garbage.data(),
               b->encoder_id());
    b->Process(r, Detector::LearnDecision::kNo, garbage.data(),
               a->encoder_id());
  }
  EXPECT_EQ(a->records_learned(), b->records_learned());
  ExpectBitIdentical(ScoreAll(*a->Publish(), *all_, 0, 300),
                     ScoreAll(*b->Publish(), *all_, 0, 300));
}

TEST_F(DetectorTest, DifferentSeedsGiveDifferentModels) {
  DetectorConfig c1 = SmallConfig(RuleKind::kFloat);
  DetectorConfig c2 = c1;
  c2.model.seed = 2;
  std::unique_ptr<Detector> a = MustCreate(c1);
  std::unique_ptr<Detector> b = MustCreate(c2);
  LearnRange(a.get(), *normal_, 0, 300);
  LearnRange(b.get(), *normal_, 0, 300);
  EXPECT_NE(ScoreAll(*a->Publish(), *all_, 0, 50),
            ScoreAll(*b->Publish(), *all_, 0, 50));
}

// ------------------------------------------------------------ checkpoint ---

std::unique_ptr<Detector> RoundTrip(const Detector& d) {
  v1::ModelState state;
  d.Save(&state);
  absl::StatusOr<v1::ModelState> decoded =
      DecodeCheckpoint(EncodeCheckpoint(state));
  EXPECT_TRUE(decoded.ok()) << decoded.status();
  if (!decoded.ok()) return nullptr;
  absl::StatusOr<std::unique_ptr<Detector>> restored =
      Detector::Restore(*decoded);
  EXPECT_TRUE(restored.ok()) << restored.status();
  return restored.ok() ? *std::move(restored) : nullptr;
}

struct RoundTripCase {
  RuleKind rule;
  size_t learned_before;  // records learned before the checkpoint
  size_t learned_after;   // records both learn after it
  const char* ensemble = "k1";
};

void PrintTo(const RoundTripCase& c, std::ostream* os) {
  *os << RuleName(c.rule) << " " << c.ensemble << " learned "
      << c.learned_before << " then " << c.learned_after;
}

class DetectorCheckpointTest
    : public DetectorTest,
      public ::testing::WithParamInterface<RoundTripCase> {};

TEST_P(DetectorCheckpointTest, RestoredDetectorScoresBitIdentically) {
  const RoundTripCase& c = GetParam();
  DetectorConfig config = SmallConfig(c.rule, ThresholdMode::kAdaptive);
  absl::StatusOr<EnsembleOptions> ensemble =
      ParseEnsembleSpec(c.ensemble, config.ensemble);
  ASSERT_TRUE(ensemble.ok()) << ensemble.status();
  config.ensemble = *ensemble;
  std::unique_ptr<Detector> original = MustCreate(config);
  ASSERT_NE(original, nullptr);
  LearnRange(original.get(), *normal_, 0, c.learned_before);
  if (!original->warming_up()) {
    // Give the adaptive histogram some mass.
    for (float s : ScoreAll(*original->Publish(), *all_, 0, 250)) {
      original->Observe(s);
    }
    EXPECT_EQ(original->threshold_source(), "adaptive");
  }
  original->Publish();

  std::unique_ptr<Detector> restored = RoundTrip(*original);
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(restored->records_learned(), original->records_learned());
  EXPECT_EQ(restored->warming_up(), original->warming_up());
  EXPECT_EQ(restored->model_version(), original->model_version());
  EXPECT_EQ(restored->threshold_source(), original->threshold_source());
  EXPECT_EQ(restored->threshold(), original->threshold());
  EXPECT_EQ(restored->config().model.rule.kind, c.rule);
  EXPECT_EQ(restored->model().ShapeString(), original->model().ShapeString());

  std::shared_ptr<const ScoringModel> a = original->Publish();
  std::shared_ptr<const ScoringModel> b = restored->Publish();
  EXPECT_EQ(a->version(), b->version());
  EXPECT_EQ(a->threshold(), b->threshold());
  ExpectBitIdentical(ScoreAll(*a, *all_, 1000, 500),
                     ScoreAll(*b, *all_, 1000, 500));

  LearnRange(original.get(), *normal_, c.learned_before, c.learned_after);
  LearnRange(restored.get(), *normal_, c.learned_before, c.learned_after);
  EXPECT_EQ(original->records_learned(), c.learned_before + c.learned_after);
  EXPECT_EQ(restored->records_learned(), original->records_learned());
  EXPECT_FALSE(original->warming_up());
  EXPECT_FALSE(restored->warming_up());
  // After the warm-up the whole configured ensemble serves.
  const EnsembleOptions& e = config.ensemble;
  EXPECT_EQ(restored->model().num_members() % e.members, 0);
  EXPECT_EQ(restored->model().num_members() > e.members, e.group_size > 0);
  EXPECT_EQ(restored->model().ShapeString(), original->model().ShapeString());
  EXPECT_EQ(restored->threshold(), original->threshold());
  EXPECT_EQ(restored->threshold_source(), original->threshold_source());
  ExpectBitIdentical(ScoreAll(*original->Publish(), *all_, 1000, 500),
                     ScoreAll(*restored->Publish(), *all_, 1000, 500));

  // A second round trip of the continued detector is still identical.
  std::unique_ptr<Detector> again = RoundTrip(*restored);
  ASSERT_NE(again, nullptr);
  ExpectBitIdentical(ScoreAll(*restored->Publish(), *all_, 2000, 200),
                     ScoreAll(*again->Publish(), *all_, 2000, 200));
}

std::vector<RoundTripCase> RoundTripCases() {
  std::vector<RoundTripCase> cases;
  for (RuleKind rule :
       {RuleKind::kFloat, RuleKind::kDwShadow, RuleKind::kDwStochastic}) {
    cases.push_back({rule, 700, 1600});  // mid-warm-up, then well past it
    cases.push_back({rule, 1800, 300});  // mid-warm-up, crossing its end
    cases.push_back({rule, 2300, 300});  // after warm-up
  }
  // Ensembles: K members, and feature groups formed at the warm-up's end.
  cases.push_back({RuleKind::kDwShadow, 2300, 300, "k3"});
  cases.push_back({RuleKind::kDwStochastic, 1800, 300, "k2-g32"});
  cases.push_back({RuleKind::kDwStochastic, 2300, 300, "k2-g32"});
  cases.push_back({RuleKind::kFloat, 700, 1600, "k2-g48-std-ms"});
  return cases;
}

std::string RoundTripName(const ::testing::TestParamInfo<RoundTripCase>& info) {
  std::string rule = RuleName(info.param.rule);
  rule.erase(std::remove(rule.begin(), rule.end(), '-'), rule.end());
  std::string ensemble = info.param.ensemble;
  ensemble.erase(std::remove(ensemble.begin(), ensemble.end(), '-'),
                 ensemble.end());
  return rule + "_" + ensemble + "_After" +
         std::to_string(info.param.learned_before);
}

INSTANTIATE_TEST_SUITE_P(Rules, DetectorCheckpointTest,
                         ::testing::ValuesIn(RoundTripCases()), RoundTripName);

TEST_F(DetectorTest, FixedThresholdSurvivesRestore) {
  std::unique_ptr<Detector> d = MustCreate(SmallConfig());
  LearnRange(d.get(), *normal_, 0, kWarmup);
  d->SetFixedThreshold(0.0123);
  std::unique_ptr<Detector> r = RoundTrip(*d);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->threshold(), 0.0123);
  EXPECT_EQ(r->threshold_source(), "fixed");
  r->SetAutomaticThreshold(ThresholdMode::kQuantile);
  d->SetAutomaticThreshold(ThresholdMode::kQuantile);
  EXPECT_EQ(r->threshold(), d->threshold());
}

// A checkpoint written before the first record must behave like a fresh
// detector: the encoder's first Update has to start from its row.
TEST_F(DetectorTest, RestoreOfAnUntrainedDetectorMatchesAFreshOne) {
  std::unique_ptr<Detector> fresh = MustCreate(SmallConfig());
  ASSERT_NE(fresh, nullptr);
  std::unique_ptr<Detector> restored = RoundTrip(*fresh);
  ASSERT_NE(restored, nullptr);
  LearnRange(fresh.get(), *normal_, 0, 100);
  LearnRange(restored.get(), *normal_, 0, 100);
  ExpectBitIdentical(ScoreAll(*fresh->Publish(), *all_, 1000, 200),
                     ScoreAll(*restored->Publish(), *all_, 1000, 200));
}

class DetectorRestoreErrorTest : public DetectorTest {
 protected:
  // A dw-shadow detector in the middle of its warm-up.
  v1::ModelState MidWarmupState() {
    std::unique_ptr<Detector> d = MustCreate(SmallConfig());
    EXPECT_NE(d, nullptr);
    v1::ModelState state;
    if (d == nullptr) return state;
    LearnRange(d.get(), *normal_, 0, 300);
    d->Save(&state);
    return state;
  }

  static void ExpectInvalid(const v1::ModelState& state,
                            const std::string& part) {
    absl::StatusOr<std::unique_ptr<Detector>> r = Detector::Restore(state);
    ASSERT_FALSE(r.ok()) << "expected an error naming " << part;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
        << r.status();
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(part));
  }
};

TEST_F(DetectorRestoreErrorTest, UnmodifiedStateRestores) {
  EXPECT_TRUE(Detector::Restore(MidWarmupState()).ok());
}

TEST_F(DetectorRestoreErrorTest, WrongRule) {
  v1::ModelState state = MidWarmupState();
  state.mutable_members(0)->mutable_rule()->set_rule("dw-stochastic");
  ExpectInvalid(state, "rule");
  state.mutable_members(0)->mutable_rule()->set_rule("float");
  ExpectInvalid(state, "rule");
}

TEST_F(DetectorRestoreErrorTest, ConfigRuleDisagreesWithState) {
  v1::ModelState state = MidWarmupState();
  state.mutable_config()->mutable_model()->set_rule("dw-stochastic");
  ExpectInvalid(state, "rule");
}

TEST_F(DetectorRestoreErrorTest, NotchOutOfRange) {
  for (char bad : {char(5), char(100), char(-1)}) {
    v1::ModelState state = MidWarmupState();
    ASSERT_GT(state.members(0).rule().layers_size(), 0);
    std::string* notches = state.mutable_members(0)
                               ->mutable_rule()
                               ->mutable_layers(0)
                               ->mutable_weight_notches();
    ASSERT_FALSE(notches->empty());
    (*notches)[notches->size() / 2] = bad;
    ExpectInvalid(state, "weight_notches");
  }
  v1::ModelState state = MidWarmupState();
  std::string* bias = state.mutable_members(0)
                          ->mutable_rule()
                          ->mutable_layers(1)
                          ->mutable_bias_notches();
  ASSERT_FALSE(bias->empty());
  (*bias)[0] = char(9);
  ExpectInvalid(state, "bias_notches");
  // A missing device is an error too.
  state = MidWarmupState();
  state.mutable_members(0)
      ->mutable_rule()
      ->mutable_layers(0)
      ->mutable_weight_notches()
      ->pop_back();
  ExpectInvalid(state, "weight_notches");
}

TEST_F(DetectorRestoreErrorTest, EnsembleMembersMustMatchTheLayout) {
  v1::ModelState state = MidWarmupState();
  ASSERT_EQ(state.members_size(), 1);
  EXPECT_FALSE(state.has_rule());
  state.clear_members();
  ExpectInvalid(state, "members: none");
  // Two members saved for a k1 model.
  state = MidWarmupState();
  *state.add_members() = state.members(0);
  ExpectInvalid(state, "members");
  // A k3 configuration with one member saved.
  state = MidWarmupState();
  state.mutable_config()->mutable_model()->set_ensemble("k3");
  ExpectInvalid(state, "not a multiple");
  // A member covering a feature group in a model without groups.
  state = MidWarmupState();
  state.mutable_members(0)->add_dims(3);
  ExpectInvalid(state, "feature group");
  // A bad scale.
  state = MidWarmupState();
  state.mutable_members(0)->mutable_inv_scale()->Resize(125, -1.0f);
  ExpectInvalid(state, "member 0");
}

TEST_F(DetectorRestoreErrorTest, WrongHistogramSize) {
  v1::ModelState state = MidWarmupState();
  state.mutable_threshold()->mutable_histogram()->Resize(
      ScoreHistogram::kNumBins - 1, 0.0);
  ExpectInvalid(state, "histogram");
  state.mutable_threshold()->clear_histogram();
  ExpectInvalid(state, "threshold");
  state.mutable_threshold()->mutable_histogram()->Resize(
      ScoreHistogram::kNumBins + 1, 0.0);
  ExpectInvalid(state, "histogram");
}

TEST_F(DetectorRestoreErrorTest, BadWarmupRecord) {
  v1::ModelState state = MidWarmupState();
  ASSERT_EQ(state.warmup_buffer_size(), 300);
  state.mutable_warmup_buffer(17)->mutable_features()->set_src_bytes(-1);
  ExpectInvalid(state, "warmup_buffer");
  ExpectInvalid(state, "src_bytes");

  state = MidWarmupState();
  state.mutable_warmup_buffer(3)->clear_features();
  ExpectInvalid(state, "warmup_buffer");
}

TEST_F(DetectorRestoreErrorTest, WarmupBufferSizeMustMatch) {
  v1::ModelState state = MidWarmupState();
  state.mutable_warmup_buffer()->RemoveLast();
  ExpectInvalid(state, "warmup_buffer");
  state = MidWarmupState();
  state.set_records_learned(kWarmup + 5);  // past warm-up with a buffer
  ExpectInvalid(state, "warmup_buffer");
}

TEST_F(DetectorRestoreErrorTest, BadEncoderAndConfig) {
  v1::ModelState state = MidWarmupState();
  state.mutable_encoder()->mutable_min()->RemoveLast();
  ExpectInvalid(state, "encoder");
  state = MidWarmupState();
  state.mutable_encoder()->set_max(0, -1);
  state.mutable_encoder()->set_min(0, 5);
  ExpectInvalid(state, "encoder");
  state = MidWarmupState();
  state.mutable_config()->mutable_learning()->set_warmup_records(3);
  ExpectInvalid(state, "learning.warmup_records");
}

}  // namespace
}  // namespace dwae
