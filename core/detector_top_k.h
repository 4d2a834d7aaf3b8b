// The top-k per-dimension deviations of a scored record (the "top features"
// of a verdict): the k largest squared reconstruction errors, largest first.
//
// TopDeviationsReference is the specification: a min-heap of size k fed
// with every dimension in index order (a later dimension enters only when
// its error is strictly greater than the heap's smallest), then sorted.
// Which of several equal errors are kept, and their order, is whatever that
// heap does, and verdicts have always carried exactly that.
//
// TopDeviations gives the same result bit for bit (tests compare them, ties
// and NaN included) without the heap. A first pass, without a branch per
// block, lists the dimensions whose error is above a bar (half the k + 1-th
// largest error of the previous record the thread ranked; lowered and run
// again when fewer than k + 1 pass it); when at least k + 1 do, the k + 1
// largest are among them, and only they are ranked, in a small sorted
// array. When no error is NaN and no two of the k + 1 largest are equal,
// the heap's answer is exactly the k largest, largest first; otherwise
// (rare: none of the stream bench's records) the reference runs.
// Measured with perf in the stream daemon under load (docs/performance.md,
// 2026-12-03): the heap 14.2 % of the daemon's CPU (506 ns a record, 22:51,
// load 1.3), this code 6.9 % (189 ns, 23:38, load about 4: two runs, not
// one paired run); the first pass alone took the version without it from
// 9.4 % to 6.9 %, and that version (a sorted array, no bar) measured 8 %
// against the heap's 14 %.
//
// Thread-safety: may run on many threads at once; the bar is per thread
// and only decides how fast an answer comes, never what it is.
#ifndef DWAE_CORE_DETECTOR_TOP_K_H_
#define DWAE_CORE_DETECTOR_TOP_K_H_

#include <cstdint>

namespace dwae {

inline constexpr int kMaxTopK = 32;

struct FeatureDeviation {
  int dimension = 0;  // FeatureEncoder::DimensionName(dimension)
  float squared_error = 0;
  float value = 0;
  float reconstruction = 0;
};

// Fills top[0..returned) with the min(k, dim) (k in [0, kMaxTopK]) largest
// errors[d] as {d, errors[d], values[d], reconstruction[d]}, largest first.
// TopDeviations clamps k to [0, kMaxTopK]; for the reference, top must have
// room for k entries.
int TopDeviations(const float* errors, const float* values,
                  const float* reconstruction, int dim, int k,
                  FeatureDeviation* top);
// How many times TopDeviations on the calling thread has given a record to
// the reference (NaN or ties among the k + 1 largest) since the thread
// started: for tests that must know the fast path ran.
int64_t TopDeviationsFallbacks();
int TopDeviationsReference(const float* errors, const float* values,
                           const float* reconstruction, int dim, int k,
                           FeatureDeviation* top);

}  // namespace dwae

#endif  // DWAE_CORE_DETECTOR_TOP_K_H_
