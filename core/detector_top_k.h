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
// (rare: none of the stream bench's records) the reference runs. In the
// stream daemon it took 7 % of the CPU against 14 % for the heap (perf,
// performance.md).
//
// Thread-safety: may run on many threads at once; the bar is per thread
// and only decides how fast an answer comes, never what it is.
#ifndef DWAE_CORE_DETECTOR_TOP_K_H_
#define DWAE_CORE_DETECTOR_TOP_K_H_

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
int TopDeviations(const float* errors, const float* values,
                  const float* reconstruction, int dim, int k,
                  FeatureDeviation* top);
int TopDeviationsReference(const float* errors, const float* values,
                           const float* reconstruction, int dim, int k,
                           FeatureDeviation* top);

}  // namespace dwae

#endif  // DWAE_CORE_DETECTOR_TOP_K_H_
