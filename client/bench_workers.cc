// The worker threads of `dwae bench`: see bench_workers.h for the
// interface and its thread-safety. Notes on how the figures are produced:
//
// Connections. Every stream (stream mode) or caller thread (unary mode) has
// its own channel, with a local subchannel pool and a distinct channel id,
// so each one is its own TCP connection: `streams` streams are not
// multiplexed over one HTTP/2 connection. With several servers, each server
// that owns at least one sensor gets `streams` streams (or callers).
//
// Stream mode. Per stream, a writer loop cycles through the server's
// batches, keeping at most `max_in_flight` batches unanswered, and a reader
// thread takes the VerdictBatches; the daemon answers in order, so a batch's
// latency is from just before its Write to the read of the matching
// (FIFO) VerdictBatch. The stream carries bytes: the batches are serialized
// once before the clock starts and the answers are scanned for their
// verdicts' error codes instead of parsed (CountSerializedVerdicts), so that
// the bench, which shares the machine with the daemon it measures, spends
// its CPU on sending the same records over the same RPC rather than on
// rebuilding them (about 1 us a record before). At the end of `duration`
// the writer stops, calls
// WritesDone and the outstanding batches are drained (they count; `seconds`
// runs from the start until the last stream finished). `calls` counts the
// batches answered.
//
// Unary mode. `streams` threads per server call Score with `batch` records
// back to back, or, with `rate` > 0, on a fixed schedule: thread j of T
// sends its k-th call at start + (j + k * T) / rate, so the calls of all
// threads together are evenly spaced at `rate` per second. The latency of a
// paced call is measured from its SCHEDULED send time, not from when it was
// actually sent: when an answer is late and the thread sends its next call
// late, that delay is charged to the next call too, so a stall shows up in
// the percentiles instead of silently lowering the offered load
// ("coordinated omission"). Unpaced calls are measured from their send.
// Pacing threads lower their timer slack to 1 ns so that oversleeping does
// not inflate the latencies.
#include "client/bench_workers.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "dwae/v1/detector.grpc.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpc/grpc.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/impl/rpc_method.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/slice.h"
#include "grpcpp/support/sync_stream.h"
#include "proto/byte_buffer_bytes.h"

namespace dwae {
namespace bench {
namespace {

using google::protobuf::internal::WireFormatLite;

double Millis(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// Field numbers of dwae.v1 messages read by CountSerializedVerdicts.
constexpr int kVerdictBatchVerdicts = 1;
constexpr int kVerdictBatchErrorCode = 2;
constexpr int kVerdictBatchErrorMessage = 3;
constexpr int kVerdictErrorCode = 9;

google::protobuf::io::CodedInputStream Input(absl::string_view bytes) {
  return google::protobuf::io::CodedInputStream(
      reinterpret_cast<const uint8_t*>(bytes.data()), int(bytes.size()));
}

// The error_code of a serialized Verdict (0 when absent; the last one when
// repeated, as a parser keeps it), or false when malformed.
bool ScanErrorCode(absl::string_view verdict, int32_t* error_code) {
  google::protobuf::io::CodedInputStream in = Input(verdict);
  *error_code = 0;
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return in.CurrentPosition() == int(verdict.size());
    if (tag == WireFormatLite::MakeTag(kVerdictErrorCode,
                                       WireFormatLite::WIRETYPE_VARINT)) {
      uint64_t value;
      if (!in.ReadVarint64(&value)) return false;
      *error_code = int32_t(value);
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return false;
    }
  }
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(
    const std::string& address, int index, absl::Duration timeout,
    const ChannelSecurity& security) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_CHANNEL_ID, index);
  return dwae::OpenChannel(address, security, std::move(args), timeout);
}

void WorkerResult::CountVerdicts(
    const google::protobuf::RepeatedPtrField<v1::Verdict>& verdicts) {
  for (const v1::Verdict& v : verdicts) {
    if (v.error_code() != 0) {
      CountInvalid(v);
    } else {
      ++records;
    }
  }
}

void WorkerResult::CountInvalid(const v1::Verdict& v) {
  if (invalid == 0 && first_error.empty()) {
    first_error =
        absl::StrCat("invalid verdict for ", v.id(), ": ", v.error_message());
  }
  ++invalid;
}

bool WorkerResult::CountSerializedVerdicts(absl::string_view bytes,
                                           size_t entries) {
  google::protobuf::io::CodedInputStream in = Input(bytes);
  // The batch-level refusal (the last one when repeated, as a parser
  // keeps it).
  int32_t batch_error = 0;
  std::string batch_message;
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) {
      if (in.CurrentPosition() != int(bytes.size())) return false;
      break;
    }
    if (tag == WireFormatLite::MakeTag(kVerdictBatchErrorCode,
                                       WireFormatLite::WIRETYPE_VARINT)) {
      uint64_t value;
      if (!in.ReadVarint64(&value)) return false;
      batch_error = int32_t(value);
      continue;
    }
    if (tag ==
        WireFormatLite::MakeTag(kVerdictBatchErrorMessage,
                                WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) {
      if (!WireFormatLite::ReadString(&in, &batch_message)) return false;
      continue;
    }
    if (tag !=
        WireFormatLite::MakeTag(kVerdictBatchVerdicts,
                                WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) {
      if (!WireFormatLite::SkipField(&in, tag)) return false;
      continue;
    }
    uint32_t size;
    if (!in.ReadVarint32(&size)) return false;
    const size_t at = size_t(in.CurrentPosition());
    if (size > bytes.size() - at || !in.Skip(int(size))) return false;
    const absl::string_view verdict = bytes.substr(at, size);
    int32_t error_code;
    if (!ScanErrorCode(verdict, &error_code)) return false;
    if (error_code == 0) {
      ++records;
      continue;
    }
    // Parsed in full only when its message will be kept.
    v1::Verdict v;
    if (invalid == 0 && first_error.empty() &&
        !v.ParseFromArray(verdict.data(), int(verdict.size()))) {
      return false;
    }
    CountInvalid(v);
  }
  if (batch_error != 0) {
    if (invalid == 0 && first_error.empty()) {
      first_error = absl::StrCat("batch of ", entries,
                                 " entries refused: ", batch_message);
    }
    invalid += entries;
  }
  return true;
}

std::vector<grpc::ByteBuffer> SerializeBatches(
    const std::vector<v1::RecordBatch>& batches) {
  std::vector<grpc::ByteBuffer> out(batches.size());
  for (size_t i = 0; i < batches.size(); ++i) {
    bool own = false;
    // Cannot fail for a message this process built (size < 2 GiB).
    (void)grpc::SerializationTraits<v1::RecordBatch>::Serialize(batches[i],
                                                                &out[i], &own);
  }
  return out;
}

void WorkerResult::Fail(const grpc::Status& status,
                        const std::string& address) {
  ++failed;
  if (first_error.empty()) {
    first_error = absl::StrCat(address, ": ", status.error_message(), " (code ",
                               int(status.error_code()), ")");
  }
}

void RunStreamWorker(const BenchCommandOptions& o, Clock::time_point deadline,
                     Worker* w) {
  WorkerResult& r = w->result;
  const std::vector<grpc::ByteBuffer>& batches = *w->batches;
  grpc::ClientContext context;
  // A daemon that stops answering fails the stream after the drain grace.
  context.set_deadline(absl::ToChronoTime(
      absl::Now() + absl::FromChrono(deadline - Clock::now()) +
      o.stream.connect_timeout + absl::Seconds(5)));
  // dwae.v1.Detector/Stream, as the generated stub calls it, with the
  // messages as bytes.
  const std::string method =
      absl::StrCat("/", v1::Detector::service_full_name(), "/Stream");
  const grpc::internal::RpcMethod rpc(
      method.c_str(), grpc::internal::RpcMethod::BIDI_STREAMING, w->channel);
  std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>>
      stream(grpc::internal::ClientReaderWriterFactory<
             grpc::ByteBuffer, grpc::ByteBuffer>::Create(w->channel.get(), rpc,
                                                         &context));

  std::mutex mu;
  std::condition_variable cv;
  // Each batch sent and not yet answered: when, and its number of entries.
  struct Sent {
    Clock::time_point at;
    size_t entries;
  };
  std::deque<Sent> sent_at;  // guarded by mu; FIFO
  bool reader_done = false;  // guarded by mu
  r.latency.Reserve(1 << 16);

  // The reader owns r.latency, r.records, r.invalid, r.calls, r.unmatched.
  std::thread reader([&] {
    grpc::ByteBuffer verdicts;
    grpc::Slice single;
    std::string joined;
    while (stream->Read(&verdicts)) {
      const Clock::time_point now = Clock::now();
      Sent sent;
      bool matched = false;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!sent_at.empty()) {
          sent = sent_at.front();
          sent_at.pop_front();
          matched = true;
        }
      }
      cv.notify_all();
      if (!matched) {
        ++r.unmatched;
        continue;
      }
      r.latency.Add(Millis(now - sent.at));
      ++r.calls;
      absl::string_view bytes;  // empty when gRPC cannot give them
      ByteBufferBytes(verdicts, &single, &joined, &bytes);
      if (!r.CountSerializedVerdicts(bytes, sent.entries)) {
        // Finish() then reports the cancelled stream as the failure.
        if (r.first_error.empty()) {
          r.first_error =
              absl::StrCat(w->address, ": a VerdictBatch that does not parse");
        }
        context.TryCancel();
        break;
      }
    }
    std::lock_guard<std::mutex> lock(mu);
    reader_done = true;
    cv.notify_all();
  });

  size_t next = w->first % batches.size();
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] {
        return sent_at.size() < size_t(o.stream.max_in_flight) || reader_done;
      });
      if (reader_done) break;  // the daemon ended the stream; see Finish()
      const Clock::time_point now = Clock::now();
      if (now >= deadline) break;
      sent_at.push_back({now, (*w->batch_entries)[next]});
    }
    if (!stream->Write(batches[next])) break;  // broken; see Finish()
    next = (next + 1) % batches.size();
  }
  stream->WritesDone();
  reader.join();
  const grpc::Status status = stream->Finish();
  if (!status.ok()) r.Fail(status, w->address);
}

void RunUnaryWorker(const BenchCommandOptions& o, int threads,
                    Clock::time_point start, Clock::time_point deadline,
                    Worker* w) {
  std::unique_ptr<v1::Detector::Stub> stub = v1::Detector::NewStub(w->channel);
  WorkerResult& r = w->result;
  const std::vector<v1::ScoreRequest>& requests = *w->requests;
  const bool paced = o.rate > 0;
  // Thread j of T sends at start + (j + k * T) / rate.
  const std::chrono::duration<double> gap(paced ? 1.0 / o.rate : 0);
  const auto offset =
      std::chrono::duration_cast<Clock::duration>(gap * w->index);
  const auto period =
      std::chrono::duration_cast<Clock::duration>(gap * threads);
#ifdef __linux__
  // The default 50 us timer slack would be charged to every paced call.
  if (paced) prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
#endif
  if (paced) {
    const size_t expected =
        size_t(o.rate / threads * absl::ToDoubleSeconds(o.duration)) + 16;
    r.latency.Reserve(expected);
    r.send_lag.Reserve(expected);
  }
  size_t next = w->first % requests.size();
  const auto call_timeout = absl::ToChronoNanoseconds(o.stream.connect_timeout);
  v1::ScoreResponse response;
  for (uint64_t k = 0;; ++k) {
    Clock::time_point scheduled;
    if (paced) {
      scheduled = start + offset + period * int64_t(k);
      if (scheduled >= deadline) break;
      std::this_thread::sleep_until(scheduled);
      r.send_lag.Add(Millis(Clock::now() - scheduled));
    } else {
      scheduled = Clock::now();
      if (scheduled >= deadline) break;
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + call_timeout);
    response.Clear();
    const grpc::Status status =
        stub->Score(&context, requests[next], &response);
    const Clock::time_point done = Clock::now();
    next = (next + 1) % requests.size();
    if (!status.ok()) {
      r.Fail(status, w->address);
      continue;
    }
    r.latency.Add(Millis(done - scheduled));
    ++r.calls;
    r.CountVerdicts(response.verdicts());
  }
}

}  // namespace bench
}  // namespace dwae
