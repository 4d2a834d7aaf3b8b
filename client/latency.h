// Latency samples for `dwae bench`: every sample is kept (no histogram
// buckets, no sampling), so the percentiles are exact order statistics.
//
//   LatencySamples s;
//   s.Add(0.42);  // milliseconds
//   LatencySummary sum = Summarize(std::move(s));
//
// Percentiles use the nearest-rank definition: the p-quantile of n sorted
// samples is sample ceil(p * n) (1-based), so p50 <= p99 <= p999 <= max
// always holds and every reported figure is a latency that was observed.
//
// Thread-safety: LatencySamples is a value; give each thread its own and
// Merge() them at the end.
#ifndef DWAE_CLIENT_LATENCY_H_
#define DWAE_CLIENT_LATENCY_H_

#include <cstddef>
#include <vector>

namespace dwae {

class LatencySamples {
 public:
  void Reserve(size_t n) { ms_.reserve(n); }
  void Add(double ms) { ms_.push_back(ms); }
  void Merge(const LatencySamples& other) {
    ms_.insert(ms_.end(), other.ms_.begin(), other.ms_.end());
  }
  size_t size() const { return ms_.size(); }
  const std::vector<double>& values() const { return ms_; }
  std::vector<double>& mutable_values() { return ms_; }

 private:
  std::vector<double> ms_;
};

struct LatencySummary {
  size_t count = 0;
  // Milliseconds; all 0 when there are no samples.
  double min_ms = 0;
  double mean_ms = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  double max_ms = 0;
};

// The nearest-rank `p`-quantile (p in [0, 1]) of `sorted` (ascending,
// non-empty); p <= 0 gives the minimum.
double NearestRank(const std::vector<double>& sorted, double p);

// Sorts the samples and summarizes them.
LatencySummary Summarize(LatencySamples samples);

}  // namespace dwae

#endif  // DWAE_CLIENT_LATENCY_H_
