// Helpers shared by the benchmarks that run an old and a new binary in one
// run (daemon_bench, kafka_bench): the order of the binaries in each round
// and the median over rounds.
//
// Thread-safety: pure functions.
#ifndef DWAE_BENCH_PAIRED_ROUNDS_H_
#define DWAE_BENCH_PAIRED_ROUNDS_H_

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace dwae::bench {

// The (name, binary) pairs to run in round `round`: "candidate" alone when
// `baseline` is empty, else both, baseline first in even rounds and last in
// odd ones (ABBA), so that a drift of the machine's speed during the run
// favours neither.
inline std::vector<std::pair<std::string, std::string>> PairedOrder(
    const std::string& candidate, const std::string& baseline, int round) {
  std::vector<std::pair<std::string, std::string>> order = {
      {"candidate", candidate}};
  if (!baseline.empty()) {
    order.insert(round % 2 == 0 ? order.begin() : order.end(),
                 {"baseline", baseline});
  }
  return order;
}

// The median of `v`; 0 when it is empty.
inline double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace dwae::bench

#endif  // DWAE_BENCH_PAIRED_ROUNDS_H_
