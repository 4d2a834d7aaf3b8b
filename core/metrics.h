// Detection metrics: confusion counts, ROC AUC and the oracle accuracy.
//
// "Positive" means anomalous (an attack). A record is predicted anomalous
// when its score is strictly above the threshold; a NaN score (a diverged
// model) counts as the most anomalous.
//
// Thread-safety: values and pure functions.
#ifndef DWAE_CORE_METRICS_H_
#define DWAE_CORE_METRICS_H_

#include <cstdint>
#include <vector>

namespace dwae {

struct Confusion {
  uint64_t tp = 0, fp = 0, tn = 0, fn = 0;

  void Add(bool predicted_anomaly, bool actual_anomaly);
  uint64_t total() const { return tp + fp + tn + fn; }
  double accuracy() const;
  double precision() const;  // 0 when nothing was flagged
  double recall() const;     // detection rate; 0 without attacks
  double f1() const;
  double fpr() const;  // false-alarm rate; 0 without normal rows
};

Confusion Classify(const std::vector<float>& scores,
                   const std::vector<bool>& is_anomaly, double threshold);

// Area under the ROC curve (Mann-Whitney U, ties counted half). 0.5 when one
// class is missing.
double RocAuc(const std::vector<float>& scores,
              const std::vector<bool>& is_anomaly);

// The best accuracy over all thresholds, chosen WITH the labels: an upper
// bound for reference, never a deployable result.
struct OracleResult {
  double accuracy = 0;
  double threshold = 0;
};
OracleResult OracleAccuracy(const std::vector<float>& scores,
                            const std::vector<bool>& is_anomaly);

}  // namespace dwae

#endif  // DWAE_CORE_METRICS_H_
