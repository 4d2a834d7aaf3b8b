// dw-shadow's column step alone (learn_kernels::ShadowStepColumns,
// core/shadow_kernels.h) on each instruction set's path, at the shapes of
// the benchmark model's two layers (core_bench: 122 inputs, hidden {32}):
// 32 rows x 122 columns and 122 rows x 32 columns, every column visited per
// call. Deltas and steps of a warm model's size (|delta| <= 0.02, step
// 0.01 x an activation in [0, 1]) from a pool, so most columns skip their
// trigger test and some are tested; a column found due is "pulsed" the
// cheap way (its notches moved to the nearest level of their shadows).
// Items: columns stepped. BM_LearnOne/dw-shadow (core_bench) times the
// whole learner around it.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "core/learn_kernels.h"
#include "core/rng.h"
#include "core/shadow_kernels.h"

namespace dwae::learn_kernels {
namespace {

constexpr float kAlpha = 0.25f;
const ShadowParams kParams = {2.5f * kAlpha, 0.7f * kAlpha, 2.0f, kAlpha};
constexpr int kPool = 64;

// One layer's state and a pool of (delta, steps) inputs.
struct ShadowLayer {
  ShadowLayer(int rows, int cols)
      : shadow(rows, cols),
        notch(size_t(rows) * cols),
        slack(cols, kShadowUnchecked),
        columns(cols),
        due(cols) {
    Rng rng(42);
    for (int j = 0; j < cols; ++j) {
      columns[j] = j;
      for (int i = 0; i < rows; ++i) {
        const int8_t n = int8_t(rng.Below(5));
        notch[size_t(j) * rows + i] = n;
        shadow.column(j)[i] =
            (float(n) - kParams.center + 0.6f * (float(rng.Uniform()) - 0.5f)) *
            kAlpha;
      }
    }
    for (int k = 0; k < kPool; ++k) {
      std::vector<float> d(rows), s(cols);
      for (float& x : d) x = 0.04f * (float(rng.Uniform()) - 0.5f);
      for (float& x : s) x = rng.Below(4) == 0 ? 0.0f : 0.01f * rng.Uniform();
      bounds.push_back(ShadowDeltaBound(d.data(), rows));
      deltas.push_back(std::move(d));
      steps.push_back(std::move(s));
    }
  }

  // Moves the walls of column columns[c] to the levels nearest their
  // shadows, as a pulse would (its slack is already kShadowUnchecked).
  void Pulse(int c) {
    const int rows = shadow.rows();
    const float* s = shadow.column(columns[c]);
    int8_t* n = notch.data() + size_t(columns[c]) * rows;
    for (int i = 0; i < rows; ++i) {
      const float level = std::nearbyint(s[i] / kAlpha + kParams.center);
      n[i] = int8_t(std::clamp(level, 0.0f, 4.0f));
    }
  }

  ShadowMatrix shadow;
  std::vector<int8_t> notch;
  std::vector<double> slack;
  std::vector<int> columns;
  std::vector<uint8_t> due;
  std::vector<std::vector<float>> deltas, steps;
  std::vector<float> bounds;
};

void BM_ShadowStepColumns(benchmark::State& state, Isa isa, int rows,
                          int cols) {
  if (BestIsa() < isa) {
    state.SkipWithError("this CPU lacks the instruction set");
    return;
  }
  SetIsaForTesting(isa);
  ShadowLayer layer(rows, cols);
  int k = 0;
  int64_t dues = 0;
  for (auto _ : state) {
    const int n = ShadowStepColumns(
        kParams, layer.columns.data(), layer.steps[k].data(), cols,
        layer.deltas[k].data(), layer.bounds[k], layer.notch.data(),
        &layer.shadow, layer.slack.data(), layer.due.data());
    dues += n;
    for (int c = 0; n > 0 && c < cols; ++c) {
      if (layer.due[c]) layer.Pulse(c);
    }
    if (++k == kPool) k = 0;
  }
  SetIsaForTesting(BestIsa());
  state.SetItemsProcessed(state.iterations() * cols);
  state.counters["due_per_call"] =
      benchmark::Counter(double(dues) / double(state.iterations()));
}

const bool kRegistered = [] {
  for (Isa isa : {Isa::kReference, Isa::kAvx2, Isa::kAvx512}) {
    for (auto [rows, cols] : {std::pair{32, 122}, std::pair{122, 32}}) {
      benchmark::RegisterBenchmark(
          absl::StrCat("BM_ShadowStepColumns/", IsaName(isa), "/", rows, "x",
                       cols)
              .c_str(),
          [isa, rows, cols](benchmark::State& state) {
            BM_ShadowStepColumns(state, isa, rows, cols);
          });
    }
  }
  return true;
}();

}  // namespace
}  // namespace dwae::learn_kernels

BENCHMARK_MAIN();
