// The two scoring paths of one record that BM_ScoreOne, BM_ScoreOneFloat,
// BM_ScoreOnePaired and BM_ScoreOneBufferSweep time: the record encoded,
// then the integer or the float forward pass of the default warm model;
// and NanosPerRecord, which times a slice of records through one.
//
// Thread-safety: a scorer holds its own buffers; use one per thread.
#ifndef DWAE_BENCH_CORE_BENCH_SCORERS_H_
#define DWAE_BENCH_CORE_BENCH_SCORERS_H_

#include <chrono>
#include <cstddef>
#include <vector>

#include "bench/core_bench_data.h"
#include "benchmark/benchmark.h"
#include "core/cache_aligned.h"
#include "core/encoder.h"
#include "core/inference_network.h"
#include "core/network.h"
#include "core/record.h"

namespace dwae::bench {

// The kernels of the daemon's path (ScoringModel::ScoreBatch of one record)
// on one InferenceNetwork: the record encoded with its bytes, the integer
// pass from them. Holds its own buffers: one per thread. Both scorers'
// buffers start on a cache line: the encoders write them with 64-byte
// stores, and from malloc's 16-byte alignment a path's time depended on
// where its buffers happened to land (7-16 ns of the integer path's 141).
class IntegerScorer {
 public:
  IntegerScorer()
      : encoder_(GetData().encoder),
        net_(ScoringNetwork()),
        ws_(net_.MakeWorkspace()),
        x_(kInputDim),
        q_(size_t(encoder_.quantized_size())) {}
  float operator()(const Record& r) {
    encoder_.EncodeQuantized(r, x_.data(), q_.data());
    return net_.ForwardEncoded(x_.data(), q_.data(), &ws_);
  }

 private:
  const FeatureEncoder& encoder_;
  const InferenceNetwork& net_;
  Workspace ws_;
  CacheAlignedFloats x_;
  CacheAlignedBytes q_;
};

// The float path of the same model: Encode, then Network::Forward.
class FloatScorer {
 public:
  FloatScorer()
      : encoder_(GetData().encoder),
        net_(WarmDefaultModel().network()),
        ws_(net_.MakeWorkspace()),
        x_(kInputDim) {}
  float operator()(const Record& r) {
    encoder_.Encode(r, x_.data());
    return net_.Forward(x_.data(), &ws_);
  }

 private:
  const FeatureEncoder& encoder_;
  const Network& net_;
  Workspace ws_;
  CacheAlignedFloats x_;
};

// Nanoseconds per record of `score` over rows [first, first + count)
// (first + count <= rows.size()), timed as one slice.
template <typename Score>
double NanosPerRecord(const std::vector<Record>& rows, size_t first,
                      size_t count, Score& score) {
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = first; i < first + count; ++i) {
    float s = score(rows[i]);
    benchmark::DoNotOptimize(s);
  }
  const std::chrono::duration<double, std::nano> elapsed =
      std::chrono::steady_clock::now() - start;
  return elapsed.count() / static_cast<double>(count);
}

}  // namespace dwae::bench

#endif  // DWAE_BENCH_CORE_BENCH_SCORERS_H_
