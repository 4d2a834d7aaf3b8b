#include "core/detector_top_k.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace dwae {
namespace {

// A function object (not a function pointer) so that the heap's
// comparisons are inlined; the order is the verdicts' as before.
struct ErrorGreater {
  bool operator()(const FeatureDeviation& a, const FeatureDeviation& b) const {
    return a.squared_error > b.squared_error;
  }
};

// The reference's step for dimension d with `size` of `k` slots in use.
inline void Offer(const float* errors, const float* values,
                  const float* reconstruction, int d, int k,
                  FeatureDeviation* top, int* size) {
  const FeatureDeviation dev{d, errors[d], values[d], reconstruction[d]};
  if (*size < k) {
    top[(*size)++] = dev;
    std::push_heap(top, top + *size, ErrorGreater());
  } else if (dev.squared_error > top[0].squared_error) {
    std::pop_heap(top, top + *size, ErrorGreater());
    top[*size - 1] = dev;
    std::push_heap(top, top + *size, ErrorGreater());
  }
}

}  // namespace

int TopDeviationsReference(const float* errors, const float* values,
                           const float* reconstruction, int dim, int k,
                           FeatureDeviation* top) {
  int size = 0;
  for (int d = 0; d < dim; ++d) {
    Offer(errors, values, reconstruction, d, k, top, &size);
  }
  std::sort_heap(top, top + size, ErrorGreater());
  return size;
}

namespace {

// A kept dimension. No member initializers: the array of them is not
// zeroed on every call.
struct Kept {
  float error;
  int dimension;
};

// Inserts {error, d} into best[0..*size) (sorted by error, largest first;
// at most `capacity` entries, the smallest dropped).
inline void Insert(float error, int d, int capacity, Kept* best, int* size) {
  int i = *size < capacity ? (*size)++ : capacity - 1;
  for (; i > 0 && best[i - 1].error < error; --i) best[i] = best[i - 1];
  best[i] = {error, d};
}

}  // namespace

int TopDeviations(const float* errors, const float* values,
                  const float* reconstruction, int dim, int k,
                  FeatureDeviation* top) {
  if (k <= 0 || dim <= 0) return 0;
  // The k + 1 largest errors, largest first. Without NaN, and when no two
  // of them are equal, the reference's heap ends holding exactly the k
  // largest (each enters when offered: the full heap then holds one that
  // is not among the k + 1 largest, which is smaller; none of them can be
  // pushed out), in that order. Otherwise its answer depends on the order
  // of its heap, and the reference runs.
  Kept best[kMaxTopK + 1];
  const int capacity = std::min(k + 1, dim);
  int size = 0, d = 0;
  bool nan = false;
  for (; d < capacity; ++d) {
    nan |= std::isnan(errors[d]);
    Insert(errors[d], d, capacity, best, &size);
  }
#if defined(__AVX2__)
  // Only an error greater than the smallest kept can enter: blocks of 8
  // are compared with it at once.
  for (; d + 8 <= dim; d += 8) {
    const __m256 block = _mm256_loadu_ps(errors + d);
    nan |= _mm256_movemask_ps(_mm256_cmp_ps(block, block, _CMP_UNORD_Q)) != 0;
    unsigned beat = unsigned(_mm256_movemask_ps(_mm256_cmp_ps(
        block, _mm256_set1_ps(best[capacity - 1].error), _CMP_GT_OQ)));
    for (; beat != 0; beat &= beat - 1) {
      const int i = d + int(__builtin_ctz(beat));
      if (errors[i] > best[capacity - 1].error) {
        Insert(errors[i], i, capacity, best, &size);
      }
    }
  }
#endif
  for (; d < dim; ++d) {
    nan |= std::isnan(errors[d]);
    if (errors[d] > best[capacity - 1].error) {
      Insert(errors[d], d, capacity, best, &size);
    }
  }
  bool tie = false;
  for (int i = 0; i + 1 < capacity; ++i) {
    tie |= best[i].error == best[i + 1].error;
  }
  if (nan || tie) {
    return TopDeviationsReference(errors, values, reconstruction, dim, k, top);
  }
  const int n = std::min(k, dim);
  for (int i = 0; i < n; ++i) {
    const int kept = best[i].dimension;
    top[i] = {kept, errors[kept], values[kept], reconstruction[kept]};
  }
  return n;
}

}  // namespace dwae
