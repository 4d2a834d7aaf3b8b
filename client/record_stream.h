// ShardedStream: records (or Zeek connections) out to one or more dwaed
// replicas, verdicts back.
//
// Shared by `dwae replay`, `dwae tail` and `dwae bench`. Start() connects to
// every server (failing with "cannot reach ADDR ..." if any is unreachable)
// and runs one Stream RPC per server, each on a thread of its own
// (DetectorClient::StreamBatches). Send() routes a record to the replica
// that owns its sensor_id (ShardRing, sharding.h) through a bounded
// per-shard queue: when a shard's queue is full, Send() blocks until that
// shard's stream has taken records from it (back-pressure, bounded memory).
//
// A shard's thread sends a batch as soon as `batch` records are queued, and
// a partial batch when Flush() was called, when Finish() was called, or when
// its oldest queued record has waited `max_batch_delay` (so verdicts stay
// live at low rates).
//
// Every VerdictBatch goes to the one `sink` with the index of its shard
// (into servers()); calls are serialized by a mutex, so the sink needs no
// locking of its own. Order: the verdicts of one shard arrive in the order
// its records were sent (so one sensor's verdicts are in order); there is
// NO order across shards: verdicts of records sent to different replicas
// may arrive in any interleaving.
//
// Errors: the first failure of any stream (prefixed "stream to ADDR: ")
// cancels the others and is returned by the following Send() and by
// Finish().
//
// Thread-safety: Send(), Flush(), Finish() and Cancel() are for one
// producer thread; the sink runs on the streams' reader threads.
#ifndef DWAE_CLIENT_RECORD_STREAM_H_
#define DWAE_CLIENT_RECORD_STREAM_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/grpc_client.h"
#include "client/sharding.h"
#include "core/record_proto.h"
#include "dwae/v1/detector.pb.h"

namespace dwae {

struct ShardedStreamOptions {
  // host:port of every replica (ParseServerList): non-empty, no duplicates.
  std::vector<std::string> servers;
  absl::Duration connect_timeout = absl::Seconds(5);
  // TLS and token of every connection (client/grpc_client.h).
  ChannelSecurity security;
  // The learning mode and top_k (0: the daemon's default) of every batch.
  v1::LearningMode learning = v1::LEARNING_MODE_DEFAULT;
  uint32_t top_k = 0;
  // Records per RecordBatch, >= 1.
  int batch = 512;
  // Batches sent but not yet answered, per stream, >= 1.
  int max_in_flight = 8;
  // A partial batch goes out once its oldest record waited this long
  // (InfiniteDuration: only on Flush() / Finish()).
  absl::Duration max_batch_delay = absl::InfiniteDuration();
  // Records queued per shard before Send() blocks (0: 2 x batch).
  int queue_records = 0;
};

class ShardedStream {
 public:
  // Called once per VerdictBatch, with the index of the shard that answered.
  using Sink = std::function<void(int shard, const v1::VerdictBatch&)>;

  // Connects to every server and starts the streams.
  static absl::StatusOr<std::unique_ptr<ShardedStream>> Start(
      const ShardedStreamOptions& options, Sink sink);

  // Cancels the streams if Finish() was not called.
  ~ShardedStream();
  ShardedStream(const ShardedStream&) = delete;
  ShardedStream& operator=(const ShardedStream&) = delete;

  // Queues `entry` (a record or a connection) for the shard of its
  // sensor_id; blocks while that shard's queue is full. Returns the first
  // stream error, if any. Records and connections may be mixed: a batch
  // holds one kind, so a switch of kind ends a batch early.
  absl::Status Send(WireEntry entry);
  // Sends every shard's partial batch now.
  void Flush();
  // No more records: sends what is queued, waits for every verdict and
  // every stream to end, and returns the first error. Call once.
  absl::Status Finish();
  // Abandons queued records and cancels the streams; Finish() then returns
  // CANCELLED (or an earlier error).
  void Cancel();

  const ShardRing& ring() const { return ring_; }
  const std::vector<std::string>& servers() const { return ring_.servers(); }
  // Records handed to each shard's stream so far.
  uint64_t sent(int shard) const;

 private:
  struct Shard;

  ShardedStream(const ShardedStreamOptions& options, Sink sink);
  absl::StatusOr<bool> NextBatch(Shard& shard, v1::RecordBatch* batch);
  void RunShard(int index);
  void Fail(const absl::Status& status);
  absl::Status FirstError();
  void WakeAll();

  const ShardedStreamOptions options_;
  const ShardRing ring_;
  const Sink sink_;
  const size_t capacity_;
  std::mutex sink_mu_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<bool> failed_{false};
  std::mutex error_mu_;
  absl::Status first_error_;  // guarded by error_mu_
  bool finished_ = false;
};

}  // namespace dwae

#endif  // DWAE_CLIENT_RECORD_STREAM_H_
