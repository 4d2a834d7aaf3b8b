#include "client/latency.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace dwae {

double NearestRank(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double n = double(sorted.size());
  double rank = std::ceil(p * n);  // 1-based
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return sorted[size_t(rank) - 1];
}

LatencySummary Summarize(LatencySamples samples) {
  std::vector<double>& v = samples.mutable_values();
  LatencySummary s;
  s.count = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  s.min_ms = v.front();
  s.max_ms = v.back();
  s.mean_ms = sum / double(v.size());
  s.p50_ms = NearestRank(v, 0.50);
  s.p90_ms = NearestRank(v, 0.90);
  s.p99_ms = NearestRank(v, 0.99);
  s.p999_ms = NearestRank(v, 0.999);
  return s;
}

}  // namespace dwae
