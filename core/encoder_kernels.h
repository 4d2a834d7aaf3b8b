// The numeric kernels of FeatureEncoder (encoder.cc): log1p with a table for
// the small integers, and min-max scaling with clipping to [0, 1], scalar
// and vector forms that return the same floats (encoder_oracle_test checks
// them against the per-column formula). Internal to the encoder.
//
// Thread-safety: pure functions (the log1p table is built once, on first
// use, thread-safely).
#ifndef DWAE_CORE_ENCODER_KERNELS_H_
#define DWAE_CORE_ENCODER_KERNELS_H_

#include <cmath>

namespace dwae {
namespace encoder_internal {

// log1p of the small integers (counts, most byte and packet numbers of a
// scan), computed once with std::log1p, so results are identical.
inline constexpr int kLog1pTableSize = 1024;
const double* Log1pTable();

// std::log1p(x), from the table for the integers in [0, 1024). Inline: the
// zeek encoder calls it per log1p column of every record.
inline double Log1p(double x) {
  static const double* const kTable = Log1pTable();
  if (x >= 0 && x < kLog1pTableSize) {
    const int i = static_cast<int>(x);
    if (i == x) return kTable[i];
  }
  return std::log1p(x);
}

// *out = (t - min) * inv clipped to [0, 1], NaN (an empty range times
// infinity, a NaN input) to 0, then rounded to float.
void ScaleAndClip(double t, double min, double inv, float* out);

// out[j] = ScaleAndClip(t[j], min[j], inv[j]) for j < n.
void ScaleAndClip(const double* t, const double* min, const double* inv, int n,
                  float* out);

// out[columns[i]] = ScaleAndClip(Log1p(numeric[sources[i]]), min[columns[i]],
// inv[columns[i]]) for i < n.
void Log1pScaleAndClip(const double* numeric, const int* sources,
                       const int* columns, int n, const double* min,
                       const double* inv, float* out);

}  // namespace encoder_internal
}  // namespace dwae

#endif  // DWAE_CORE_ENCODER_KERNELS_H_
