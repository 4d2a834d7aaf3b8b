// wire_bench: the Stream RPC's way from a received RecordBatch to the
// engine's entries, per record, on 512-record batches of KDDTest+ as
// `dwae bench --mode=stream` sends them:
//   BM_StreamBatchProtobuf  protobuf parse on the stream's arena +
//                           Featurizer::Convert (the path before the wire
//                           reader, still taken by batches it declines)
//   BM_StreamBatchWire      StreamBatchReader::Read (server/service_wire.h)
//   BM_VerdictBatchWire     WriteVerdictBatchWire of 512 valid verdicts
//                           with 3 top features (the answer's bytes)
//   BM_ConnectionBatchProtobuf  the same protobuf way for 512 Zeek
//                           connections (the CTU day-1 conn.log's first):
//                           every connection batch takes it
//   BM_ConnectionBatchDeclined  what the Stream handler does with such a
//                           batch before that parse: StreamBatchReader::Read
//                           (which declines it) and CountEntries (for the
//                           limit), per connection
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "core/config.h"
#include "core/connection.h"
#include "core/record.h"
#include "core/record_proto.h"
#include "core/zeek_parser.h"
#include "dwae/v1/detector.pb.h"
#include "google/protobuf/arena.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "grpcpp/support/slice.h"
#include "prometheus/registry.h"
#include "server/engine_verdicts.h"
#include "server/featurizer.h"
#include "server/service_wire.h"

namespace dwae::server {
namespace {

constexpr int kBatch = 512;

// The first kBatch lines of KDDTest+, serialized as one RecordBatch.
const std::string& BatchBytes() {
  static const std::string* bytes = [] {
    std::ifstream in(
        absl::StrCat(DWAE_SOURCE_DIR, "/data/nsl-kdd/KDDTest+.txt"));
    v1::RecordBatch batch;
    batch.set_learning(v1::LEARNING_MODE_GATED);
    std::string line;
    for (int i = 0; i < kBatch && std::getline(in, line); ++i) {
      absl::StatusOr<Record> record =
          ParseRecordLine(line, RecordFormat::kNslKdd);
      if (!record.ok()) std::abort();
      *batch.add_records() = RecordToProto(
          *record, absl::StrCat("KDDTest+.txt:", i + 1), "sensor-1");
    }
    if (batch.records_size() != kBatch) std::abort();
    return new std::string(batch.SerializeAsString());
  }();
  return *bytes;
}

// The first kBatch connections of the CTU day-1 conn.log, serialized as
// one RecordBatch.
const std::string& ConnectionBatchBytes() {
  static const std::string* bytes = [] {
    std::ifstream in(absl::StrCat(
        DWAE_SOURCE_DIR, "/data/zeek/ctu-normal-43-day1.conn.log.labeled"));
    v1::RecordBatch batch;
    batch.set_learning(v1::LEARNING_MODE_GATED);
    ZeekTsvParser parser;
    Connection c;
    for (std::string line;
         batch.connections_size() < kBatch && std::getline(in, line);) {
      absl::StatusOr<bool> got = parser.ParseLine(line, &c);
      if (!got.ok()) std::abort();
      if (*got) *batch.add_connections() = ConnectionToProto(c, "", "sensor-1");
    }
    if (batch.connections_size() != kBatch) std::abort();
    return new std::string(batch.SerializeAsString());
  }();
  return *bytes;
}

grpc::ByteBuffer Message(const std::string& bytes = BatchBytes()) {
  grpc::Slice slice(bytes.data(), bytes.size());
  return grpc::ByteBuffer(&slice, 1);
}

// Parses `bytes` on an arena as the Stream handler does and converts its
// records or connections, each iteration.
void ParseAndConvert(benchmark::State& state, const std::string& bytes) {
  prometheus::Registry registry;
  absl::StatusOr<std::unique_ptr<Featurizer>> featurizer =
      Featurizer::Create(ZeekSensorOptions(), &registry);
  if (!featurizer.ok()) std::abort();
  std::vector<char> block(512 * 1024);
  google::protobuf::ArenaOptions options;
  options.initial_block = block.data();
  options.initial_block_size = block.size();
  options.max_block_size = block.size();
  google::protobuf::Arena arena(options);
  std::vector<BatchEntry> entries;
  grpc::ByteBuffer in = Message(bytes);
  for (auto _ : state) {
    arena.Reset();
    auto* batch =
        google::protobuf::Arena::CreateMessage<v1::RecordBatch>(&arena);
    grpc::ProtoBufferReader reader(&in);
    if (!batch->ParseFromZeroCopyStream(&reader)) std::abort();
    if (batch->records_size() > 0) {
      (*featurizer)->Convert(batch->records(), &entries);
    } else {
      (*featurizer)->Convert(batch->connections(), &entries);
    }
    benchmark::DoNotOptimize(entries.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_StreamBatchProtobuf(benchmark::State& state) {
  ParseAndConvert(state, BatchBytes());
}
BENCHMARK(BM_StreamBatchProtobuf);

void BM_StreamBatchWire(benchmark::State& state) {
  StreamBatchReader reader(ServingPolicy().max_batch_records);
  grpc::ByteBuffer in = Message();
  for (auto _ : state) {
    if (!reader.Read(in)) std::abort();
    benchmark::DoNotOptimize(reader.entries()->data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_StreamBatchWire);

void BM_ConnectionBatchProtobuf(benchmark::State& state) {
  ParseAndConvert(state, ConnectionBatchBytes());
}
BENCHMARK(BM_ConnectionBatchProtobuf);

void BM_ConnectionBatchDeclined(benchmark::State& state) {
  StreamBatchReader reader(ServingPolicy().max_batch_records);
  grpc::ByteBuffer in = Message(ConnectionBatchBytes());
  size_t records = 0, connections = 0;
  for (auto _ : state) {
    if (reader.Read(in) || reader.over_limit() != 0) std::abort();
    if (!reader.CountEntries(&records, &connections)) std::abort();
    benchmark::DoNotOptimize(connections);
  }
  if (connections != kBatch) std::abort();
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_ConnectionBatchDeclined);

void BM_VerdictBatchWire(benchmark::State& state) {
  const std::string sensor = "sensor-1";
  std::vector<std::string> ids(kBatch);
  std::vector<VerdictRow> rows(kBatch);
  for (int i = 0; i < kBatch; ++i) {
    ids[size_t(i)] = absl::StrCat("KDDTest+.txt:", i + 1);
    VerdictRow& r = rows[size_t(i)];
    r.id = &ids[size_t(i)];
    r.sensor_id = &sensor;
    r.score = 0.01 * (i + 1);
    r.threshold = 0.5;
    r.anomalous = i % 3 == 0;
    r.learned = i % 3 != 0;
    r.label = i % 2 == 0 ? "normal" : "neptune";
    r.model_version = 42;
    r.sequence = uint64_t(1000 + i);
    r.scored_at_ns = 1764800000123456789 + i;
    r.num_top = 3;
    for (int t = 0; t < 3; ++t) {
      r.top[size_t(t)] = {(i * 7 + t * 13) % 122, 0.1f / float(t + 1),
                          float(t % 2), 0.05f * float(t)};
    }
  }
  std::string out;
  for (auto _ : state) {
    WriteVerdictBatchWire(rows.data(), rows.size(), FeatureSchema::kKdd,
                          [&out](size_t size) {
                            out.resize(size);
                            return out.data();
                          });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_VerdictBatchWire);

}  // namespace
}  // namespace dwae::server

BENCHMARK_MAIN();
