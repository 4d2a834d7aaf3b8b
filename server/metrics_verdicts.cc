// Metrics: a scored batch's verdicts observed at once (Engine::Score).
// Per record, dwae_records_total, dwae_score and the confusion counters
// cost an atomic read-modify-write each and the labelled windows a lock:
// at hundreds of thousands of records a second on two cores that was a
// visible share of the daemon's time, and the scrapes see the same values
// once the batch is observed.
#include <algorithm>

#include "server/metrics.h"

namespace dwae {
namespace server {

void Metrics::ResetVerdictCounts(VerdictCounts* counts) const {
  counts->records = {};
  counts->score_buckets.assign(score_bounds_.size() + 1, 0.0);
  counts->score_sum = 0;
  counts->labelled.clear();
}

void Metrics::AddScore(VerdictCounts* counts, double score) const {
  // prometheus::Histogram::Observe's binning: the first bound >= score,
  // else +Inf (NaN included).
  const auto bound = std::find_if(score_bounds_.begin(), score_bounds_.end(),
                                  [score](double b) { return b >= score; });
  counts->score_buckets[size_t(bound - score_bounds_.begin())] += 1;
  counts->score_sum += score;
}

void Metrics::ObserveVerdicts(const VerdictCounts& counts) {
  for (size_t v = 0; v < counts.records.size(); ++v) {
    if (counts.records[v] > 0)
      records_[v]->Increment(double(counts.records[v]));
  }
  const uint64_t scored = counts.records[int(Verdict::kNormal)] +
                          counts.records[int(Verdict::kAnomaly)];
  if (scored > 0)
    score_->ObserveMultiple(counts.score_buckets, counts.score_sum);
  if (counts.labelled.empty()) return;
  std::array<uint64_t, 4> outcomes{};
  absl::MutexLock lock(&labelled_mu_);
  for (const auto& [predicted, actual] : counts.labelled) {
    const int outcome = Outcome(predicted, actual);
    ++outcomes[outcome];
    CountLabelledLocked(outcome);
  }
  PublishRatesLocked();
  for (size_t o = 0; o < outcomes.size(); ++o) {
    if (outcomes[o] > 0) confusion_[o]->Increment(double(outcomes[o]));
  }
}

}  // namespace server
}  // namespace dwae
