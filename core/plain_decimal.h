// ParsePlainDecimal: the exact double of a plain decimal ("0", "491",
// "0.05", "1655157610.743948") without std::from_chars, for the parsers' hot
// paths; anything else is left to from_chars.
//
// Why it is exact (Clinger's fast path): digits n <= 2^53 with k <= 22 of
// them after the point are the exact double n over the exact double 10^k,
// and one IEEE division rounds that quotient correctly, i.e. to the double
// from_chars returns. Tests compare the two on random and edge inputs.
//
// Thread-safety: a pure function.
#ifndef DWAE_CORE_PLAIN_DECIMAL_H_
#define DWAE_CORE_PLAIN_DECIMAL_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace dwae {

// Exact powers of ten as doubles (10^22 < 2^53 * 2^22, the last exact one).
inline constexpr double kExactPow10[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// Digits with at most one '.' and at least one digit, whose digits read as
// an integer are at most 2^53, at most 22 of them after the point: sets
// `*out` and returns true. False (leaving `*out` alone) for anything else:
// empty, ".", signs, exponents, spaces, more digits.
inline bool ParsePlainDecimal(absl::string_view text, double* out) {
  uint64_t n = 0;
  int digits = 0, after_point = -1;
  for (const char c : text) {
    const unsigned digit = static_cast<unsigned char>(c) - '0';
    if (digit <= 9) {
      if (++digits > 19) return false;  // n stays below 10^19 < 2^64
      n = n * 10 + digit;
      if (after_point >= 0) ++after_point;
    } else if (c == '.' && after_point < 0) {
      after_point = 0;
    } else {
      return false;
    }
  }
  if (digits == 0 || n > (uint64_t{1} << 53) || after_point > 22) return false;
  *out = after_point > 0 ? double(n) / kExactPow10[after_point] : double(n);
  return true;
}

}  // namespace dwae

#endif  // DWAE_CORE_PLAIN_DECIMAL_H_
