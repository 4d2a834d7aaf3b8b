// What the core benchmarks share: the NSL-KDD rows (data/nsl-kdd/...,
// relative to the working directory, then under DWAE_SOURCE_DIR), the
// encoder fitted on the normal training rows, and the default model warmed
// up on them, in its float (Autoencoder) and served (InferenceNetwork)
// forms. Everything is built once, on first use, and never freed.
//
// Thread-safety: the getters may be called from any thread (function-local
// statics); what they return is immutable.
#ifndef DWAE_BENCH_CORE_BENCH_DATA_H_
#define DWAE_BENCH_CORE_BENCH_DATA_H_

#include <memory>
#include <string>
#include <vector>

#include "core/encoder.h"
#include "core/inference_network.h"
#include "core/model.h"
#include "core/record.h"

namespace dwae::bench {

// Everything loaded once, on first use.
struct Data {
  std::vector<std::string> test_lines;  // non-blank lines of KDDTest+
  std::vector<Record> test_rows;        // parsed KDDTest+
  std::vector<Record> normal_train;     // normal rows of KDDTrain+_20Percent
  std::vector<float> normal_encoded;    // normal_train encoded, row-major
  FeatureEncoder encoder;               // fitted on normal_train

  int num_normal() const { return static_cast<int>(normal_train.size()); }
  const float* normal_row(int i) const {
    return normal_encoded.data() + static_cast<size_t>(i) * kInputDim;
  }
};

const Data& GetData();

// A model of `kind` after one learning pass over the normal training rows.
std::unique_ptr<Autoencoder> MakeWarmModel(RuleKind kind);

// The benchmarks' model: default rule (dw-stochastic), warmed up.
const Autoencoder& WarmDefaultModel();

// The served form of WarmDefaultModel (integer kernels).
const InferenceNetwork& ScoringNetwork();

// Prints "dwae_core_bench: <message>" and exits with status 1.
[[noreturn]] void Die(const std::string& message);

}  // namespace dwae::bench

#endif  // DWAE_BENCH_CORE_BENCH_DATA_H_
