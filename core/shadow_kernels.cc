#include "core/shadow_kernels.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <vector>

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

// The scalar column kernels of RunShadowColumns (shadow_kernels_isa.h).
struct ReferenceColumns {
  int MoveGroups(const internal::ShadowPlan&) const { return 0; }
  // Only the step.
  void Move(int c) const {
    float* s = shadow->column(cols[c]);
    for (int i = 0; i < shadow->rows(); ++i) {
      s[i] = StepAndClip(p, steps[c], delta[i], s[i]);
    }
  }
  // The step, then the largest |gap| (NaN left out).
  float Test(int c) const {
    const int rows = shadow->rows();
    float* s = shadow->column(cols[c]);
    const int8_t* level = notch + size_t(cols[c]) * rows;
    float max_gap = 0.0f;
    for (int i = 0; i < rows; ++i) {
      s[i] = StepAndClip(p, steps[c], delta[i], s[i]);
      const float gap = std::abs(ShadowGap(p, s[i], level[i]));
      if (gap > max_gap) max_gap = gap;
    }
    return max_gap;
  }

  const ShadowParams& p;
  const int* cols;
  const float* steps;
  const float* delta;
  const int8_t* notch;
  ShadowMatrix* shadow;
};

#ifndef NDEBUG
// The preconditions of ShadowStepColumns (shadow_kernels.h), in builds
// without NDEBUG: distinct columns in range before the call, and after it
// no column left undue with a device past its trigger (which a changed
// notch under a positive slack would cause).
void CheckDistinctColumns(const int* cols, int n, int num_cols) {
  std::vector<bool> seen(num_cols);
  for (int c = 0; c < n; ++c) {
    assert(cols[c] >= 0 && cols[c] < num_cols);
    assert(!seen[cols[c]] && "a column listed twice");
    seen[cols[c]] = true;
  }
}
void CheckUndueColumns(const ShadowParams& p, const int* cols, int n,
                       const int8_t* notch, const ShadowMatrix& shadow,
                       const uint8_t* due) {
  const int rows = shadow.rows();
  for (int c = 0; c < n; ++c) {
    if (due[c]) continue;
    const float* s = shadow.column(cols[c]);
    const int8_t* level = notch + size_t(cols[c]) * rows;
    for (int i = 0; i < rows; ++i) {
      assert(!(std::abs(ShadowGap(p, s[i], level[i])) > p.trigger) &&
             "a device past its trigger in a column not due: a notch or "
             "shadow changed under a positive slack");
    }
  }
}
#endif  // NDEBUG

int DispatchShadowStepColumns(const ShadowParams& p, const int* cols,
                              const float* steps, int n, const float* delta,
                              float delta_bound, const int8_t* notch,
                              ShadowMatrix* shadow, double* slack,
                              uint8_t* due) {
#if DWAE_HAVE_X86
  switch (ActiveIsa()) {
    case Isa::kAvx512:
      return internal::ShadowStepColumnsAvx512(
          p, cols, steps, n, delta, delta_bound, notch, shadow->rows(),
          shadow->data(), shadow->ld(), slack, due);
    case Isa::kAvx2:
      return internal::ShadowStepColumnsAvx2(
          p, cols, steps, n, delta, delta_bound, notch, shadow->rows(),
          shadow->data(), shadow->ld(), slack, due);
    case Isa::kReference:
      break;
  }
#endif
  return ReferenceShadowStepColumns(p, cols, steps, n, delta, delta_bound,
                                    notch, shadow, slack, due);
}

}  // namespace

bool ReferenceShadowStep(const ShadowParams& p, float step, const float* delta,
                         const int8_t* notch, int rows, float* shadow) {
  bool due = false;
  for (int i = 0; i < rows; ++i) {
    shadow[i] = StepAndClip(p, step, delta[i], shadow[i]);
    due = due || std::abs(ShadowGap(p, shadow[i], notch[i])) > p.trigger;
  }
  return due;
}

float ReferenceShadowDeltaBound(const float* delta, int rows) {
  float bound = 0.0f;
  for (int i = 0; i < rows; ++i) {
    if (std::abs(delta[i]) > bound) bound = std::abs(delta[i]);
  }
  return bound;
}

int ReferenceShadowStepColumns(const ShadowParams& p, const int* cols,
                               const float* steps, int n, const float* delta,
                               float delta_bound, const int8_t* notch,
                               ShadowMatrix* shadow, double* slack,
                               uint8_t* due) {
  ReferenceColumns kernel{p, cols, steps, delta, notch, shadow};
  return internal::RunShadowColumns(p, cols, steps, n, delta_bound, slack, due,
                                    kernel);
}

float ShadowDeltaBound(const float* delta, int rows) {
#if DWAE_HAVE_X86
  switch (ActiveIsa()) {
    case Isa::kAvx512:
      return internal::ShadowDeltaBoundAvx512(delta, rows);
    case Isa::kAvx2:
      return internal::ShadowDeltaBoundAvx2(delta, rows);
    case Isa::kReference:
      break;
  }
#endif
  return ReferenceShadowDeltaBound(delta, rows);
}

int ShadowStepColumns(const ShadowParams& p, const int* cols,
                      const float* steps, int n, const float* delta,
                      float delta_bound, const int8_t* notch,
                      ShadowMatrix* shadow, double* slack, uint8_t* due) {
  assert(shadow->ld() == PaddedMatrix::DefaultLd(shadow->rows()));
#ifndef NDEBUG
  CheckDistinctColumns(cols, n, shadow->cols());
#endif
  const int dues = DispatchShadowStepColumns(
      p, cols, steps, n, delta, delta_bound, notch, shadow, slack, due);
#ifndef NDEBUG
  CheckUndueColumns(p, cols, n, notch, *shadow, due);
#endif
  return dues;
}

}  // namespace dwae::learn_kernels
