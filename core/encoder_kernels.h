// The numeric kernels of FeatureEncoder (encoder.cc): log1p with a table for
// the small integers, and min-max scaling with clipping to [0, 1], scalar
// and vector forms that return the same floats (encoder_oracle_test checks
// them against the per-column formula). Internal to the encoder.
//
// Thread-safety: pure functions (the log1p table is built once, on first
// use, thread-safely).
#ifndef DWAE_CORE_ENCODER_KERNELS_H_
#define DWAE_CORE_ENCODER_KERNELS_H_

#include <atomic>
#include <cmath>
#include <cstdint>

#include "core/record.h"

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

// True when this CPU runs EncodeKddAvx512 (AVX512F, BW, DQ and VL).
bool DetectEncoderAvx512();
// DetectEncoderAvx512(), asked once. Inline: checked on every encode.
inline bool CpuHasEncoderAvx512() {
  static const bool has = DetectEncoderAvx512();
  return has;
}

// For tests: true makes FeatureEncoder run its portable loops (the only
// path of a CPU without AVX-512) even where EncodeKddAvx512 would run, so
// both paths are tested on one machine; false restores the default. Set it
// only while no encode runs. Inline, so the check costs one load.
inline std::atomic<bool> scalar_encoder_forced{false};
inline void ForceScalarEncoderForTesting(bool force) {
  scalar_encoder_forced.store(force, std::memory_order_relaxed);
}
// True when FeatureEncoder runs EncodeKddAvx512 for the kdd schema.
inline bool UseEncoderAvx512() {
  return !scalar_encoder_forced.load(std::memory_order_relaxed) &&
         CpuHasEncoderAvx512();
}
// For tests: the portable loops for its lifetime (a failed ASSERT cannot
// leave them forced for the tests after it).
class ScopedForceScalarEncoder {
 public:
  ScopedForceScalarEncoder() { ForceScalarEncoderForTesting(true); }
  ~ScopedForceScalarEncoder() { ForceScalarEncoderForTesting(false); }
  ScopedForceScalarEncoder(const ScopedForceScalarEncoder&) = delete;
  ScopedForceScalarEncoder& operator=(const ScopedForceScalarEncoder&) = delete;
};

// The constants of the vector log1p beyond the table (EncodeKddAvx512):
// for the 16 intervals [1 + i/16, 1 + (i+1)/16) of a mantissa, inv_c[i] =
// 1 / c (c the interval's midpoint, rounded to double) and log_c[i] =
// -std::log(inv_c[i]) (so log(m) = log1p(m * inv_c - 1) + log_c exactly).
struct Log1pIntervals {
  alignas(64) double inv_c[16];
  alignas(64) double log_c[16];
};
const Log1pIntervals& Log1pIntervalTable();

// The vector log1p's bound: |y - std::log1p(x)| <= kLog1pBeyondTableBound *
// y for finite x >= kLog1pTableSize (encoder_avx512.cc derives it, with a
// margin of more than 16 over the approximation's error and std::log1p's).
inline constexpr double kLog1pBeyondTableBound = 0x1p-40;

// For tests, call only when CpuHasEncoderAvx512(): y[i] = the vector
// approximation of log1p(x[i]) for 8 finite x[i] >= kLog1pTableSize.
void Log1pBeyondTableAvx512(const double* x, double* y);

// The kdd layout (encoder.h) of `record`, call only when
// CpuHasEncoderAvx512(): looks its three names up (encoder_layout.h); min
// and inv are the 38 columns' fitted statistics (at least 40 entries
// readable, inv >= 0). Writes the 125 floats FeatureEncoder::Encode writes,
// and, when q is not null, 128 bytes to q: each float v as QuantizeInput
// onto [0, 1] makes it, (uint8)(v * 255 + 0.5) with one rounding, then
// three zeros. The numeric columns: when `numeric` is null, computed here,
// and then it returns false, writing nothing, for a record whose float the
// vector log1p cannot decide or that needs std::log1p (a log1p column's
// value negative, fractional below the table's end, NaN or infinite), so
// that the caller passes the portable loops' 38 floats in `numeric` (40
// readable) in a second call. Returns true when it wrote.
bool EncodeKddAvx512(const Record& record, const double* min, const double* inv,
                     const float* numeric, float* out, uint8_t* q);

}  // namespace encoder_internal
}  // namespace dwae

#endif  // DWAE_CORE_ENCODER_KERNELS_H_
