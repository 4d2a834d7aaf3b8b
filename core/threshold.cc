#include "core/threshold.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace dwae {

absl::StatusOr<ThresholdMode> ParseThresholdMode(absl::string_view name) {
  if (name == "quantile") return ThresholdMode::kQuantile;
  if (name == "adaptive") return ThresholdMode::kAdaptive;
  return absl::InvalidArgumentError(absl::StrCat(
      "threshold: unknown mode '", name, "' (expected quantile or adaptive)"));
}

const char* ThresholdModeName(ThresholdMode mode) {
  return mode == ThresholdMode::kQuantile ? "quantile" : "adaptive";
}

double Quantile(std::vector<float> values, double q) {
  if (values.empty()) return 0.0;
  q = q >= 0 ? std::min(q, 1.0) : 0.0;  // NaN -> 0
  const double pos = q * double(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  std::nth_element(values.begin(), values.begin() + lo, values.end());
  const double a = values[lo];
  double b = a;
  if (hi != lo) b = *std::min_element(values.begin() + hi, values.end());
  return a + (pos - double(lo)) * (b - a);
}

ScoreHistogram::ScoreHistogram() : counts_(kNumBins, 0.0) {}

void ScoreHistogram::Add(double score, double weight) {
  // NaN and +inf land in the top bin, zero and negatives in the bottom one.
  double log10 = std::isnan(score) ? kMaxLog10
                 : score > 0       ? std::log10(score)
                                   : kMinLog10;
  log10 = std::clamp(log10, kMinLog10, kMaxLog10);
  const int bin = std::min(
      static_cast<int>(std::floor((log10 - kMinLog10) * kBinsPerDecade)),
      kNumBins - 1);
  counts_[bin] += weight;
  total_ += weight;
}

void ScoreHistogram::Decay(double factor) {
  for (double& c : counts_) c *= factor;
  total_ *= factor;
}

void ScoreHistogram::set_counts(const std::vector<double>& counts) {
  counts_ = counts;
  counts_.resize(kNumBins, 0.0);
  total_ = 0;
  for (double c : counts_) total_ += c;
}

double ScoreHistogram::BinUpperEdge(int bin) {
  return std::pow(10.0, kMinLog10 + double(bin + 1) / kBinsPerDecade);
}

double ScoreHistogram::OtsuThreshold(double fallback) const {
  // Class statistics over bin indices (log-score units).
  double sum_all = 0;
  int occupied = 0;
  for (int b = 0; b < kNumBins; ++b) {
    sum_all += b * counts_[b];
    occupied += counts_[b] > 0 ? 1 : 0;
  }
  if (occupied < 2 || total_ <= 0) return fallback;
  double w0 = 0, sum0 = 0, best = -1;
  int best_bin = -1;
  for (int b = 0; b < kNumBins - 1; ++b) {
    w0 += counts_[b];
    sum0 += b * counts_[b];
    const double w1 = total_ - w0;
    if (w0 <= 0 || w1 <= 0) continue;
    const double mean0 = sum0 / w0;
    const double mean1 = (sum_all - sum0) / w1;
    const double between = w0 * w1 * (mean0 - mean1) * (mean0 - mean1);
    if (between > best) {
      best = between;
      best_bin = b;
    }
  }
  return best_bin < 0 ? fallback : BinUpperEdge(best_bin);
}

double AdaptiveThreshold(const ScoreHistogram& histogram,
                         const AdaptiveBounds& bounds) {
  const double cut = histogram.OtsuThreshold(bounds.upper);
  return std::clamp(cut, bounds.lower, std::max(bounds.lower, bounds.upper));
}

}  // namespace dwae
