// PaddedMatrix (padded_matrix.h) beyond what weight_layout_test covers: its
// moved-from state, and its use as dw-shadow's ShadowMatrix with a leading
// dimension other than the default. Each test failed or crashed before the
// fixes of 2026-12-04 (a review of f3f89a0).
#include "core/padded_matrix.h"

#include <cstdint>
#include <cstdlib>
#include <utility>
#include <vector>

#include "core/learn_kernels.h"
#include "core/shadow_kernels.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

// A moved-from matrix is 0 x 0 (as a moved-from Eigen::MatrixXf is), never
// a shape without storage (a defaulted move left one).
TEST(PaddedMatrixTest, MovedFromHasNoShapeWithoutStorage) {
  PaddedMatrix a(5, 3);
  PaddedMatrix b(std::move(a));
  EXPECT_EQ(b.rows(), 5);
  // Either empty or with data.
  EXPECT_TRUE(a.size() == 0 || a.data() != nullptr)
      << "moved-from: " << a.rows() << " x " << a.cols() << " ld " << a.ld()
      << ", data " << a.data();
}

void CopyAndExit(const PaddedMatrix& a) {
  PaddedMatrix c(a);
  std::exit(c.size() == 0 ? 0 : 1);
}

TEST(PaddedMatrixDeathTest, CopyOfAMovedFromMatrix) {
  PaddedMatrix a(5, 3);
  PaddedMatrix b(std::move(a));
  // Copying a moved-from object is valid (it once copied ld * cols floats
  // from a null pointer).
  EXPECT_EXIT(CopyAndExit(a), ::testing::ExitedWithCode(0), "");
}

// ShadowMatrix is PaddedMatrix, whose public 3-argument constructor takes
// any ld >= rows. ShadowStepColumns expects the default ld, asserted only in
// debug builds; the AVX-512 path must still not take its aligned
// four-column moves (which step 16 floats at a time up to ld) on columns
// that are not 16 floats apart: it once wrote into the next column and past
// the matrix (SIGSEGV).
void StepAPackedShadowMatrixAndExit() {
  using namespace learn_kernels;
  SetIsaForTesting(Isa::kAvx512);
  const int rows = 20, cols = 8;
  const ShadowParams p = {2.5f * 0.25f, 0.7f * 0.25f, 2.0f, 0.25f};
  ShadowMatrix shadow(rows, cols, /*ld=*/rows);
  std::vector<int8_t> notch(size_t(rows) * cols, 2);
  std::vector<double> slack(cols, kShadowUnchecked);
  std::vector<int> columns(cols);
  for (int j = 0; j < cols; ++j) columns[j] = j;
  std::vector<float> steps(cols, 1e-6f), delta(rows, 1.0f);
  std::vector<uint8_t> due(cols);
  for (int t = 0; t < 3; ++t) {
    ShadowStepColumns(p, columns.data(), steps.data(), cols, delta.data(), 1.0f,
                      notch.data(), &shadow, slack.data(), due.data());
  }
  // Every shadow took the same 3 steps from 0: one value.
  const float want = shadow(0, 0);
  for (int j = 0; j < cols; ++j) {
    for (int i = 0; i < rows; ++i) {
      if (shadow(i, j) != want) std::exit(2);
    }
  }
  std::exit(0);
}

TEST(PaddedMatrixDeathTest, ShadowStepOnAPackedShadowMatrix) {
  if (learn_kernels::BestIsa() < learn_kernels::Isa::kAvx512) {
    GTEST_SKIP() << "needs AVX-512";
  }
  EXPECT_EXIT(StepAPackedShadowMatrixAndExit(), ::testing::ExitedWithCode(0),
              "");
}

}  // namespace
}  // namespace dwae
