// Benchmarks of the Zeek input path: conn.log text to model input.
//
//   BM_ZeekParse     ZeekTsvParser::ParseLine of one data line
//   BM_ZeekExtract   one Zeek TSV line to a feature vector: parse, the
//                    per-sensor ZeekFeatureExtractor, FeatureEncoder::Encode
//                    (zeek schema) -- the whole offline/daemon path before
//                    the model
//   BM_ZeekJsonParse ZeekJsonParser::ParseLine of one JSON line
//
// Input: the two shipped CTU days (data/zeek/), replayed in order; each day
// and each pass over the data is shifted in time so that the extractor sees
// time move forward as a live sensor would (the lines' own disorder stays).
// Single-threaded; items are connections.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "core/dataset.h"
#include "core/encoder.h"
#include "core/zeek_features.h"
#include "core/zeek_parser.h"

#ifndef DWAE_SOURCE_DIR
#define DWAE_SOURCE_DIR "."
#endif

namespace dwae {
namespace {

constexpr const char* kDays[] = {"ctu-normal-42-day2.conn.log.labeled",
                                 "ctu-normal-43-day1.conn.log.labeled"};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "dwae_zeek_bench: %s\n", message.c_str());
  std::exit(1);
}

std::string ZeekPath(const std::string& name) {
  for (const std::string& dir :
       {std::string("data/zeek/"),
        absl::StrCat(DWAE_SOURCE_DIR, "/data/zeek/")}) {
    if (std::ifstream(dir + name).good()) return dir + name;
  }
  Die(absl::StrCat("cannot find data/zeek/", name,
                   "; run from the repository root"));
}

// Every line of a file (header lines included).
std::vector<std::string> ReadLines(const std::string& name) {
  std::ifstream in(ZeekPath(name));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  if (lines.empty()) Die(absl::StrCat(name, ": empty"));
  return lines;
}

// The two days one after the other (a header change mid-stream), with the
// time shift that puts each day after the one before.
struct TsvData {
  std::vector<std::string> lines;
  std::vector<double> shift;  // per line
  double span = 0;            // of one pass
};

const TsvData& Tsv() {
  static const TsvData* const kData = [] {
    auto* data = new TsvData();
    double next_start = 0;
    for (const char* day : kDays) {
      auto rows = LoadFeatureRows(ZeekPath(day), InputFormat::kZeek);
      if (!rows.ok()) Die(std::string(rows.status().message()));
      // Start and end of the day from its connections.
      ZeekTsvParser parser;
      Connection c;
      double first = 1e300, last = 0;
      const std::vector<std::string> lines = ReadLines(day);
      for (const std::string& line : lines) {
        absl::StatusOr<bool> got = parser.ParseLine(line, &c);
        if (!got.ok() || !*got) continue;
        first = std::min(first, c.ts);
        last = std::max(last, c.end_time());
      }
      const double shift = next_start - first;
      for (const std::string& line : lines) {
        data->lines.push_back(line);
        data->shift.push_back(shift);
      }
      next_start = last + shift + 3600;
    }
    data->span = next_start;
    return data;
  }();
  return *kData;
}

// An encoder fitted on the first day's rows (fitted or not, Encode costs
// the same; fitted keeps the numbers honest).
const FeatureEncoder& ZeekEncoder() {
  static const FeatureEncoder* const kEncoder = [] {
    auto rows = LoadFeatureRows(ZeekPath(kDays[0]), InputFormat::kZeek);
    if (!rows.ok()) Die(std::string(rows.status().message()));
    auto* encoder = new FeatureEncoder(FeatureSchema::kZeek);
    encoder->Fit(*rows);
    return encoder;
  }();
  return *kEncoder;
}

void BM_ZeekParse(benchmark::State& state) {
  const std::vector<std::string>& lines = Tsv().lines;
  ZeekTsvParser parser;
  Connection c;
  size_t i = 0;
  int64_t connections = 0;
  for (auto _ : state) {
    absl::StatusOr<bool> got = parser.ParseLine(lines[i], &c);
    if (!got.ok()) Die(std::string(got.status().message()));
    connections += *got;
    benchmark::DoNotOptimize(c.ts);
    if (++i == lines.size()) i = 0;
  }
  state.SetItemsProcessed(connections);
}
BENCHMARK(BM_ZeekParse);

void BM_ZeekExtract(benchmark::State& state) {
  const TsvData& data = Tsv();
  const std::vector<std::string>& lines = data.lines;
  const FeatureEncoder& encoder = ZeekEncoder();
  ZeekTsvParser parser;
  ZeekFeatureExtractor extractor;
  Connection c;
  Record row;
  std::vector<float> input(encoder.input_dim());
  size_t i = 0;
  double shift = 0;
  int64_t connections = 0;
  for (auto _ : state) {
    absl::StatusOr<bool> got = parser.ParseLine(lines[i], &c);
    if (!got.ok()) Die(std::string(got.status().message()));
    if (*got) {
      c.ts += shift + data.shift[i];
      extractor.Extract(c, &row);
      encoder.Encode(row, input.data());
      benchmark::DoNotOptimize(input.data());
      ++connections;
    }
    if (++i == lines.size()) {
      i = 0;
      shift += data.span;
    }
  }
  state.SetItemsProcessed(connections);
  state.counters["late_share"] =
      double(extractor.late()) /
      double(std::max<uint64_t>(1, extractor.connections()));
}
BENCHMARK(BM_ZeekExtract);

void BM_ZeekJsonParse(benchmark::State& state) {
  static const std::vector<std::string>* const kLines =
      new std::vector<std::string>(ReadLines("nmap-scans.conn.json.log"));
  ZeekJsonParser parser;
  Connection c;
  size_t i = 0;
  for (auto _ : state) {
    absl::StatusOr<bool> got = parser.ParseLine((*kLines)[i], &c);
    if (!got.ok()) Die(std::string(got.status().message()));
    benchmark::DoNotOptimize(c.ts);
    if (++i == kLines->size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ZeekJsonParse);

}  // namespace
}  // namespace dwae

BENCHMARK_MAIN();
