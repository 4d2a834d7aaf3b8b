// The numeric kernels of FeatureEncoder (encoder.cc): log1p with a table for
// the small integers, and min-max scaling with clipping to [0, 1], scalar
// and vector forms that return the same floats (encoder_oracle_test checks
// them against the per-column formula). Internal to the encoder.
//
// Thread-safety: pure functions (the log1p table is built once, on first
// use, thread-safely).
#ifndef DWAE_CORE_ENCODER_KERNELS_H_
#define DWAE_CORE_ENCODER_KERNELS_H_

namespace dwae {
namespace encoder_internal {

// std::log1p(x), from a table (computed with std::log1p) for the integers
// in [0, 1024).
double Log1p(double x);

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

// The kdd layout's numeric columns in one call: ScaleAndClip of the direct
// columns (t, min, inv and out offset alike), then Log1pScaleAndClip.
void KddNumeric(const double* direct, const double* min, const double* inv,
                int first, int num_direct, const double* numeric,
                const int* sources, const int* columns, int num_log1p,
                float* out);

}  // namespace encoder_internal
}  // namespace dwae

#endif  // DWAE_CORE_ENCODER_KERNELS_H_
