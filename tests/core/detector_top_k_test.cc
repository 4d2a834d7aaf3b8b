// TopDeviations against its reference (the heap the verdicts always came
// from): the same dimensions in the same order with the same values, bit for
// bit, on random errors with many ties, zeros, NaN and infinities, for every
// k and dimensions that are and are not multiples of the vector width.
#include "core/detector_top_k.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/rng.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

bool SameBits(float a, float b) { return std::memcmp(&a, &b, 4) == 0; }

// A random error: often one of a few repeated values (ties at the boundary
// of the kept set), sometimes NaN, inf, -0 or 0.
float RandomError(Rng& rng, int kind) {
  static const float kRepeated[] = {0.0f, 0.25f, 0.5f, 1.0f, 0.125f};
  const uint64_t pick = rng.Below(100);
  if (kind == 0 || pick < 60) return rng.UniformFloat();
  if (pick < 90) return kRepeated[rng.Below(5)];
  if (pick < 94) return std::numeric_limits<float>::quiet_NaN();
  if (pick < 97) return std::numeric_limits<float>::infinity();
  return -0.0f;
}

std::string Compare(const float* errors, const float* values,
                    const float* reconstruction, int dim, int k) {
  FeatureDeviation want[kMaxTopK], got[kMaxTopK];
  const int n_want =
      TopDeviationsReference(errors, values, reconstruction, dim, k, want);
  const int n_got = TopDeviations(errors, values, reconstruction, dim, k, got);
  if (n_got != n_want) return absl::StrCat("size ", n_got, " vs ", n_want);
  for (int i = 0; i < n_want; ++i) {
    if (got[i].dimension != want[i].dimension ||
        !SameBits(got[i].squared_error, want[i].squared_error) ||
        !SameBits(got[i].value, want[i].value) ||
        !SameBits(got[i].reconstruction, want[i].reconstruction)) {
      return absl::StrCat("entry ", i, ": dimension ", got[i].dimension, " vs ",
                          want[i].dimension);
    }
  }
  return "";
}

TEST(DetectorTopKTest, SameAsReferenceOnRandomErrors) {
  Rng rng(31);
  // Trials that TopDeviations answered itself (k > 0, dim > 0, no fallback
  // to the reference): the comparison is only worth something for them.
  int fast = 0, ranked = 0;
  for (int trial = 0; trial < 4000; ++trial) {
    const int dim = int(rng.Below(140));
    const int k = int(rng.Below(kMaxTopK + 1));
    const int kind = int(rng.Below(3));
    std::vector<float> errors(dim), values(dim), reconstruction(dim);
    for (int d = 0; d < dim; ++d) {
      errors[d] = RandomError(rng, kind);
      values[d] = rng.UniformFloat();
      reconstruction[d] = rng.UniformFloat();
    }
    const int64_t fallbacks = TopDeviationsFallbacks();
    ASSERT_EQ(
        Compare(errors.data(), values.data(), reconstruction.data(), dim, k),
        "")
        << "trial " << trial << ", dim " << dim << ", k " << k;
    const bool fell_back = TopDeviationsFallbacks() != fallbacks;
    // Kind 0 has distinct errors (no NaN, no ties): never the reference.
    if (kind == 0) {
      EXPECT_FALSE(fell_back)
          << "trial " << trial << ", dim " << dim << ", k " << k;
    }
    if (k > 0 && dim > 0) {
      ++ranked;
      fast += !fell_back;
    }
  }
  // About a third of the trials are of kind 0; the others mostly have NaN
  // or ties among the k + 1 largest (1352 of 3842 took the fast path).
  EXPECT_GE(fast, ranked * 3 / 10) << fast << " of " << ranked;
}

// With k = 0 neither writes anything (the reference used to compare with
// an unfilled top[0] and write top[-1]).
TEST(DetectorTopKTest, ZeroKWritesNothing) {
  const float errors[10] = {0.1f, 0.9f, 0.3f, 0.9f, 0.0f,
                            0.5f, 0.2f, 0.7f, 0.9f, 0.4f};
  FeatureDeviation slots[kMaxTopK + 1];
  for (FeatureDeviation& s : slots) {
    s = {-7, -std::numeric_limits<float>::infinity(), 0, 0};
  }
  FeatureDeviation* top = slots + 1;
  EXPECT_EQ(TopDeviationsReference(errors, errors, errors, 10, 0, top), 0);
  EXPECT_EQ(TopDeviations(errors, errors, errors, 10, 0, top), 0);
  for (const FeatureDeviation& s : slots) EXPECT_EQ(s.dimension, -7);
}

// A k above kMaxTopK is clamped (the fast path keeps kMaxTopK + 1 at most).
TEST(DetectorTopKTest, ClampsLargeK) {
  std::vector<float> errors(100);
  for (int d = 0; d < 100; ++d) errors[d] = float(d);
  FeatureDeviation top[kMaxTopK];
  ASSERT_EQ(TopDeviations(errors.data(), errors.data(), errors.data(), 100,
                          kMaxTopK + 20, top),
            kMaxTopK);
  EXPECT_EQ(top[0].dimension, 99);
  EXPECT_EQ(top[kMaxTopK - 1].dimension, 100 - kMaxTopK);
}

// Records whose errors jump by orders of magnitude from one to the next:
// the first pass's bar (carried from the previous record) is then far too
// high (too few above it: every dimension is ranked) or far too low.
TEST(DetectorTopKTest, ScalesJumpingBetweenRecords) {
  Rng rng(32);
  for (int trial = 0; trial < 3000; ++trial) {
    const int dim = 100 + int(rng.Below(40));
    const int k = 1 + int(rng.Below(5));
    const float scale = std::pow(10.0f, float(int(rng.Below(13)) - 6));
    std::vector<float> errors(dim), values(dim, 0.25f);
    for (float& e : errors) {
      const float u = rng.UniformFloat();
      e = scale * u * u * u * u;
    }
    ASSERT_EQ(Compare(errors.data(), values.data(), values.data(), dim, k), "")
        << "trial " << trial;
  }
}

// Sorted and reverse-sorted errors: every block beats the smallest kept
// error (ascending), or none does (descending).
TEST(DetectorTopKTest, MonotoneErrors) {
  for (int dim : {1, 7, 8, 9, 16, 122, 131}) {
    for (int k : {0, 1, 3, 8, 32}) {
      std::vector<float> up(dim), down(dim), values(dim, 0.5f);
      for (int d = 0; d < dim; ++d) {
        up[d] = float(d);
        down[d] = float(dim - d);
      }
      EXPECT_EQ(Compare(up.data(), values.data(), values.data(), dim, k), "")
          << dim << " " << k;
      EXPECT_EQ(Compare(down.data(), values.data(), values.data(), dim, k), "")
          << dim << " " << k;
    }
  }
}

// What the reference keeps, spelled out: the largest first, and a later
// equal error does not displace an earlier one.
TEST(DetectorTopKTest, KeepsLargestFirst) {
  const float errors[10] = {0.1f, 0.9f, 0.3f, 0.9f, 0.0f,
                            0.5f, 0.2f, 0.7f, 0.9f, 0.4f};
  const float values[10] = {};
  FeatureDeviation top[kMaxTopK];
  ASSERT_EQ(TopDeviations(errors, values, values, 10, 4, top), 4);
  EXPECT_EQ(top[0].squared_error, 0.9f);
  EXPECT_EQ(top[1].squared_error, 0.9f);
  EXPECT_EQ(top[2].squared_error, 0.9f);
  EXPECT_EQ(top[3].dimension, 7);
  EXPECT_EQ(TopDeviations(errors, values, values, 10, 0, top), 0);
  EXPECT_EQ(TopDeviations(errors, values, values, 3, 8, top), 3);
}

}  // namespace
}  // namespace dwae
