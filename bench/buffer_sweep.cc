// BM_ScoreOneBufferSweep: the integer path's slow mode, measured in one
// process.
//
// In a few fresh processes in a hundred, BM_ScoreOne runs 1.2-1.8x slower
// for the whole process and its ratio to BM_ScoreOneFloat falls under 2
// (docs/performance.md, "A slow mode of the integer path"). What decides it
// is where the buffers the integer pass stores its outputs to land: a slow
// workspace stays slow for as long as it lives, and a new one is most
// likely fast. Counting slow fresh processes takes hundreds of them; this
// counts slow placements within one, for both paths.
//
// kScorers scorers of each path are made one after the other, so each
// holds its own buffers (workspace, encoded floats and bytes) at its own
// place in the heap. In each of kPasses passes the integer scorers are
// timed one after the other, then the float scorers, each visit kRounds
// slices of kSlice records (the records walk through the test rows); each
// pass visits the scorers in a different order. A scorer's time is its
// fastest slice: a slow spell of the machine, which slows the slices timed
// during it, would have to cover every visit to make a fast scorer look
// slow. A path's passes do not alternate with the other path slice by
// slice (as BM_ScoreOnePaired's do): within a pass the path's tables stay
// in cache and only the buffers change, as in BM_ScoreOne.
//
// Counters:
//   int_ns, float_ns          median over the scorers of each path's time
//   int_max_ns, float_max_ns  the slowest scorer's
//   int_slow, float_slow      scorers more than 15 % slower than the median
//   ratio                     float_ns over int_ns
//   ratio_min                 float_ns over int_max_ns
//   below_2x                  integer scorers slower than float_ns / 2 (the
//                             placements where BM_ScoreOne would miss the
//                             2x target against a typical float scorer)
#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

#include "bench/core_bench_data.h"
#include "bench/core_bench_scorers.h"
#include "bench/paired_rounds.h"
#include "benchmark/benchmark.h"

namespace dwae::bench {
namespace {

constexpr int kScorers = 256;
constexpr int kPasses = 3;
constexpr int kRounds = 2;
constexpr size_t kSlice = 2048;
constexpr double kSlowFactor = 1.15;

// The first row of the next slice, from *next, which moves on along the
// walk through the test rows (whole slices: the last rows' remainder is
// left out).
size_t TakeSlice(const std::vector<Record>& rows, size_t* next) {
  const size_t first = *next;
  *next = (*next + kSlice) % (rows.size() / kSlice * kSlice);
  return first;
}

// The scorer visited i-th in pass `pass`: in order, in reverse, then by an
// odd stride (which permutes 0..kScorers-1).
int ScorerAt(int pass, int i) {
  if (pass == 0) return i;
  if (pass == 1) return kScorers - 1 - i;
  return (i * 101 + 37) % kScorers;
}

// One pass over `scorers` in pass `pass`'s order: kRounds slices each,
// keeping each scorer's fastest slice in (*ns)[s].
template <typename Scorer>
void SweepPass(const std::vector<Record>& rows, int pass,
               const std::vector<std::unique_ptr<Scorer>>& scorers,
               size_t* next, std::vector<double>* ns) {
  for (int i = 0; i < kScorers; ++i) {
    const int s = ScorerAt(pass, i);
    for (int r = 0; r < kRounds; ++r) {
      (*ns)[s] = std::min((*ns)[s], NanosPerRecord(rows, TakeSlice(rows, next),
                                                   kSlice, *scorers[s]));
    }
  }
}

int CountAbove(const std::vector<double>& v, double limit) {
  return static_cast<int>(
      std::count_if(v.begin(), v.end(), [&](double x) { return x > limit; }));
}

double Max(const std::vector<double>& v) {
  return *std::max_element(v.begin(), v.end());
}

void BM_ScoreOneBufferSweep(benchmark::State& state) {
  const std::vector<Record>& rows = GetData().test_rows;
  std::vector<std::unique_ptr<IntegerScorer>> integer;
  std::vector<std::unique_ptr<FloatScorer>> floating;
  for (int s = 0; s < kScorers; ++s) {
    integer.push_back(std::make_unique<IntegerScorer>());
    floating.push_back(std::make_unique<FloatScorer>());
  }
  std::vector<double> int_ns(kScorers, 1e30), float_ns(kScorers, 1e30);
  size_t next = 0;
  for (auto _ : state) {
    for (int pass = 0; pass < kPasses; ++pass) {
      SweepPass(rows, pass, integer, &next, &int_ns);
      SweepPass(rows, pass, floating, &next, &float_ns);
    }
  }
  const double int_median = Median(int_ns), float_median = Median(float_ns);
  state.counters["int_ns"] = int_median;
  state.counters["float_ns"] = float_median;
  state.counters["int_max_ns"] = Max(int_ns);
  state.counters["float_max_ns"] = Max(float_ns);
  state.counters["int_slow"] = CountAbove(int_ns, kSlowFactor * int_median);
  state.counters["float_slow"] =
      CountAbove(float_ns, kSlowFactor * float_median);
  state.counters["ratio"] = float_median / int_median;
  state.counters["ratio_min"] = float_median / Max(int_ns);
  state.counters["below_2x"] = CountAbove(int_ns, float_median / 2);
  state.SetItemsProcessed(int64_t{kScorers} * kPasses * kRounds * 2 *
                          static_cast<int64_t>(kSlice));
}
BENCHMARK(BM_ScoreOneBufferSweep)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace dwae::bench
