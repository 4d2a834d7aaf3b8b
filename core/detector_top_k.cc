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
  // With no slot, Offer would compare with top[0] (never filled) and write
  // top[-1].
  if (k <= 0) return 0;
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

#if defined(__AVX2__)
// kCompress.lanes[m]: the indices of the set bits of the 8-bit mask m, in
// order (then zeros), for writing a block's candidates without a branch.
struct CompressTable {
  uint8_t lanes[256][8] = {};
  constexpr CompressTable() {
    for (int m = 0; m < 256; ++m) {
      int n = 0;
      for (int lane = 0; lane < 8; ++lane) {
        if (m >> lane & 1) lanes[m][n++] = uint8_t(lane);
      }
    }
  }
};
constexpr CompressTable kCompress;

// The first pass's bar: half the (k + 1)-th largest error of the
// last record this thread ranked. Only the speed depends on it.
thread_local float t_bar = 0;
constexpr int kMaxFilteredDim = 1024;
#endif

// How many times this thread's TopDeviations handed a record to the
// reference (TopDeviationsFallbacks).
thread_local int64_t t_fallbacks = 0;

}  // namespace

int64_t TopDeviationsFallbacks() { return t_fallbacks; }

int TopDeviations(const float* errors, const float* values,
                  const float* reconstruction, int dim, int k,
                  FeatureDeviation* top) {
  // best[] holds kMaxTopK + 1 entries: a larger k is clamped as
  // ScoringModel::Conclude clamps it.
  k = std::min(k, kMaxTopK);
  if (k <= 0 || dim <= 0) return 0;
  // The k + 1 largest errors, largest first. Without NaN, and when no two
  // of them are equal, the reference's heap ends holding exactly the k
  // largest (each enters when offered: the full heap then holds one that
  // is not among the k + 1 largest, which is smaller; none of them can be
  // pushed out), in that order. Otherwise its answer depends on the order
  // of its heap, and the reference runs.
  Kept best[kMaxTopK + 1];
  const int capacity = std::min(k + 1, dim);
  int size = 0;
  bool nan = false;
  bool ranked = false;
#if defined(__AVX2__)
  // First, without a branch per block: the dimensions whose error is above
  // a bar (t_bar). When at least k + 1 are, the k + 1 largest are among
  // them (all others are at most the bar), and only they are ranked.
  // A bar carried from another record may be far too high: then it is
  // lowered and the pass repeated, twice at most.
  float bar = t_bar;
  for (int pass = 0; pass < 3 && dim <= kMaxFilteredDim && !ranked && !nan;
       ++pass, bar *= 1.0f / 64) {
    int candidates[kMaxFilteredDim + 8];
    int count = 0, d = 0;
    const __m256 bar8 = _mm256_set1_ps(bar);
    __m256 unordered = _mm256_setzero_ps();
    for (; d + 8 <= dim; d += 8) {
      const __m256 block = _mm256_loadu_ps(errors + d);
      unordered =
          _mm256_or_ps(unordered, _mm256_cmp_ps(block, block, _CMP_UNORD_Q));
      const unsigned above =
          unsigned(_mm256_movemask_ps(_mm256_cmp_ps(block, bar8, _CMP_GT_OQ)));
      const __m256i lanes = _mm256_cvtepu8_epi32(_mm_loadl_epi64(
          reinterpret_cast<const __m128i*>(kCompress.lanes[above])));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(candidates + count),
                          _mm256_add_epi32(lanes, _mm256_set1_epi32(d)));
      count += _mm_popcnt_u32(above);
    }
    nan = _mm256_movemask_ps(unordered) != 0;
    for (; d < dim; ++d) {
      nan |= std::isnan(errors[d]);
      candidates[count] = d;
      count += errors[d] > bar;
    }
    if (!nan && count >= capacity) {
      for (int i = 0; i < count; ++i) {
        const int c = candidates[i];
        if (size < capacity || errors[c] > best[capacity - 1].error) {
          Insert(errors[c], c, capacity, best, &size);
        }
      }
      ranked = true;
    }
  }
#endif
  if (!ranked && !nan) {
    // Every dimension; only an error greater than the smallest kept can
    // enter.
    int d = 0;
    for (; d < capacity; ++d) {
      nan |= std::isnan(errors[d]);
      Insert(errors[d], d, capacity, best, &size);
    }
    for (; d < dim; ++d) {
      nan |= std::isnan(errors[d]);
      if (errors[d] > best[capacity - 1].error) {
        Insert(errors[d], d, capacity, best, &size);
      }
    }
  }
  bool tie = false;
  for (int i = 0; !nan && i + 1 < capacity; ++i) {
    tie |= best[i].error == best[i + 1].error;
  }
  if (nan || tie) {
    ++t_fallbacks;
    return TopDeviationsReference(errors, values, reconstruction, dim, k, top);
  }
#if defined(__AVX2__)
  t_bar = 0.5f * best[capacity - 1].error;
#endif
  const int n = std::min(k, dim);
  for (int i = 0; i < n; ++i) {
    const int kept = best[i].dimension;
    top[i] = {kept, errors[kept], values[kept], reconstruction[kept]};
  }
  return n;
}

}  // namespace dwae
