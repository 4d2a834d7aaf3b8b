// The AVX-512 kdd encoder's shortcuts against the portable loops (forced),
// float for float and byte for byte: the vector log1p beyond the table
// (within its stated bound of std::log1p, with a margin), its rounding test
// (the floats it decides are std::log1p's, the ones it cannot decide go to
// the portable loops), and the names looked up from one masked load (every
// vocabulary name, near misses, embedded NULs, the length limit, long heap
// strings).
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/casts.h"
#include "absl/strings/str_cat.h"
#include "core/dataset.h"
#include "core/encoder.h"
#include "core/encoder_kernels.h"
#include "core/encoder_layout.h"
#include "core/record.h"
#include "core/rng.h"
#include "gtest/gtest.h"
#include "tests/testing/kdd_rows.h"

namespace dwae {
namespace {

using encoder_internal::CpuHasEncoderAvx512;
using encoder_internal::kLog1pBeyondTableBound;
using encoder_internal::kLog1pTableSize;

FeatureEncoder FittedEncoder() {
  FeatureEncoder encoder;
  encoder.Fit(NormalRows(testutil::LoadKddRows("KDDTrain+_20Percent.txt")));
  return encoder;
}

// The encoder's statistics as EncodeKddAvx512 takes them (40 entries): its
// mins, and the inverses of the ranges as FeatureEncoder computes them.
struct Statistics {
  std::vector<double> min = std::vector<double>(40, 0.0);
  std::vector<double> inv = std::vector<double>(40, 0.0);
};
Statistics StatisticsOf(const FeatureEncoder& encoder) {
  Statistics s;
  for (int j = 0; j < kNumNumeric; ++j) {
    s.min[j] = encoder.mins()[j];
    const double range = encoder.maxs()[j] - encoder.mins()[j];
    const double inv = range > 0 ? 1.0 / range : 0.0;
    s.inv[j] = std::isfinite(inv) ? inv : 0.0;
  }
  return s;
}

Record KddRecord() {
  Record r;
  r.protocol_type = "tcp";
  r.service = "http";
  r.flag = "SF";
  return r;
}

// Encode and EncodeQuantized on the default path against the portable
// loops, every float's bits and every byte.
void ExpectPathsAgree(const FeatureEncoder& encoder, const Record& r) {
  std::vector<float> want(kInputDim), got(kInputDim), got_q_floats(kInputDim);
  std::vector<uint8_t> want_q(encoder.quantized_size()),
      got_q(encoder.quantized_size());
  {
    const encoder_internal::ScopedForceScalarEncoder scalar;
    encoder.Encode(r, want.data());
    encoder.EncodeQuantized(r, want.data(), want_q.data());
  }
  encoder.Encode(r, got.data());
  encoder.EncodeQuantized(r, got_q_floats.data(), got_q.data());
  for (int c = 0; c < kInputDim; ++c) {
    ASSERT_EQ(absl::bit_cast<uint32_t>(got[c]),
              absl::bit_cast<uint32_t>(want[c]))
        << "dim " << c << " of " << r.service << "/" << r.flag;
    ASSERT_EQ(absl::bit_cast<uint32_t>(got_q_floats[c]),
              absl::bit_cast<uint32_t>(want[c]))
        << "dim " << c;
  }
  ASSERT_EQ(got_q, want_q);
}

// The vector log1p stays within a sixteenth of its stated bound of
// std::log1p: on every integer from the table's end to 2^20, on random
// integers up to 2^50 and random reals up to 1e300.
TEST(EncoderFastPathTest, Log1pBeyondTableIsWithinItsBound) {
  if (!CpuHasEncoderAvx512()) GTEST_SKIP() << "no AVX-512 encoder here";
  Rng rng(5);
  double worst = 0;
  double x[8], y[8];
  auto check = [&] {
    encoder_internal::Log1pBeyondTableAvx512(x, y);
    for (int i = 0; i < 8; ++i) {
      const double want = std::log1p(x[i]);
      const double error = std::fabs(y[i] - want) / want;
      worst = std::max(worst, error);
      ASSERT_LE(error, kLog1pBeyondTableBound / 16) << "x " << x[i];
    }
  };
  for (int64_t n = kLog1pTableSize; n < (int64_t{1} << 20); n += 8) {
    for (int i = 0; i < 8; ++i) x[i] = double(n + i);
    check();
  }
  for (int k = 0; k < 125000; ++k) {
    for (int i = 0; i < 8; ++i) {
      x[i] = k % 2 ? double(kLog1pTableSize + rng.Below(uint64_t{1} << 50))
                   : kLog1pTableSize * std::exp(rng.Uniform() * 683.0);
    }
    check();
  }
  // What the margin is (1.2e-14, about 2^-46, where this was written: the
  // series' tail near the table's end).
  RecordProperty("worst_relative_error", absl::StrCat(worst));
}

// Values beyond the table in every log1p column: integers, reals, the
// table's end, huge values; both paths give the same floats and bytes.
TEST(EncoderFastPathTest, ValuesBeyondTheTableMatchThePortableLoops) {
  if (!CpuHasEncoderAvx512()) GTEST_SKIP() << "no AVX-512 encoder here";
  const FeatureEncoder encoder = FittedEncoder();
  Rng rng(11);
  Record r = KddRecord();
  for (int i = 0; i < 20000; ++i) {
    for (int f = 0; f < kNumFeatures; ++f) {
      if (IsCategorical(f)) continue;
      switch (rng.Below(6)) {
        case 0:
          r.numeric[f] = double(rng.Below(kLog1pTableSize));
          break;
        case 1:
          r.numeric[f] = double(kLog1pTableSize + rng.Below(1 << 20));
          break;
        case 2:
          r.numeric[f] = double(rng.Below(uint64_t{1} << 50));
          break;
        case 3:
          r.numeric[f] = kLog1pTableSize + rng.Uniform() * 1e6;
          break;
        case 4:
          r.numeric[f] = kLog1pTableSize - 1 + rng.Below(3);
          break;
        default:
          r.numeric[f] = rng.Uniform() * 1e300;
      }
    }
    ASSERT_NO_FATAL_FAILURE(ExpectPathsAgree(encoder, r));
  }
}

// A value whose float the vector log1p cannot decide: src_bytes's fitted
// min a hair (far below the bound) under log1p(5000), so the float is a
// tiny positive one that neither y - bound (0) nor y + bound gives. The
// vector encoder must refuse the record and Encode give the portable
// loops' float.
TEST(EncoderFastPathTest, UndecidedFloatsGoToThePortableLoops) {
  if (!CpuHasEncoderAvx512()) GTEST_SKIP() << "no AVX-512 encoder here";
  const FeatureEncoder fitted = FittedEncoder();
  std::vector<double> mins(fitted.mins().begin(), fitted.mins().end());
  std::vector<double> maxs(fitted.maxs().begin(), fitted.maxs().end());
  const int column = 1;  // src_bytes
  ASSERT_EQ(FeatureEncoder::FeatureOfDimension(column), 4);
  const double t = std::log1p(5000.0);
  mins[column] = t - 1e-13;
  maxs[column] = std::max(maxs[column], t + 1);
  FeatureEncoder encoder;
  ASSERT_TRUE(encoder.Restore(mins, maxs).ok());
  Record r = KddRecord();
  r.numeric[4] = 5000;
  const Statistics s = StatisticsOf(encoder);
  std::vector<float> out(kInputDim);
  std::vector<uint8_t> q(encoder.quantized_size());
  EXPECT_FALSE(encoder_internal::EncodeKddAvx512(
      r, s.min.data(), s.inv.data(), nullptr, out.data(), q.data()));
  ASSERT_NO_FATAL_FAILURE(ExpectPathsAgree(encoder, r));
  encoder.Encode(r, out.data());
  EXPECT_GT(out[column], 0.0f);
  EXPECT_LT(out[column], 1e-6f);
  // Away from the min (where a float's ulp is no longer as fine as the
  // bound), the vector path decides.
  r.numeric[4] = 1e6;
  EXPECT_TRUE(encoder_internal::EncodeKddAvx512(r, s.min.data(), s.inv.data(),
                                                nullptr, out.data(), q.data()));
  ASSERT_NO_FATAL_FAILURE(ExpectPathsAgree(encoder, r));
}

// Names: every vocabulary name, and what is not one (case, prefixes,
// suffixes, an embedded or trailing NUL, 14 and 15 bytes, empty, long
// strings on the heap), in each of the three categorical fields.
TEST(EncoderFastPathTest, NamesMatchThePortableLookup) {
  if (!CpuHasEncoderAvx512()) GTEST_SKIP() << "no AVX-512 encoder here";
  const FeatureEncoder encoder = FittedEncoder();
  std::vector<std::string> names = {"",
                                    std::string(1, '\0'),
                                    std::string("SF\0", 3),
                                    std::string("\0SF", 3),
                                    std::string("http\0", 5),
                                    "abcdefghijklmn",
                                    "abcdefghijklmno",
                                    "netbios_ssn___",
                                    "netbios_ssn____",
                                    std::string(100, 'x'),
                                    "http" + std::string(60, 'p'),
                                    "TCP",
                                    "Http",
                                    "sf"};
  auto add_near_misses = [&](const char* name) {
    const std::string s = name;
    names.push_back(s);
    names.push_back(s.substr(0, s.size() - 1));
    names.push_back(s + "_");
    names.push_back(s + std::string(1, '\0'));
    for (size_t i = 0; i < s.size(); ++i) {
      std::string t = s;
      t[i] ^= 0x20;
      names.push_back(t);
    }
  };
  for (const char* name : encoder_internal::kProtocolNames)
    add_near_misses(name);
  for (const char* name : encoder_internal::kServiceNames)
    add_near_misses(name);
  for (const char* name : encoder_internal::kFlagNames) add_near_misses(name);
  Record r = KddRecord();
  for (const std::string& name : names) {
    for (int field = 0; field < 3; ++field) {
      Record named = r;
      (field == 0   ? named.protocol_type
       : field == 1 ? named.service
                    : named.flag) = name;
      ASSERT_NO_FATAL_FAILURE(ExpectPathsAgree(encoder, named))
          << "field " << field << " '" << name << "'";
    }
  }
}

}  // namespace
}  // namespace dwae
