#include "core/pulse_sampler.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace dwae {
namespace {

// A double's sign, exponent and top 4 mantissa bits.
constexpr int kKeptShift = 52 - 4;
// The grid's first point, 2^-64, and its last, 0.25.
constexpr uint64_t kFirstKey = uint64_t{1023 - 64} << 4;
constexpr uint64_t kLastKey = uint64_t{1023 - 2} << 4;

double FromKey(uint64_t key) {
  const uint64_t bits = key << kKeptShift;
  double p;
  std::memcpy(&p, &bits, sizeof(p));
  return p;
}

double PerLambda(double p) { return -1.0 / std::log1p(-p); }

const std::vector<double>& PerLambdaTable() {
  static const std::vector<double> table = [] {
    std::vector<double> t(kLastKey - kFirstKey + 1);
    for (uint64_t key = kFirstKey; key <= kLastKey; ++key) {
      t[key - kFirstKey] = PerLambda(FromKey(key));
    }
    return t;
  }();
  return table;
}

}  // namespace

SkipRate RoundedSkipRate(double p_max) {
  uint64_t bits;
  std::memcpy(&bits, &p_max, sizeof(bits));
  uint64_t key = bits >> kKeptShift;
  if ((bits & ((uint64_t{1} << kKeptShift) - 1)) != 0) ++key;  // round up
  if (key < kFirstKey || key > kLastKey) return {p_max, PerLambda(p_max)};
  return {FromKey(key), PerLambdaTable()[key - kFirstKey]};
}

}  // namespace dwae
