// The kdd layout's per-column formula, written out once more as the oracle
// of the encoder's fast loops (straight from the record, vector scale and
// clip, the log1p table with std::log1p for the rest; the AVX-512 kdd
// encoder, and the portable loops forced): every float
// identical, on the NSL-KDD test file, on edge values (NaN, infinities,
// negative, beyond the fitted range, the table's edges) and on random rows
// that mix them.
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/dataset.h"
#include "core/encoder.h"
#include "core/encoder_kernels.h"
#include "core/record.h"
#include "core/rng.h"
#include "gtest/gtest.h"
#include "tests/testing/kdd_rows.h"

namespace dwae {
namespace {

using testutil::LoadKddRows;

// A random numeric value: small integers (the log1p table), large integers,
// fractions, the table's upper edge, and what must encode to 0 or 1 (NaN,
// infinities, negative values and -0).
double Value(Rng& rng) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  switch (rng.Below(9)) {
    case 0:
    case 1:
      return double(rng.Below(1024));
    case 2:
      return double(rng.Below(uint64_t{1} << 40));
    case 3:
      return rng.Uniform();
    case 4:
      return rng.Uniform() * 2000;
    case 5:
      return 1023.0 + rng.Uniform() * 2;
    case 6:
      return std::numeric_limits<double>::quiet_NaN();
    case 7:
      return rng.Below(2) ? kInf : -kInf;
    default:
      return rng.Below(2) ? -0.0 : -double(rng.Below(100)) - rng.Uniform();
  }
}

TEST(FeatureEncoderOracleTest, NumericColumnsMatchThePerColumnFormula) {
  FeatureEncoder encoder;
  encoder.Fit(NormalRows(LoadKddRows("KDDTrain+_20Percent.txt")));
  const std::set<int> log1p = {0,  4,  5,  7,  8,  9,  10, 12,
                               15, 16, 17, 18, 22, 23, 31, 32};
  std::vector<Record> rows = LoadKddRows("KDDTest+.txt");
  ASSERT_GT(rows.size(), 10000u);
  Record edge;
  edge.protocol_type = "tcp";
  edge.service = "http";
  edge.flag = "SF";
  const double edges[] = {std::numeric_limits<double>::quiet_NaN(),
                          -1.0,
                          0.5,
                          1023.0,
                          1024.0,
                          1023.5,
                          1e15};
  for (double value : edges) {
    edge.numeric.fill(value);
    rows.push_back(edge);
  }
  Rng rng(16);
  for (int i = 0; i < 5000; ++i) {
    for (double& x : edge.numeric) x = Value(rng);
    rows.push_back(edge);
  }
  std::vector<float> v(kInputDim);
  // Both paths: the AVX-512 kdd encoder (where the CPU has it) and the
  // portable loops (forced).
  for (const bool scalar : {false, true}) {
    std::optional<encoder_internal::ScopedForceScalarEncoder> force;
    if (scalar) force.emplace();
    for (const Record& row : rows) {
      encoder.Encode(row, v.data());
      for (int j = 0; j < kNumNumeric; ++j) {
        const int f = FeatureEncoder::FeatureOfDimension(j);
        const double x = row.numeric[f];
        const double t = log1p.count(f) ? std::log1p(x) : x;
        const double range = encoder.maxs()[j] - encoder.mins()[j];
        const double inv = range > 0 ? 1.0 / range : 0.0;
        double want = (t - encoder.mins()[j]) * inv;
        if (!(want > 0.0)) {
          want = 0.0;
        } else if (want > 1.0) {
          want = 1.0;
        }
        ASSERT_EQ(v[j], static_cast<float>(want))
            << (scalar ? "portable loops" : "default path") << ", column " << j
            << " x " << x;
      }
    }
  }
}

}  // namespace
}  // namespace dwae
