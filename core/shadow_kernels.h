// dw-shadow's shadow-weight step (rules.h, dw_shadow_rule.cc): every device
// keeps a float "shadow" weight that takes the plain SGD step; a device is
// pulsed when the shadow has moved further than a trigger from the level
// its wall sits at.
//
// The step of one column (ReferenceShadowStep, the specification): for each
// of `rows` devices
//   s = shadow[i]; if step != 0: s = fma(-step, delta[i], s)
//   s = min(max(s, -limit), limit) (a NaN s stays NaN); shadow[i] = s
//   gap = fma(-(notch[i] - center), alpha, s)
// and a pulse is due when some device has |gap| > trigger.
//
// Most steps move every shadow of a column by far less than its distance to
// the trigger, and pulses are rare (a warm model pulses in about one of
// 1,500-3,000 column visits), so ShadowStepColumns keeps, per column, a
// `slack`: a lower bound on how far every device is from its trigger, minus a
// bound on what the steps since have moved it. While the slack stays positive
// the trigger test cannot fire and is skipped (only the SGD step and the clip
// run); when it runs out the column is tested exactly and the slack set
// anew. The shadow values and the due flags are exactly the specification's
// (ReferenceShadowStep's) in every case, NaN and infinite deltas and steps
// and negative or -0 steps included (a NaN's sign and payload aside: see
// below), which tests check over long random runs. Why the bound holds:
//   - a column's shadows are in [-limit, limit] (or NaN) once it has been
//     tested, and the clip is a projection onto that range, so one step
//     moves a shadow by at most |step| max|delta| plus the fma's rounding,
//     at most 2^-23 (limit + |step| max|delta|) (ShadowMoveBound takes
//     2^-20 for it, in double);
//   - after a test, |s - level| <= max|gap| (1 + 2^-24) in exact arithmetic
//     (ShadowSlack takes 2^-22), and while the exact |s - level| is below
//     the trigger, the rounded gap cannot exceed it (rounding is monotone
//     and the trigger is a float);
//   - a NaN shadow (or a NaN delta, which makes it NaN) is never due, so NaN
//     is left out of both maxima; an infinite delta makes the bound infinite.
//
// The fast paths (AVX2+FMA and AVX-512, shadow_kernels_avx2.cc,
// shadow_kernels_avx512.cc, chosen as learn_kernels.h chooses) return bit
// for bit what ReferenceShadowStepColumns returns (shadow, due and slack),
// but for the sign of a NaN made by a NaN step (the vector paths negate the
// step first; the compiled scalar fma may fold the negation into vfnmadd,
// which keeps the NaN's sign): NaN is NaN, never due, either way.
// Matrices are column-major with `rows` rows: the notches packed, the
// shadows in a ShadowMatrix, whose columns start on 64-byte lines (a vector
// store that splits a line costs about twice one that does not).
//
// Thread-safety: pure functions of their arguments.
#ifndef DWAE_CORE_SHADOW_KERNELS_H_
#define DWAE_CORE_SHADOW_KERNELS_H_

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "core/padded_matrix.h"

namespace dwae::learn_kernels {

// The parameters of a layer's devices; the step (learning rate x the
// column's input, 0 for no SGD step) is given per column.
struct ShadowParams {
  float limit;    // clip bound of the shadow weights
  float trigger;  // |gap| above this pulses
  float center;   // notch index of the zero level
  float alpha;    // level spacing
};

// A layer's shadow weights (padded_matrix.h), with the default leading
// dimension (rows rounded up to 16; the AVX-512 path reads and writes the
// padding with whole vectors).
//
// Thread-safety: it has one owner (the learner thread of the DwShadowRule
// that holds it), which alone may call anything on it.
using ShadowMatrix = PaddedMatrix;

// The gap of one device as the step computes it (inline: the pulse pass
// calls it once or twice per device of a due column).
inline float ShadowGap(const ShadowParams& p, float shadow, int notch) {
  return std::fma(-(float(notch) - p.center), p.alpha, shadow);
}

// The specification: one column's step; returns whether a pulse is due.
bool ReferenceShadowStep(const ShadowParams& p, float step, const float* delta,
                         const int8_t* notch, int rows, float* shadow);

// A slack that makes the next step test its column: the state of a column
// never tested, or whose notches or shadows changed other than through
// ShadowStepColumns (a pulse, a checkpoint load).
inline constexpr double kShadowUnchecked = -1.0;

// The largest |delta[i]| over [0, rows), NaN left out (a NaN delta makes
// its shadow NaN, which is never due): the bound ShadowStepColumns needs,
// once per delta. Exact on every path.
float ShadowDeltaBound(const float* delta, int rows);
float ReferenceShadowDeltaBound(const float* delta, int rows);

// The step on n columns of `shadow` (delta and notch have shadow->rows()
// rows; notch is packed; delta_bound is ShadowDeltaBound(delta) or more):
// column cols[k] with the step steps[k]; due[k] is
// whether a pulse is due in it. slack[cols[k]] is that column's slack
// (above), read and updated; a due column's becomes kShadowUnchecked, since
// the caller then pulses it. Returns the number of due columns.
// Preconditions (checked by assert in builds without NDEBUG):
//   - the columns in cols[0, n) are distinct and in [0, shadow->cols()):
//     each is planned once, from the slack it had on entry;
//   - a column whose slack is positive was left so by a call on the same
//     matrix with the same p, and neither its shadows nor its notches have
//     changed since: whoever pulses a device or loads a checkpoint sets the
//     column's slack to kShadowUnchecked. (The debug check is that no column
//     left undue has a device past its trigger.)
int ShadowStepColumns(const ShadowParams& p, const int* cols,
                      const float* steps, int n, const float* delta,
                      float delta_bound, const int8_t* notch,
                      ShadowMatrix* shadow, double* slack, uint8_t* due);
int ReferenceShadowStepColumns(const ShadowParams& p, const int* cols,
                               const float* steps, int n, const float* delta,
                               float delta_bound, const int8_t* notch,
                               ShadowMatrix* shadow, double* slack,
                               uint8_t* due);

}  // namespace dwae::learn_kernels

#endif  // DWAE_CORE_SHADOW_KERNELS_H_
