// `dwae bench`: see bench_command.h for the contract. This file validates
// the options, prepares the input and runs a bench: it connects the workers,
// starts them, joins them and sums up their results. Single-threaded except
// for the worker threads it starts (bench_workers.h), whose results it reads
// only after joining them.
//
// Input. The FILE is parsed once (ParseRecordLine + RecordToProto) into
// prebuilt RecordBatches (ScoreRequests in unary mode) before any clock
// starts; the file is repeated until every server has at least two full
// batches, and each repetition gets its own record ids "<file>:<line>#<rep>".
// Record g of that sequence carries sensor id "bench-<g mod sensors>"; with
// several servers it goes to ShardRing::ShardFor(sensor id), and each server
// gets the batches of its own sensors. A trailing partial batch is dropped
// when the server has full ones, so every batch sent has `batch` records.
//
// The worker threads and how they measure latencies are in bench_workers.h
// and .cc; the reported figures and their output in bench_report.h and .cc.
#include "client/bench_command.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/bench_report.h"
#include "client/bench_workers.h"
#include "client/grpc_client.h"
#include "client/latency.h"
#include "client/replay_command.h"
#include "client/sharding.h"
#include "core/record_proto.h"
#include "dwae/v1/detector.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace dwae {
namespace {

using bench::BenchResult;
using bench::Clock;
using bench::OpenChannel;
using bench::Worker;
using bench::WorkerResult;

constexpr int kMaxStreams = 256;
constexpr int kMaxReportedErrors = 5;
// Every server gets at least this many full batches to cycle through.
constexpr size_t kMinBatchesPerServer = 2;
// Room left in a record id (128 bytes) for ":<line>#<rep>".
constexpr size_t kMaxIdPrefixBytes = kMaxRecordIdBytes - 32;

std::string Basename(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.size() > kMaxIdPrefixBytes) base.resize(kMaxIdPrefixBytes);
  return base;
}

// The prebuilt input: the batches each server gets (by index in
// options.servers; empty for a server that owns none of the sensors).
struct Workload {
  std::vector<std::vector<v1::RecordBatch>> batches;
  uint64_t file_records = 0;  // valid rows of the file
  uint64_t parse_errors = 0;
  uint64_t repetitions = 0;
};

absl::StatusOr<Workload> BuildWorkload(const BenchCommandOptions& o,
                                       const ShardRing& ring) {
  std::ifstream in(o.path);
  if (!in) return absl::NotFoundError(absl::StrCat(o.path, ": cannot open"));
  std::vector<std::pair<uint64_t, Entry>> rows;  // (1-based line, entry)
  Workload w;
  RecordReader reader(o.stream.format);
  Entry entry;
  std::string line;
  uint64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    absl::StatusOr<bool> record = reader.Next(line, &entry);
    if (record.ok() && !*record) continue;  // a Zeek header or comment
    if (!record.ok()) {
      if (++w.parse_errors <= kMaxReportedErrors) {
        std::fprintf(stderr, "dwae bench: %s:%llu: %s (skipped)\n",
                     o.path.c_str(),
                     static_cast<unsigned long long>(line_number),
                     std::string(record.status().message()).c_str());
      }
      continue;
    }
    rows.emplace_back(line_number, entry);
  }
  if (in.bad())
    return absl::DataLossError(absl::StrCat(o.path, ": read error"));
  if (w.parse_errors > kMaxReportedErrors) {
    std::fprintf(
        stderr, "dwae bench: %llu more unparsable lines skipped\n",
        static_cast<unsigned long long>(w.parse_errors - kMaxReportedErrors));
  }
  if (rows.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(o.path, ": no valid records"));
  }
  w.file_records = rows.size();

  const size_t servers = o.stream.servers.size();
  const size_t target = std::max<size_t>(
      rows.size(), kMinBatchesPerServer * size_t(o.stream.batch) * servers);
  w.repetitions = (target + rows.size() - 1) / rows.size();
  const std::string prefix = Basename(o.path) + ":";

  w.batches.assign(servers, {});
  std::vector<v1::RecordBatch> open(servers);  // the batch being filled
  for (v1::RecordBatch& b : open) b.set_learning(o.stream.learning);
  // Sensor ids and their shards, computed once per sensor id in use.
  const size_t sensors_used = std::min<uint64_t>(uint64_t(o.stream.sensors),
                                                 w.repetitions * rows.size());
  std::vector<std::string> sensor_ids(sensors_used);
  std::vector<int> sensor_shard(sensors_used);
  for (size_t s = 0; s < sensors_used; ++s) {
    sensor_ids[s] = absl::StrCat(o.stream.sensor_id, "-", s);
    sensor_shard[s] = servers > 1 ? ring.ShardFor(sensor_ids[s]) : 0;
  }
  uint64_t g = 0;
  for (uint64_t rep = 0; rep < w.repetitions; ++rep) {
    for (const auto& [number, record] : rows) {
      const size_t sensor = size_t(g++ % uint64_t(o.stream.sensors));
      const int shard = sensor_shard[sensor];
      v1::RecordBatch& batch = open[shard];
      WireEntry wire = EntryToProto(
          record, absl::StrCat(prefix, number, "#", rep), sensor_ids[sensor]);
      if (auto* r = std::get_if<v1::Record>(&wire)) {
        *batch.add_records() = std::move(*r);
      } else {
        v1::Connection& c = std::get<v1::Connection>(wire);
        // Repetitions of a file must not repeat its uids in one batch.
        if (rep > 0 && !c.uid().empty()) {
          c.set_uid(absl::StrCat(c.uid(), "#", rep));
        }
        *batch.add_connections() = std::move(c);
      }
      if (batch.records_size() + batch.connections_size() == o.stream.batch) {
        w.batches[shard].push_back(std::move(batch));
        batch = v1::RecordBatch();
        batch.set_learning(o.stream.learning);
      }
    }
  }
  for (size_t s = 0; s < servers; ++s) {
    if (w.batches[s].empty() &&
        open[s].records_size() + open[s].connections_size() > 0) {
      w.batches[s].push_back(std::move(open[s]));
    }
  }
  return w;
}

struct ServerInfo {
  bool known = false;
  bool warming_up = false;
  uint64_t records_scored = 0;
};

ServerInfo QueryModelInfo(const std::shared_ptr<grpc::Channel>& channel,
                          const std::string& address, absl::Duration timeout) {
  ServerInfo info;
  std::unique_ptr<v1::Detector::Stub> stub = v1::Detector::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::ModelInfo model;
  const grpc::Status status =
      stub->GetModelInfo(&context, v1::GetModelInfoRequest(), &model);
  if (!status.ok()) {
    std::fprintf(stderr, "dwae bench: %s: GetModelInfo failed: %s\n",
                 address.c_str(), status.error_message().c_str());
    return info;
  }
  info.known = true;
  info.warming_up = model.warming_up();
  info.records_scored = model.records_scored();
  return info;
}

}  // namespace

absl::Status BenchCommandOptions::Validate() const {
  if (absl::Status s = stream.Validate(); !s.ok()) return s;
  if (path.empty()) return absl::InvalidArgumentError("bench: empty FILE");
  if (streams < 1 || streams > kMaxStreams) {
    return absl::InvalidArgumentError(
        absl::StrCat("--streams: must be in [1, ", kMaxStreams, "]"));
  }
  if (!(duration > absl::ZeroDuration()) ||
      duration == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError("--duration: must be > 0 and finite");
  }
  if (!(rate >= 0) || rate == std::numeric_limits<double>::infinity()) {
    return absl::InvalidArgumentError("--rate: must be >= 0 and finite");
  }
  return absl::OkStatus();
}

absl::Status RunBenchCommand(const BenchCommandOptions& o) {
  if (absl::Status s = o.Validate(); !s.ok()) return s;
  const bool stream_mode = o.mode == BenchCommandOptions::Mode::kStream;
  const ShardRing ring(o.stream.servers);
  absl::StatusOr<Workload> workload = BuildWorkload(o, ring);
  if (!workload.ok()) return workload.status();

  BenchResult b;
  b.file_records = workload->file_records;
  // Unary mode sends ScoreRequests built from the same batches; stream mode
  // sends them serialized.
  std::vector<std::vector<v1::ScoreRequest>> requests(o.stream.servers.size());
  std::vector<std::vector<grpc::ByteBuffer>> serialized(
      o.stream.servers.size());
  // Stream mode: each serialized batch's number of entries (what a batch
  // refused as a whole counts as invalid).
  std::vector<std::vector<size_t>> entries(o.stream.servers.size());
  for (size_t s = 0; s < o.stream.servers.size(); ++s) {
    b.prebuilt_batches += workload->batches[s].size();
    if (workload->batches[s].empty()) {
      b.idle.push_back(o.stream.servers[s]);
      continue;
    }
    if (stream_mode) {
      serialized[s] = bench::SerializeBatches(workload->batches[s]);
      for (const v1::RecordBatch& batch : workload->batches[s]) {
        entries[s].push_back(size_t(batch.records_size()) +
                             size_t(batch.connections_size()));
      }
    } else {
      for (v1::RecordBatch& batch : workload->batches[s]) {
        v1::ScoreRequest request;
        request.mutable_records()->Swap(batch.mutable_records());
        request.mutable_connections()->Swap(batch.mutable_connections());
        request.set_learning(o.stream.learning);
        requests[s].push_back(std::move(request));
      }
    }
    workload->batches[s].clear();
  }
  for (const std::string& idle : b.idle) {
    std::fprintf(stderr,
                 "dwae bench: %s owns none of the %d sensor id(s) and gets no "
                 "load (raise --sensors)\n",
                 idle.c_str(), o.stream.sensors);
  }

  // Connect every worker before the clock starts.
  std::vector<std::unique_ptr<Worker>> workers;
  for (size_t s = 0; s < o.stream.servers.size(); ++s) {
    const size_t count =
        stream_mode ? serialized[s].size() : requests[s].size();
    if (count == 0) continue;
    for (int i = 0; i < o.streams; ++i) {
      auto w = std::make_unique<Worker>();
      w->address = o.stream.servers[s];
      w->index = int(workers.size());
      absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = OpenChannel(
          w->address, w->index, o.stream.connect_timeout, o.stream.security);
      if (!channel.ok()) return channel.status();
      w->channel = *std::move(channel);
      w->batches = &serialized[s];
      w->batch_entries = &entries[s];
      w->requests = &requests[s];
      // Spread the streams over the batches (and so over the ids).
      w->first = count * size_t(i) / size_t(o.streams);
      if (i == 0) {
        const ServerInfo info =
            QueryModelInfo(w->channel, w->address, o.stream.connect_timeout);
        if (info.known && info.warming_up) b.warming_up.push_back(w->address);
      }
      workers.push_back(std::move(w));
    }
  }
  b.threads = int(workers.size());
  for (const std::string& s : b.warming_up) {
    std::fprintf(stderr,
                 "dwae bench: note: %s is still warming up: every record is "
                 "learned (the threshold is +inf and gated learning lets "
                 "everything through), so these figures include warm-up "
                 "learning and the bench traffic becomes the model's notion "
                 "of normal; warm it up first, e.g. dwae replay "
                 "--filter_label=normal --learn=all FILE\n",
                 s.c_str());
  }

  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline =
      start + std::chrono::duration_cast<Clock::duration>(
                  absl::ToChronoNanoseconds(o.duration));
  std::vector<std::thread> threads;
  threads.reserve(workers.size());
  for (std::unique_ptr<Worker>& w : workers) {
    Worker* worker = w.get();
    if (stream_mode) {
      threads.emplace_back([&o, deadline, worker] {
        bench::RunStreamWorker(o, deadline, worker);
      });
    } else {
      const int n = b.threads;
      threads.emplace_back([&o, n, start, deadline, worker] {
        bench::RunUnaryWorker(o, n, start, deadline, worker);
      });
    }
  }
  for (std::thread& t : threads) t.join();
  b.seconds = std::chrono::duration<double>(Clock::now() - start).count();

  LatencySamples all;
  LatencySamples lag;
  size_t total_samples = 0;
  for (const auto& w : workers) total_samples += w->result.latency.size();
  all.Reserve(total_samples);
  std::vector<std::string> errors;
  for (const auto& w : workers) {
    const WorkerResult& r = w->result;
    all.Merge(r.latency);
    lag.Merge(r.send_lag);
    b.records += r.records;
    b.invalid += r.invalid;
    b.calls += r.calls;
    b.failed += r.failed;
    b.unmatched += r.unmatched;
    if (!r.first_error.empty() && errors.size() < kMaxReportedErrors) {
      errors.push_back(r.first_error);
    }
  }
  b.latency = Summarize(std::move(all));
  b.send_lag = Summarize(std::move(lag));
  for (const std::string& e : errors) {
    std::fprintf(stderr, "dwae bench: %s\n", e.c_str());
  }
  if (b.unmatched > 0) {
    std::fprintf(stderr,
                 "dwae bench: %llu verdict batches answered no batch sent\n",
                 static_cast<unsigned long long>(b.unmatched));
  }
  if (o.stream.json) {
    bench::PrintJson(o, b);
  } else {
    bench::PrintSummary(o, b);
    if (!b.warming_up.empty()) {
      std::printf("  note             %s warming up when the bench started\n",
                  absl::StrJoin(b.warming_up, ",").c_str());
    }
  }
  if (b.records == 0) {
    return absl::UnavailableError(absl::StrCat(
        "no record was scored",
        errors.empty() ? "" : absl::StrCat(" (", errors.front(), ")")));
  }
  return absl::OkStatus();
}

}  // namespace dwae
