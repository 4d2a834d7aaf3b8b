// The figures `dwae bench` reports (bench_command.cc) and their output: the
// totals over all worker threads, printed as one JSON object or as a human
// summary. Internal to the client; not part of the bench_command.h contract.
//
// Counts. `records` is the number of valid verdicts (error_code 0) received;
// `errors` is invalid verdicts (error_code != 0) plus the entries of
// batches refused as a whole (the VerdictBatch's error_code, e.g. a batch
// over the daemon's max_batch_records) plus failed RPCs; records_per_second is
// records / seconds. Percentiles are exact nearest-rank order statistics of
// every sample (latency.h); failed calls have no latency sample.
//
// Thread-safety: BenchResult is plain data with no synchronization; fill it
// and print it from one thread (after every worker has been joined). The
// Print functions write to stdout.
#ifndef DWAE_CLIENT_BENCH_REPORT_H_
#define DWAE_CLIENT_BENCH_REPORT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "client/bench_command.h"
#include "client/latency.h"

namespace dwae {
namespace bench {

struct BenchResult {
  LatencySummary latency;
  LatencySummary send_lag;  // paced unary mode only
  uint64_t records = 0;
  uint64_t invalid = 0;
  uint64_t calls = 0;
  uint64_t failed = 0;
  uint64_t unmatched = 0;
  double seconds = 0;
  int threads = 0;
  uint64_t file_records = 0;
  size_t prebuilt_batches = 0;
  std::vector<std::string> warming_up;  // servers still warming up
  std::vector<std::string> idle;        // servers that own no sensor

  uint64_t errors() const { return invalid + failed; }
  double records_per_second() const {
    return seconds > 0 ? double(records) / seconds : 0;
  }
};

// One JSON object (the options and the figures) and a newline, on stdout.
void PrintJson(const BenchCommandOptions& o, const BenchResult& b);
// A human-readable summary of the options and the figures, on stdout.
void PrintSummary(const BenchCommandOptions& o, const BenchResult& b);

}  // namespace bench
}  // namespace dwae

#endif  // DWAE_CLIENT_BENCH_REPORT_H_
