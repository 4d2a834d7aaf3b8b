#include "client/record_stream.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <thread>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/grpc_client.h"

namespace dwae {

struct ShardedStream::Shard {
  std::unique_ptr<DetectorClient> client;
  std::thread thread;

  std::mutex mu;
  std::condition_variable ready;     // records queued, flush, close or cancel
  std::condition_variable space;     // records taken, or the stream ended
  std::deque<WireEntry> queue;       // guarded by mu
  std::deque<absl::Time> queued_at;  // guarded by mu; with a finite delay
  bool flush = false;                // guarded by mu
  bool closed = false;               // guarded by mu
  bool done = false;                 // guarded by mu: the stream ended
  bool producer_waiting = false;     // guarded by mu
  std::atomic<uint64_t> sent{0};
};

ShardedStream::ShardedStream(const ShardedStreamOptions& options, Sink sink)
    : options_(options),
      ring_(options.servers),
      sink_(std::move(sink)),
      capacity_(options.queue_records > 0
                    ? size_t(options.queue_records)
                    : 2 * size_t(std::max(1, options.batch))) {}

absl::StatusOr<std::unique_ptr<ShardedStream>> ShardedStream::Start(
    const ShardedStreamOptions& options, Sink sink) {
  if (options.servers.empty()) {
    return absl::InvalidArgumentError("no server address given");
  }
  if (options.batch < 1 || options.max_in_flight < 1) {
    return absl::InvalidArgumentError("batch and max_in_flight must be >= 1");
  }
  std::unique_ptr<ShardedStream> stream(
      new ShardedStream(options, std::move(sink)));
  for (const std::string& server : stream->servers()) {
    absl::StatusOr<std::unique_ptr<DetectorClient>> client =
        DetectorClient::Connect(server, options.connect_timeout,
                                options.security);
    if (!client.ok()) return client.status();
    stream->shards_.push_back(std::make_unique<Shard>());
    stream->shards_.back()->client = *std::move(client);
  }
  for (int i = 0; i < int(stream->shards_.size()); ++i) {
    ShardedStream* self = stream.get();
    stream->shards_[i]->thread = std::thread([self, i] { self->RunShard(i); });
  }
  return stream;
}

ShardedStream::~ShardedStream() {
  if (!finished_) {
    Cancel();
    (void)Finish();
  }
}

uint64_t ShardedStream::sent(int shard) const {
  return shards_[shard]->sent.load(std::memory_order_relaxed);
}

void ShardedStream::Fail(const absl::Status& status) {
  {
    std::lock_guard<std::mutex> lock(error_mu_);
    if (first_error_.ok()) first_error_ = status;
  }
  failed_.store(true);
  WakeAll();
}

absl::Status ShardedStream::FirstError() {
  std::lock_guard<std::mutex> lock(error_mu_);
  return first_error_;
}

void ShardedStream::WakeAll() {
  for (const std::unique_ptr<Shard>& s : shards_) {
    std::lock_guard<std::mutex> lock(s->mu);
    s->ready.notify_all();
    s->space.notify_all();
  }
}

absl::StatusOr<bool> ShardedStream::NextBatch(Shard& s,
                                              v1::RecordBatch* batch) {
  const size_t want = size_t(options_.batch);
  const bool timed = options_.max_batch_delay != absl::InfiniteDuration();
  std::unique_lock<std::mutex> lock(s.mu);
  while (true) {
    if (failed_.load()) return absl::CancelledError("cancelled");
    const size_t n = s.queue.size();
    if (n >= want || (n > 0 && (s.closed || s.flush))) break;
    if (n == 0 && s.closed) return false;
    if (n > 0 && timed) {
      const absl::Time deadline =
          s.queued_at.front() + options_.max_batch_delay;
      if (absl::Now() >= deadline) break;
      s.ready.wait_until(lock, absl::ToChronoTime(deadline));
    } else {
      s.ready.wait(lock);
    }
  }
  batch->set_learning(options_.learning);
  if (options_.top_k > 0) batch->set_top_k(options_.top_k);
  // A batch is homogeneous: it ends where the queue switches between
  // records and connections.
  const size_t kind = s.queue.front().index();
  size_t take = 0;
  while (take < want && !s.queue.empty() && s.queue.front().index() == kind) {
    if (auto* r = std::get_if<v1::Record>(&s.queue.front())) {
      *batch->add_records() = std::move(*r);
    } else {
      *batch->add_connections() =
          std::move(std::get<v1::Connection>(s.queue.front()));
    }
    s.queue.pop_front();
    if (timed) s.queued_at.pop_front();
    ++take;
  }
  if (s.queue.empty()) s.flush = false;
  if (s.producer_waiting) s.space.notify_all();
  s.sent.fetch_add(take, std::memory_order_relaxed);
  return true;
}

void ShardedStream::RunShard(int index) {
  Shard& s = *shards_[index];
  absl::Status status = s.client->StreamBatches(
      [this, &s](v1::RecordBatch* batch) { return NextBatch(s, batch); },
      [this, index](const v1::VerdictBatch& verdicts) {
        std::lock_guard<std::mutex> lock(sink_mu_);
        sink_(index, verdicts);
      },
      options_.max_in_flight);
  bool unsent = false;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.done = true;
    unsent = !s.closed || !s.queue.empty();
    s.space.notify_all();
  }
  if (status.ok() && unsent && !failed_.load()) {
    status = absl::UnavailableError("the daemon ended the stream early");
  }
  if (!status.ok()) {
    if (absl::IsCancelled(status) && failed_.load()) {
      Fail(status);  // keeps the error that caused the cancellation
    } else {
      Fail(absl::Status(status.code(),
                        absl::StrCat("stream to ", s.client->address(), ": ",
                                     status.message())));
    }
  }
}

absl::Status ShardedStream::Send(WireEntry entry) {
  if (failed_.load()) return FirstError();
  const std::string& sensor_id = std::visit(
      [](const auto& e) -> const std::string& { return e.sensor_id(); }, entry);
  Shard& s = *shards_[ring_.ShardFor(sensor_id)];
  std::unique_lock<std::mutex> lock(s.mu);
  while (s.queue.size() >= capacity_ && !s.done && !failed_.load()) {
    s.producer_waiting = true;
    s.space.wait(lock);
    s.producer_waiting = false;
  }
  if (failed_.load()) return FirstError();
  if (s.done) {
    return absl::UnavailableError(absl::StrCat(
        "stream to ", s.client->address(), ": ended before all records"));
  }
  const bool was_empty = s.queue.empty();
  s.queue.push_back(std::move(entry));
  const bool timed = options_.max_batch_delay != absl::InfiniteDuration();
  if (timed) s.queued_at.push_back(absl::Now());
  // Wake the stream when a batch is full, or to arm the delay timer.
  if (s.queue.size() == size_t(options_.batch) || (timed && was_empty)) {
    s.ready.notify_all();
  }
  return absl::OkStatus();
}

void ShardedStream::Flush() {
  for (const std::unique_ptr<Shard>& s : shards_) {
    std::lock_guard<std::mutex> lock(s->mu);
    if (s->queue.empty()) continue;
    s->flush = true;
    s->ready.notify_all();
  }
}

void ShardedStream::Cancel() { Fail(absl::CancelledError("cancelled")); }

absl::Status ShardedStream::Finish() {
  if (finished_) return FirstError();
  finished_ = true;
  for (const std::unique_ptr<Shard>& s : shards_) {
    std::lock_guard<std::mutex> lock(s->mu);
    s->closed = true;
    s->ready.notify_all();
  }
  for (const std::unique_ptr<Shard>& s : shards_) {
    if (s->thread.joinable()) s->thread.join();
  }
  return FirstError();
}

}  // namespace dwae
