#include "core/exponential.h"

#include <cmath>

namespace dwae::exponential_internal {
namespace {

constexpr double kTwo53 = 9007199254740992.0;

}  // namespace

ZigguratTables BuildTables() {
  ZigguratTables t;
  const double q = kStripArea / std::exp(-kTailStart);
  t.width[0] = q / kTwo53;
  t.accept[0] = uint64_t(kTailStart / q * kTwo53);
  t.f[0] = 1.0;
  // x_255 = r; x_(i-1) from x_i: the strip [0, x_i) x [e^-x_i, e^-x_(i-1)]
  // has area v.
  double x = kTailStart;
  t.width[kStrips - 1] = x / kTwo53;
  t.f[kStrips - 1] = std::exp(-x);
  for (int i = kStrips - 1; i >= 2; --i) {
    const double below = -std::log(kStripArea / x + std::exp(-x));  // x_(i-1)
    t.accept[i] = uint64_t(below / x * kTwo53);
    x = below;
    t.width[i - 1] = x / kTwo53;
    t.f[i - 1] = std::exp(-x);
  }
  t.accept[1] = 0;  // x_0 = 0: strip 1 is all wedge
  return t;
}

double Unlikely(Rng& rng, int strip, double x) {
  const ZigguratTables& t = Tables();
  if (strip == 0) return kTailStart - std::log(rng.UniformOpen());
  const double height =
      t.f[strip] + rng.Uniform() * (t.f[strip - 1] - t.f[strip]);
  if (height < std::exp(-x)) return x;
  // Rejected: a fresh draw, the same draws in the same order as before.
  return StandardExponential(rng);
}

}  // namespace dwae::exponential_internal
