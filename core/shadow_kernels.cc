#include "core/shadow_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "core/learn_kernels.h"
#include "core/shadow_kernels_isa.h"
#include "core/x86_intrinsics.h"

namespace dwae::learn_kernels {
namespace {

// The step and clip of one device.
float StepAndClip(const ShadowParams& p, float step, float delta, float s) {
  if (step != 0.0f) s = std::fma(-step, delta, s);
  return std::min(std::max(s, -p.limit), p.limit);
}

}  // namespace

ShadowMatrix::ShadowMatrix(int rows, int cols)
    : rows_(rows),
      cols_(cols),
      ld_((rows + 15) / 16 * 16),
      data_(static_cast<float*>(::operator new[](
          sizeof(float) * size_t(ld_) * size_t(cols), std::align_val_t(64)))) {
  std::fill_n(data_.get(), size_t(ld_) * cols, 0.0f);
}

void ShadowMatrix::Assign(const float* packed) {
  for (int j = 0; j < cols_; ++j) {
    std::copy_n(packed + size_t(j) * rows_, rows_, column(j));
  }
}

void ShadowMatrix::CopyTo(float* packed) const {
  for (int j = 0; j < cols_; ++j) {
    std::copy_n(column(j), rows_, packed + size_t(j) * rows_);
  }
}

bool ReferenceShadowStep(const ShadowParams& p, const float* delta,
                         const int8_t* notch, int rows, float* shadow) {
  bool due = false;
  for (int i = 0; i < rows; ++i) {
    shadow[i] = StepAndClip(p, p.step, delta[i], shadow[i]);
    due = due || std::abs(ShadowGap(p, shadow[i], notch[i])) > p.trigger;
  }
  return due;
}

int ReferenceShadowStepColumns(const ShadowParams& p, const int* cols,
                               const float* steps, int n, const float* delta,
                               const int8_t* notch, ShadowMatrix* shadow,
                               double* slack, uint8_t* due) {
  const int rows = shadow->rows();
  float max_abs_delta = 0.0f;  // NaN left out
  for (int i = 0; i < rows; ++i) {
    if (std::abs(delta[i]) > max_abs_delta) max_abs_delta = std::abs(delta[i]);
  }
  const internal::ShadowMoveBound move_bound(p, max_abs_delta);
  int dues = 0;
  for (int c = 0; c < n; ++c) {
    const int j = cols[c];
    float* s = shadow->column(j);
    const double left = slack[j] - move_bound(steps[c]);
    if (left > 0) {  // the trigger cannot fire: only the step
      if (steps[c] != 0.0f) {
        for (int i = 0; i < rows; ++i) {
          s[i] = StepAndClip(p, steps[c], delta[i], s[i]);
        }
      }
      slack[j] = left;
      due[c] = 0;
      continue;
    }
    const int8_t* level = notch + size_t(j) * rows;
    float max_gap = 0.0f;  // NaN left out
    for (int i = 0; i < rows; ++i) {
      s[i] = StepAndClip(p, steps[c], delta[i], s[i]);
      const float gap = std::abs(ShadowGap(p, s[i], level[i]));
      if (gap > max_gap) max_gap = gap;
    }
    due[c] = max_gap > p.trigger ? 1 : 0;
    dues += due[c];
    slack[j] = due[c] ? kShadowUnchecked : internal::ShadowSlack(p, max_gap);
  }
  return dues;
}

int ShadowStepColumns(const ShadowParams& p, const int* cols,
                      const float* steps, int n, const float* delta,
                      const int8_t* notch, ShadowMatrix* shadow, double* slack,
                      uint8_t* due) {
#if DWAE_HAVE_X86
  switch (ActiveIsa()) {
    case Isa::kAvx512:
      return internal::ShadowStepColumnsAvx512(p, cols, steps, n, delta, notch,
                                               shadow->rows(), shadow->data(),
                                               shadow->ld(), slack, due);
    case Isa::kAvx2:
      return internal::ShadowStepColumnsAvx2(p, cols, steps, n, delta, notch,
                                             shadow->rows(), shadow->data(),
                                             shadow->ld(), slack, due);
    case Isa::kReference:
      break;
  }
#endif
  return ReferenceShadowStepColumns(p, cols, steps, n, delta, notch, shadow,
                                    slack, due);
}

}  // namespace dwae::learn_kernels
