// Poisoning: does an attack flood teach the detector that attacks are
// normal? A detector with the default configuration (dw-shadow, adaptive
// threshold) but a 5,000-record warm-up learns 5,000 normal rows of
// KDDTrain+_20Percent. Then 20,000 attack rows (KDDTrain+_20Percent's attack
// rows, cycled) are pushed through Process():
//   - gated (kIfNormal, the daemon's policy after warm-up): a record is only
//     learned if the current model scores it normal;
//   - ungated (kYes, learn everything), from the identical warmed-up state.
// Accuracy on a fixed held-out slice of KDDTest+ (every 3rd row) with the
// model's own threshold is measured before and after each flood. Gating
// must keep the drop under 2 points and below the ungated drop.
// Deterministic: fixed seed, single thread, fixed data.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/dataset.h"
#include "core/detector.h"
#include "core/record.h"
#include "dwae/v1/checkpoint.pb.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

constexpr char kTrain[] =
    DWAE_SOURCE_DIR "/data/nsl-kdd/KDDTrain+_20Percent.txt";
constexpr char kTest[] = DWAE_SOURCE_DIR "/data/nsl-kdd/KDDTest+.txt";
constexpr uint64_t kWarmup = 5000;
constexpr size_t kFlood = 20000;
constexpr size_t kEvalStride = 3;
constexpr double kMaxGatedDropPoints = 2.0;

// Accuracy (percent) of `model` on `rows` with the model's threshold.
double AccuracyPercent(const ScoringModel& model,
                       const std::vector<Record>& rows) {
  ScoringScratch scratch = model.MakeScratch();
  ScoreResult result;
  size_t correct = 0, tp = 0, fp = 0, pos = 0, neg = 0;
  for (const Record& r : rows) {
    model.Score(r, 0, &scratch, &result);
    correct += result.anomalous == !r.is_normal() ? 1 : 0;
    if (r.is_normal()) {
      ++neg;
      fp += result.anomalous;
    } else {
      ++pos;
      tp += result.anomalous;
    }
  }
  std::printf(
      "    threshold %.6g (%s), detection %.2f%%, false alarms %.2f%%\n",
      model.threshold(), model.threshold_source().c_str(), 100.0 * tp / pos,
      100.0 * fp / neg);
  return 100.0 * double(correct) / double(rows.size());
}

// Pushes kFlood attack rows (cycled) through Process(record, decision);
// returns how many were learned.
size_t Flood(Detector* d, const std::vector<Record>& attacks,
             Detector::LearnDecision decision) {
  size_t learned = 0;
  for (size_t i = 0; i < kFlood; ++i) {
    learned += d->Process(attacks[i % attacks.size()], decision) ? 1 : 0;
  }
  return learned;
}

struct Figures {
  double before = 0, after_gated = 0, after_all = 0;
  size_t gated_learned = 0, all_learned = 0;
  double gated_drop() const { return before - after_gated; }
  double all_drop() const { return before - after_all; }
};

// Warms a detector with `config` up on kWarmup normal rows, saves it, and
// floods two restored copies (gated, ungated); accuracies on `eval`.
void RunFloods(const DetectorConfig& config, const std::vector<Record>& normal,
               const std::vector<Record>& attacks,
               const std::vector<Record>& eval, Figures* f) {
  absl::StatusOr<std::unique_ptr<Detector>> warm = Detector::Create(config);
  ASSERT_TRUE(warm.ok()) << warm.status();
  for (size_t i = 0; i < kWarmup; ++i) {
    (*warm)->Process(normal[i], Detector::LearnDecision::kYes);
  }
  ASSERT_FALSE((*warm)->warming_up());
  v1::ModelState warmed;
  (*warm)->Save(&warmed);
  std::printf("  before:\n");
  f->before = AccuracyPercent(*(*warm)->Publish(), eval);

  // Both floods start from the identical saved state.
  absl::StatusOr<std::unique_ptr<Detector>> gated = Detector::Restore(warmed);
  ASSERT_TRUE(gated.ok()) << gated.status();
  absl::StatusOr<std::unique_ptr<Detector>> all = Detector::Restore(warmed);
  ASSERT_TRUE(all.ok()) << all.status();

  f->gated_learned =
      Flood(gated->get(), attacks, Detector::LearnDecision::kIfNormal);
  std::printf("  after the gated flood:\n");
  f->after_gated = AccuracyPercent(*(*gated)->Publish(), eval);
  f->all_learned = Flood(all->get(), attacks, Detector::LearnDecision::kYes);
  std::printf("  after the ungated flood:\n");
  f->after_all = AccuracyPercent(*(*all)->Publish(), eval);
}

class PoisoningTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::vector<Record>> train =
        LoadRecords(kTrain, RecordFormat::kNslKdd);
    ASSERT_TRUE(train.ok()) << train.status();
    absl::StatusOr<std::vector<Record>> test =
        LoadRecords(kTest, RecordFormat::kNslKdd);
    ASSERT_TRUE(test.ok()) << test.status();
    normal_ = new std::vector<Record>(NormalRows(*train));
    attacks_ = new std::vector<Record>();
    for (const Record& r : *train) {
      if (!r.is_normal()) attacks_->push_back(r);
    }
    eval_ = new std::vector<Record>();
    for (size_t i = 0; i < test->size(); i += kEvalStride) {
      eval_->push_back((*test)[i]);
    }
  }
  static void TearDownTestSuite() {
    delete normal_;
    delete attacks_;
    delete eval_;
    normal_ = attacks_ = eval_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(eval_, nullptr);
    ASSERT_GE(normal_->size(), kWarmup);
    ASSERT_GT(attacks_->size(), 5000u);
    ASSERT_GT(eval_->size(), 7000u);
  }

  static void Print(const char* what, const Figures& f) {
    std::printf(
        "poisoning (%s): held-out accuracy (%zu KDDTest+ rows) before "
        "%.2f%%; after %zu attack rows gated (kIfNormal, %zu learned) %.2f%% "
        "(drop %.2f points); after the same flood ungated (kYes, %zu "
        "learned) %.2f%% (drop %.2f points)\n",
        what, eval_->size(), f.before, kFlood, f.gated_learned, f.after_gated,
        f.gated_drop(), f.all_learned, f.after_all, f.all_drop());
    std::fflush(stdout);
  }

  static std::vector<Record>* normal_;
  static std::vector<Record>* attacks_;
  static std::vector<Record>* eval_;
};

std::vector<Record>* PoisoningTest::normal_ = nullptr;
std::vector<Record>* PoisoningTest::attacks_ = nullptr;
std::vector<Record>* PoisoningTest::eval_ = nullptr;

// The requirement, with the default configuration (dw-shadow, adaptive
// threshold): gating keeps the accuracy drop under 2 points and below the
// ungated drop.
TEST_F(PoisoningTest, GatedLearningResistsAnAttackFlood) {
  DetectorConfig config;
  ASSERT_EQ(config.model.rule.kind, RuleKind::kDwShadow);
  ASSERT_EQ(config.threshold.mode, ThresholdMode::kAdaptive);
  config.learning.warmup_records = kWarmup;
  Figures f;
  ASSERT_NO_FATAL_FAILURE(RunFloods(config, *normal_, *attacks_, *eval_, &f));
  Print("default config, adaptive threshold", f);
  EXPECT_LT(f.gated_drop(), kMaxGatedDropPoints);
  EXPECT_LT(f.gated_drop(), f.all_drop());
  EXPECT_EQ(f.all_learned, kFlood);
  EXPECT_LT(f.gated_learned, kFlood);
}

// The same floods with the threshold pinned to the warm-up quantile, so
// that only the model moves: separates what the flood does to the model
// from what it does to the adaptive threshold (which observes every score,
// learned or not).
TEST_F(PoisoningTest, GatingProtectsTheModelItself) {
  DetectorConfig config;
  config.learning.warmup_records = kWarmup;
  config.threshold.mode = ThresholdMode::kQuantile;
  Figures f;
  ASSERT_NO_FATAL_FAILURE(RunFloods(config, *normal_, *attacks_, *eval_, &f));
  Print("quantile threshold, model effect only", f);
  EXPECT_LT(f.gated_drop(), f.all_drop());
  EXPECT_LT(f.gated_learned, kFlood);
}

}  // namespace
}  // namespace dwae
