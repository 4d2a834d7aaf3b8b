#include "core/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace dwae {
namespace {

double Ratio(uint64_t num, uint64_t den) {
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

// A strict weak order on scores with NaN (a diverged model) above +inf, so
// that sorting is defined and a NaN counts as the most anomalous score.
bool ScoreLess(float a, float b) {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return a < b;
}

bool SameScore(float a, float b) {
  return !ScoreLess(a, b) && !ScoreLess(b, a);
}

std::vector<int> OrderByScore(const std::vector<float>& scores) {
  std::vector<int> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return ScoreLess(scores[a], scores[b]);
  });
  return order;
}

}  // namespace

void Confusion::Add(bool predicted_anomaly, bool actual_anomaly) {
  if (actual_anomaly) {
    ++(predicted_anomaly ? tp : fn);
  } else {
    ++(predicted_anomaly ? fp : tn);
  }
}

double Confusion::accuracy() const { return Ratio(tp + tn, total()); }
double Confusion::precision() const { return Ratio(tp, tp + fp); }
double Confusion::recall() const { return Ratio(tp, tp + fn); }
double Confusion::fpr() const { return Ratio(fp, fp + tn); }
double Confusion::f1() const { return Ratio(2 * tp, 2 * tp + fp + fn); }

Confusion Classify(const std::vector<float>& scores,
                   const std::vector<bool>& is_anomaly, double threshold) {
  Confusion c;
  for (size_t i = 0; i < scores.size(); ++i) {
    // Written so that a NaN score (a diverged model) is flagged.
    c.Add(!(scores[i] <= threshold), is_anomaly[i]);
  }
  return c;
}

double RocAuc(const std::vector<float>& scores,
              const std::vector<bool>& is_anomaly) {
  const std::vector<int> order = OrderByScore(scores);
  // Sum of the (average, 1-based) ranks of the positives.
  double rank_sum = 0;
  uint64_t positives = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i + 1;
    while (j < order.size() && SameScore(scores[order[j]], scores[order[i]])) {
      ++j;
    }
    const double mean_rank = 0.5 * double(i + 1 + j);
    for (size_t k = i; k < j; ++k) {
      if (is_anomaly[order[k]]) {
        rank_sum += mean_rank;
        ++positives;
      }
    }
    i = j;
  }
  const uint64_t negatives = scores.size() - positives;
  if (positives == 0 || negatives == 0) return 0.5;
  const double u = rank_sum - 0.5 * double(positives) * double(positives + 1);
  return u / (double(positives) * double(negatives));
}

OracleResult OracleAccuracy(const std::vector<float>& scores,
                            const std::vector<bool>& is_anomaly) {
  const std::vector<int> order = OrderByScore(scores);
  const uint64_t n = scores.size();
  uint64_t positives = 0;
  for (bool a : is_anomaly) positives += a ? 1 : 0;
  // Threshold below everything: all flagged; correct = positives.
  uint64_t correct = positives;
  OracleResult best{
      Ratio(correct, n),
      n == 0 ? 0.0
             : std::nextafter(double(scores[order[0]]),
                              -std::numeric_limits<double>::infinity())};
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && SameScore(scores[order[j]], scores[order[i]])) ++j;
    // Raising the threshold to scores[order[i]] un-flags rows i .. j-1.
    for (size_t k = i; k < j; ++k) {
      if (is_anomaly[order[k]]) {
        --correct;
      } else {
        ++correct;
      }
    }
    const double accuracy = Ratio(correct, n);
    if (accuracy > best.accuracy) best = {accuracy, scores[order[i]]};
    i = j;
  }
  return best;
}

}  // namespace dwae
