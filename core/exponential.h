// Standard exponential variates (rate 1) by the ziggurat method (Marsaglia
// and Tsang 2000), without a logarithm in the common case.
//
// The density e^-x (x >= 0) is covered by 256 strips of equal area v:
// strip 0 is the base, the rectangle [0, r] x [0, e^-r] with the tail beyond
// r = x_255 ~ 7.697 (a rectangle [0, q) of the same area, q = v e^r), and
// strip i >= 1 the rectangle [0, x_i) x [e^-x_i, e^-x_(i-1)], with
// 0 = x_0 < x_1 < ... < x_255 = r. One 64-bit draw picks a strip (its low 8
// bits) and a point x of its width (its high 53 bits). A point left of the
// strip above's edge (x < x_(i-1); for strip 0, x < r) lies under the curve
// and is returned at once (98.9 % of draws). Otherwise a uniform height in
// the strip's wedge is tested against e^-x (one exp; on a miss everything
// is drawn again), and strip 0's overflow returns r - log(U) (the tail is
// memoryless). The result has the exponential distribution exactly, up to
// the 53-bit resolution of the points (as -log(U) has it up to U's);
// tests/core/exponential_test.cc checks its distribution function against
// 1 - e^-x.
//
// Thread-safety: the tables are built once, thread-safely, on first use;
// StandardExponential draws from the caller's Rng only.
#ifndef DWAE_CORE_EXPONENTIAL_H_
#define DWAE_CORE_EXPONENTIAL_H_

#include <cstdint>

#include "core/rng.h"

namespace dwae {

namespace exponential_internal {

inline constexpr int kStrips = 256;

inline constexpr double kTailStart = 7.69711747013104972;   // r
inline constexpr double kStripArea = 3.949659822581572e-3;  // v

struct ZigguratTables {
  // A 53-bit point k of strip i is the value k * width[i]: width[i] =
  // x_i / 2^53 (strip 0: q / 2^53).
  double width[kStrips];
  // Points k < accept[i] lie under the curve: accept[i] = 2^53 x_(i-1) / x_i
  // (strip 0: 2^53 r / q; strip 1: 0).
  uint64_t accept[kStrips];
  // f[i] = e^-x_i (f[0] = 1).
  double f[kStrips];
};

ZigguratTables BuildTables();
inline const ZigguratTables& Tables() {
  static const ZigguratTables tables = BuildTables();
  return tables;
}
// The rare path: the wedge test or the tail (strip 0).
double Unlikely(Rng& rng, int strip, double x);

}  // namespace exponential_internal

// One draw from the exponential distribution with rate 1.
inline double StandardExponential(Rng& rng) {
  const exponential_internal::ZigguratTables& t =
      exponential_internal::Tables();
  const uint64_t r = rng.Next();
  const int strip = int(r & 0xff);
  const uint64_t k = r >> 11;  // 53 bits, independent of the strip's 8
  const double x = double(k) * t.width[strip];
  if (k < t.accept[strip]) return x;
  return exponential_internal::Unlikely(rng, strip, x);
}

}  // namespace dwae

#endif  // DWAE_CORE_EXPONENTIAL_H_
