// The worker threads of `dwae bench` (bench_command.cc): one per stream
// (stream mode) or per caller (unary mode), each on a gRPC channel (and so
// a TCP connection) of its own, sending prebuilt batches to one server until
// a deadline and recording the latency of every answered batch or call and
// the verdicts received. See bench_workers.cc for how the latencies are
// measured. Internal to the client; not part of the bench_command.h
// contract.
//
// Thread-safety: a Worker belongs to the one thread that runs
// RunStreamWorker or RunUnaryWorker on it; no other thread may touch it
// until that call has returned (join the thread before reading `result`).
// The batches and requests a Worker points to are shared read-only by all
// workers and must outlive the run. OpenChannel may be called from any
// thread.
#ifndef DWAE_CLIENT_BENCH_WORKERS_H_
#define DWAE_CLIENT_BENCH_WORKERS_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/bench_command.h"
#include "client/latency.h"
#include "dwae/v1/detector.pb.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/status.h"

namespace dwae {
namespace bench {

using Clock = std::chrono::steady_clock;

// One channel of its own: a local subchannel pool and a distinct channel
// argument (`index`) keep gRPC from sharing one TCP connection between
// channels. Fails if `address` is not connected within `timeout`.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(
    const std::string& address, int index, absl::Duration timeout,
    const ChannelSecurity& security);

// What one stream or caller thread measured.
struct WorkerResult {
  LatencySamples latency;
  // Paced unary calls: how late each call was actually sent (client side).
  LatencySamples send_lag;
  uint64_t records = 0;  // valid verdicts
  uint64_t invalid = 0;  // verdicts with error_code != 0
  uint64_t calls = 0;  // batches answered (stream) / Score calls that succeeded
  uint64_t failed = 0;     // failed RPCs
  uint64_t unmatched = 0;  // VerdictBatches with no batch outstanding
  std::string first_error;

  // Counts valid and invalid verdicts; keeps the first invalid one as
  // first_error if there is none yet.
  void CountVerdicts(
      const google::protobuf::RepeatedPtrField<v1::Verdict>& verdicts);
  // The same for a serialized VerdictBatch, without building it: only each
  // verdict's error_code is read (a verdict with an error is parsed in
  // full, for first_error). A batch refused as a whole (the batch-level
  // error_code, no verdicts) counts its `entries` (the batch sent) as
  // invalid, first_error "batch of N entries refused: MESSAGE". False,
  // counting nothing more, when `bytes` is not a well-formed VerdictBatch.
  bool CountSerializedVerdicts(absl::string_view bytes, size_t entries);
  // Counts an invalid verdict; keeps it as first_error if there is none
  // yet.
  void CountInvalid(const v1::Verdict& v);
  // Counts a failed RPC; keeps it as first_error if there is none yet.
  void Fail(const grpc::Status& status, const std::string& address);
};

struct Worker {
  std::string address;
  std::shared_ptr<grpc::Channel> channel;
  // Stream mode: the batches, serialized once before the clock starts
  // (SerializeBatches), so that the bench's own CPU goes to sending them.
  const std::vector<grpc::ByteBuffer>* batches = nullptr;
  // Stream mode: the number of entries of each of *batches.
  const std::vector<size_t>* batch_entries = nullptr;
  const std::vector<v1::ScoreRequest>* requests = nullptr;  // unary mode
  size_t first = 0;  // index of the first batch sent
  int index = 0;     // 0..threads-1
  WorkerResult result;
};

// The wire form of `batches` (what the generated stub would send).
std::vector<grpc::ByteBuffer> SerializeBatches(
    const std::vector<v1::RecordBatch>& batches);

// Stream mode: one Stream RPC on w->channel, cycling through *w->batches
// with at most o.max_in_flight unanswered, until `deadline`; then drains.
// Runs a reader thread of its own, joined before returning.
void RunStreamWorker(const BenchCommandOptions& o, Clock::time_point deadline,
                     Worker* w);

// Unary mode: Score calls of *w->requests on w->channel until `deadline`,
// back to back, or with o.rate > 0 on worker w->index's share of a fixed
// schedule over `threads` workers starting at `start`.
void RunUnaryWorker(const BenchCommandOptions& o, int threads,
                    Clock::time_point start, Clock::time_point deadline,
                    Worker* w);

}  // namespace bench
}  // namespace dwae

#endif  // DWAE_CLIENT_BENCH_WORKERS_H_
