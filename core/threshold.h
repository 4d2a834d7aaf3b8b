// Label-free anomaly thresholds.
//
// (a) Quantile: the q-quantile of the scores of held-out normal training rows
//     (rows the model never trained on). Needs no labels at scoring time.
// (b) Adaptive: a two-component split of the score distribution of the
//     unlabeled stream: Otsu's criterion (the cut that maximizes the
//     between-class variance) on a histogram of log10(score), bounded to
//     [lower, upper], two quantiles of the held-out normal scores, so that a
//     stream with no attacks, or only attacks, cannot drag the threshold
//     anywhere absurd. It sees scores only, never labels.
//
// Thread-safety: Quantile is pure. A ScoreHistogram is not synchronized.
#ifndef DWAE_CORE_THRESHOLD_H_
#define DWAE_CORE_THRESHOLD_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dwae {

// Which label-free threshold is in force.
enum class ThresholdMode { kQuantile, kAdaptive };
// "quantile" or "adaptive".
absl::StatusOr<ThresholdMode> ParseThresholdMode(absl::string_view name);
const char* ThresholdModeName(ThresholdMode mode);

// Linear-interpolation quantile (numpy's default), q in [0, 1]. 0 for an
// empty input.
double Quantile(std::vector<float> values, double q);

// A fixed-bin histogram of log10(score) over [1e-9, 10], 100 bins a decade.
// Scores outside go to the end bins.
class ScoreHistogram {
 public:
  static constexpr double kMinLog10 = -9.0;
  static constexpr double kMaxLog10 = 1.0;
  static constexpr int kBinsPerDecade = 100;
  static constexpr int kNumBins =
      static_cast<int>((kMaxLog10 - kMinLog10) * kBinsPerDecade);

  ScoreHistogram();

  void Add(double score, double weight = 1.0);
  // Multiplies every count by `factor` (exponential forgetting in a stream).
  void Decay(double factor);
  double total() const { return total_; }
  const std::vector<double>& counts() const { return counts_; }
  void set_counts(const std::vector<double>& counts);

  // Otsu's cut: the score at the upper edge of the last bin of the lower
  // class. Returns `fallback` if fewer than two bins are occupied.
  double OtsuThreshold(double fallback) const;

  static double BinUpperEdge(int bin);

 private:
  std::vector<double> counts_;
  double total_ = 0;
};

struct AdaptiveBounds {
  double lower = 0;
  double upper = 0;
};

// Otsu's cut of `histogram`, clamped to `bounds`.
double AdaptiveThreshold(const ScoreHistogram& histogram,
                         const AdaptiveBounds& bounds);

}  // namespace dwae

#endif  // DWAE_CORE_THRESHOLD_H_
