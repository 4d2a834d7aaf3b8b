// Benchmarks of the core scoring and learning path on NSL-KDD data.
//
//   BM_ParseLine         ParseRecordLine on raw KDDTest+ lines
//   BM_EncodeOne         FeatureEncoder::Encode of one parsed record
//   BM_EncodeQuantized   FeatureEncoder::EncodeQuantized of one parsed
//                        record (floats and bytes: the daemon's encoder)
//   BM_ScoreOne          FeatureEncoder::EncodeQuantized +
//                        InferenceNetwork::ForwardEncoded of one parsed
//                        record: the encoder and forward kernels that
//                        ScoringModel::ScoreBatch (the daemon's path after
//                        parsing) runs for the default dw-stochastic model,
//                        called directly on one InferenceNetwork, without
//                        ScoringModel's chunking, ScoringEnsemble's member
//                        loop and the verdict (Conclude)
//   BM_ScoreOneFloat     the same model on the float path (Network::Forward),
//                        for the integer/float ratio
//   BM_ScoreOnePaired/hot:<0|1>  both, in pairs of 256-record slices timed
//                        one after the other: the ratio measured at one
//                        moment (counter float_over_int; int_ns, float_ns),
//                        on records walked through as above (0) or on 512
//                        records in cache (1)
//   BM_ForwardInt8       the integer forward pass alone, on encoded rows
//   BM_ForwardFloat      the float forward pass alone, same model and rows
//   BM_ForwardInt8Batch/16  the integer forward pass of 16 encoded rows per
//                        InferenceNetwork::ForwardBatch call
//   BM_ForwardEncoded    InferenceNetwork::ForwardEncoded alone (the forward
//                        half of BM_ScoreOne) on 512 test rows encoded
//                        beforehand
//   BM_ForwardEncodedBatch/16  the same, 16 rows per ForwardEncodedBatch call
//   BM_ScoreBatch/1024   EncodeQuantized + score of 1024 records per
//                        iteration, 16 at a time through
//                        InferenceNetwork::ForwardEncodedBatch (the kernels
//                        of the daemon's batch path, without ScoringModel
//                        and ScoringEnsemble around them), walking through
//                        all test rows
//   BM_ScoreBatchHot/1024  the same on the same 1024 rows every iteration
//                        (records in cache, as a batch just parsed is)
//   BM_LearnOne/<rule>   one Autoencoder::Learn step on an encoded normal
//                        training row, for float, dw-shadow, dw-stochastic
//   BM_OutputLayerProducts/<ld>  the learning step's two products of the
//                        125x32 output layer (forward, and back to the
//                        hidden layer) with columns ld floats apart: 128
//                        (the layers' padded layout) or 125 (packed)
//   BM_ScoreOneBufferSweep (buffer_sweep.cc)  both paths through 256
//                        scorers each, every scorer with its own buffers:
//                        the integer path's slow mode counted in one process
//
// Data are looked up as data/nsl-kdd/... relative to the working directory,
// then under DWAE_SOURCE_DIR. All benchmarks are single-threaded and measure
// items (records) per second.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/core_bench_data.h"
#include "bench/core_bench_scorers.h"
#include "bench/paired_rounds.h"
#include "benchmark/benchmark.h"
#include "core/cache_aligned.h"
#include "core/encoder.h"
#include "core/inference_network.h"
#include "core/learn_kernels.h"
#include "core/model.h"
#include "core/padded_matrix.h"
#include "core/record.h"
#include "core/rng.h"
#include "core/rules.h"

namespace dwae {
namespace {

using bench::Data;
using bench::FloatScorer;
using bench::GetData;
using bench::IntegerScorer;
using bench::MakeWarmModel;
using bench::Median;
using bench::NanosPerRecord;
using bench::ScoringNetwork;
using bench::WarmDefaultModel;

void BM_ParseLine(benchmark::State& state) {
  const std::vector<std::string>& lines = GetData().test_lines;
  size_t i = 0;
  for (auto _ : state) {
    absl::StatusOr<Record> record =
        ParseRecordLine(lines[i], RecordFormat::kNslKdd);
    benchmark::DoNotOptimize(record);
    if (++i == lines.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseLine);

void BM_EncodeOne(benchmark::State& state) {
  const Data& data = GetData();
  std::vector<float> x(kInputDim);
  size_t i = 0;
  for (auto _ : state) {
    data.encoder.Encode(data.test_rows[i], x.data());
    benchmark::DoNotOptimize(x.data());
    benchmark::ClobberMemory();
    if (++i == data.test_rows.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeOne);

void BM_EncodeQuantized(benchmark::State& state) {
  const Data& data = GetData();
  std::vector<float> x(kInputDim);
  CacheAlignedBytes q(size_t(data.encoder.quantized_size()));
  size_t i = 0;
  for (auto _ : state) {
    data.encoder.EncodeQuantized(data.test_rows[i], x.data(), q.data());
    benchmark::DoNotOptimize(x.data());
    benchmark::DoNotOptimize(q.data());
    benchmark::ClobberMemory();
    if (++i == data.test_rows.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeQuantized);

// One test record per iteration through `score(record)`, walking through
// the test rows.
template <typename Score>
void ScoreEachRecord(benchmark::State& state, Score score) {
  const std::vector<Record>& rows = GetData().test_rows;
  size_t i = 0;
  for (auto _ : state) {
    float s = score(rows[i]);
    benchmark::DoNotOptimize(s);
    if (++i == rows.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ScoreOne(benchmark::State& state) {
  ScoreEachRecord(state, IntegerScorer());
}
BENCHMARK(BM_ScoreOne);

void BM_ScoreOneFloat(benchmark::State& state) {
  ScoreEachRecord(state, FloatScorer());
}
BENCHMARK(BM_ScoreOneFloat);

// Records per slice in BM_ScoreOnePaired: long enough that the switch from
// one path to the other (its tables back into the L1 cache) is a small part
// of a slice, short enough (tens of microseconds) that the VM's speed does
// not change between the two slices of a pair.
constexpr int kPairedSlice = 256;

// BM_ScoreOne and BM_ScoreOneFloat in pairs: each iteration scores
// kPairedSlice test records through each path, one slice after the other
// (the order alternating), each slice timed. This machine's speed drifts by
// up to 1.5x over seconds, which moves the ratio of two benchmarks run at
// different moments by as much; within a pair both slices run at the same
// speed. With range(0) 0 (cold) the slices take turns along the walk
// through all test rows, as BM_ScoreOne's and BM_ScoreOneFloat's records
// come (mostly from memory), never records the other path has just read;
// with 1 (hot) both paths score the same kPairedHotRows rows over and over
// (in cache, as a record the daemon has just parsed). Counters: int_ns and
// float_ns, the median time per record of each path's slices;
// float_over_int, the median over the pairs of the float slice's time over
// the integer slice's (the integer path's speed-up).
constexpr size_t kPairedHotRows = 512;
void BM_ScoreOnePaired(benchmark::State& state) {
  const std::vector<Record>& rows = GetData().test_rows;
  const bool hot = state.range(0) == 1;
  // Whole slices (the last 16 test rows are left out of the cold walk).
  const size_t walk =
      hot ? kPairedHotRows : rows.size() / kPairedSlice * kPairedSlice;
  IntegerScorer integer;
  FloatScorer floating;
  std::vector<double> int_ns, float_ns, ratios;
  size_t next = 0;
  // The first row of the next slice, moving on along the walk.
  auto take = [&] {
    const size_t first = next;
    next = (next + kPairedSlice) % walk;
    return first;
  };
  bool integer_first = true;
  for (auto _ : state) {
    double a, b;
    if (integer_first) {
      a = NanosPerRecord(rows, take(), kPairedSlice, integer);
      b = NanosPerRecord(rows, take(), kPairedSlice, floating);
    } else {
      b = NanosPerRecord(rows, take(), kPairedSlice, floating);
      a = NanosPerRecord(rows, take(), kPairedSlice, integer);
    }
    int_ns.push_back(a);
    float_ns.push_back(b);
    ratios.push_back(b / a);
    integer_first = !integer_first;
  }
  state.SetItemsProcessed(state.iterations() * 2 * kPairedSlice);
  state.counters["int_ns"] = Median(int_ns);
  state.counters["float_ns"] = Median(float_ns);
  state.counters["float_over_int"] = Median(ratios);
}
BENCHMARK(BM_ScoreOnePaired)->ArgName("hot")->Arg(0)->Arg(1);

// The forward pass alone on pre-encoded rows: integer and float paths.
template <typename Net>
void ForwardOne(benchmark::State& state, const Net& net) {
  const Data& data = GetData();
  Workspace ws = net.MakeWorkspace();
  int i = 0;
  for (auto _ : state) {
    float score = net.Forward(data.normal_row(i), &ws);
    benchmark::DoNotOptimize(score);
    if (++i == data.num_normal()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ForwardInt8(benchmark::State& state) {
  ForwardOne(state, ScoringNetwork());
}
BENCHMARK(BM_ForwardInt8);

void BM_ForwardFloat(benchmark::State& state) {
  ForwardOne(state, WarmDefaultModel().network());
}
BENCHMARK(BM_ForwardFloat);

// n workspaces of `net` and their addresses, for the batch calls.
struct Workspaces {
  Workspaces(const InferenceNetwork& net, int n) : ws(n, net.MakeWorkspace()) {
    for (Workspace& w : ws) ptrs.push_back(&w);
  }
  std::vector<Workspace> ws;
  std::vector<Workspace*> ptrs;
};

// The integer forward pass from the encoder's bytes alone
// (InferenceNetwork::ForwardEncoded, the forward half of BM_ScoreOne), on
// test rows encoded beforehand (kEncodedRows of them, in cache).
constexpr int kEncodedRows = 512;
struct EncodedRows {
  std::vector<float> x;
  CacheAlignedBytes q;
  size_t bytes;
  const float* row(int i) const { return &x[size_t(i) * kInputDim]; }
  const uint8_t* row_bytes(int i) const { return &q[size_t(i) * bytes]; }
};
const EncodedRows& GetEncodedRows() {
  static const EncodedRows* const rows = [] {
    const Data& data = GetData();
    auto* r = new EncodedRows;
    r->bytes = size_t(data.encoder.quantized_size());
    r->x.resize(size_t(kEncodedRows) * kInputDim);
    r->q.resize(size_t(kEncodedRows) * r->bytes);
    for (int i = 0; i < kEncodedRows; ++i) {
      data.encoder.EncodeQuantized(data.test_rows[i], &r->x[i * kInputDim],
                                   &r->q[i * r->bytes]);
    }
    return r;
  }();
  return *rows;
}

void BM_ForwardEncoded(benchmark::State& state) {
  const EncodedRows& rows = GetEncodedRows();
  const InferenceNetwork& net = ScoringNetwork();
  Workspace ws = net.MakeWorkspace();
  int i = 0;
  for (auto _ : state) {
    float score = net.ForwardEncoded(rows.row(i), rows.row_bytes(i), &ws);
    benchmark::DoNotOptimize(score);
    if (++i == kEncodedRows) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ForwardEncoded);

// The integer forward pass on state.range(0) rows per call: the normal
// training rows' floats through ForwardBatch, or (kEncoded) the encoded
// test rows through ForwardEncodedBatch.
template <bool kEncoded>
void ForwardRowsInBatches(benchmark::State& state) {
  const Data& data = GetData();
  const EncodedRows& encoded = GetEncodedRows();
  const int num_rows = kEncoded ? kEncodedRows : data.num_normal();
  const InferenceNetwork& net = ScoringNetwork();
  const int batch = static_cast<int>(state.range(0));
  const Workspaces ws(net, batch);
  std::vector<const float*> x(batch);
  std::vector<const uint8_t*> q(batch);
  std::vector<float> scores(batch);
  int next = 0;
  for (auto _ : state) {
    for (int b = 0; b < batch; ++b) {
      x[b] = kEncoded ? encoded.row(next) : data.normal_row(next);
      q[b] = encoded.row_bytes(next % kEncodedRows);
      if (++next == num_rows) next = 0;
    }
    if (kEncoded) {
      net.ForwardEncodedBatch(batch, x.data(), q.data(), ws.ptrs.data(),
                              scores.data());
    } else {
      net.ForwardBatch(batch, x.data(), ws.ptrs.data(), scores.data());
    }
    benchmark::DoNotOptimize(scores.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

void BM_ForwardInt8Batch(benchmark::State& state) {
  ForwardRowsInBatches<false>(state);
}
BENCHMARK(BM_ForwardInt8Batch)->Arg(16);

void BM_ForwardEncodedBatch(benchmark::State& state) {
  ForwardRowsInBatches<true>(state);
}
BENCHMARK(BM_ForwardEncodedBatch)->Arg(16);

// Records per InferenceNetwork::ForwardBatch call in BM_ScoreBatch (what
// the daemon's Score does with a stream batch).
constexpr int kScoreChunk = 16;

// Encodes and scores `batch` test rows per iteration, 16 at a time. With
// `hot`, every iteration scores the same first `batch` rows (in cache after
// the first pass, like a batch the daemon has just parsed); otherwise it
// walks on through all 22,544 test rows, which mostly come from memory.
void ScoreBatchRows(benchmark::State& state, bool hot) {
  const Data& data = GetData();
  const InferenceNetwork& net = ScoringNetwork();
  const int batch = static_cast<int>(state.range(0));
  const Workspaces ws(net, kScoreChunk);
  std::vector<float> x(size_t(kScoreChunk) * kInputDim);
  const size_t bytes = size_t(data.encoder.quantized_size());
  CacheAlignedBytes q(kScoreChunk * bytes);
  std::vector<const float*> rows;
  std::vector<const uint8_t*> row_bytes;
  for (int b = 0; b < kScoreChunk; ++b) {
    rows.push_back(&x[size_t(b) * kInputDim]);
    row_bytes.push_back(&q[b * bytes]);
  }
  std::vector<float> scores(batch);
  size_t next = 0;
  for (auto _ : state) {
    if (hot) next = 0;
    for (int first = 0; first < batch; first += kScoreChunk) {
      const int n = std::min(kScoreChunk, batch - first);
      for (int b = 0; b < n; ++b) {
        // As ScoringModel::ScoreBatch does (a batch's records are its own
        // there; here the walk through all test rows wraps around).
        size_t ahead = next + FeatureEncoder::kPrefetchAhead;
        if (ahead >= data.test_rows.size()) ahead -= data.test_rows.size();
        FeatureEncoder::PrefetchForEncoding(data.test_rows[ahead]);
        data.encoder.EncodeQuantized(
            data.test_rows[next], x.data() + static_cast<size_t>(b) * kInputDim,
            &q[b * bytes]);
        if (++next == data.test_rows.size()) next = 0;
      }
      net.ForwardEncodedBatch(n, rows.data(), row_bytes.data(), ws.ptrs.data(),
                              &scores[first]);
    }
    benchmark::DoNotOptimize(scores.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

void BM_ScoreBatch(benchmark::State& state) { ScoreBatchRows(state, false); }
BENCHMARK(BM_ScoreBatch)->Arg(1024);

void BM_ScoreBatchHot(benchmark::State& state) { ScoreBatchRows(state, true); }
BENCHMARK(BM_ScoreBatchHot)->Arg(1024);

void BM_LearnOne(benchmark::State& state, RuleKind kind) {
  const Data& data = GetData();
  std::unique_ptr<Autoencoder> model = MakeWarmModel(kind);
  Workspace ws = model->MakeWorkspace();
  int i = 0;
  for (auto _ : state) {
    float loss = model->Learn(data.normal_row(i), &ws);
    benchmark::DoNotOptimize(loss);
    if (++i == data.num_normal()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

const bool kLearnRegistered = [] {
  for (RuleKind kind :
       {RuleKind::kFloat, RuleKind::kDwShadow, RuleKind::kDwStochastic}) {
    benchmark::RegisterBenchmark(
        absl::StrCat("BM_LearnOne/", RuleName(kind)).c_str(),
        [kind](benchmark::State& state) { BM_LearnOne(state, kind); });
  }
  return true;
}();

void BM_OutputLayerProducts(benchmark::State& state) {
  const int rows = kInputDim, cols = 32, ld = int(state.range(0));
  PaddedMatrix w(rows, cols, ld);  // 64-byte aligned
  Rng rng(1);
  for (int j = 0; j < cols; ++j) {
    for (int i = 0; i < rows; ++i) w(i, j) = float(rng.Uniform() - 0.5);
  }
  Eigen::VectorXf hidden(cols), bias(rows), z(rows), d(rows), back(cols);
  for (float* v : {hidden.data(), back.data()}) {
    for (int j = 0; j < cols; ++j) v[j] = float(rng.Uniform());
  }
  for (float* v : {bias.data(), d.data()}) {
    for (int i = 0; i < rows; ++i) v[i] = float(rng.Uniform() - 0.5) * 0.1f;
  }
  for (auto _ : state) {
    learn_kernels::DenseForward(w.data(), rows, ld, cols, hidden.data(),
                                bias.data(), z.data());
    learn_kernels::TransposedProductSigmoid(w.data(), rows, ld, cols, d.data(),
                                            hidden.data(), back.data());
    benchmark::DoNotOptimize(z.data());
    benchmark::DoNotOptimize(back.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OutputLayerProducts)->Arg(kInputDim)->Arg(128);

}  // namespace
}  // namespace dwae

BENCHMARK_MAIN();
