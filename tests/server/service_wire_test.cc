// The Stream RPC's protobuf-free path (StreamBatchReader + Engine::
// ScoreEntriesToWire) against its protobuf path (the message parsed by
// protobuf, Engine::ScoreToWire): on the same batch, learning off, the same
// verdict bytes but for their place in the window (sequence, scored_at),
// invalid entries included; batches it declines are the protobuf path's.
// The reader's counts for the handler's whole-batch refusals (over_limit,
// CountEntries), and the refusal's bytes.
#include "server/service_wire.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/file_system.h"
#include "dwae/v1/detector.pb.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "gtest/gtest.h"
#include "server/engine.h"
#include "tests/server/engine_testing.h"
#include "tests/testing/grpc_loopback.h"

namespace dwae::server {
namespace {

using testing_engine::Batch;
using testing_engine::MakeMetrics;
using testing_engine::SmallOptions;

// `bytes` as a received message, in `pieces` slices.
grpc::ByteBuffer Message(const std::string& bytes, int pieces) {
  std::vector<grpc::Slice> slices;
  const size_t step = bytes.size() / size_t(pieces) + 1;
  for (size_t at = 0; at < bytes.size(); at += step) {
    slices.emplace_back(bytes.data() + at, std::min(step, bytes.size() - at));
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

// The verdicts of serialized VerdictBatch `wire`, without their place in
// the window.
std::vector<std::string> Verdicts(const std::string& wire) {
  v1::VerdictBatch batch;
  EXPECT_TRUE(batch.ParseFromString(wire));
  return testutil::VerdictsWithoutPlace(batch);
}

TEST(ServiceWireTest, SameVerdictsAsTheProtobufPath) {
  std::unique_ptr<Metrics> metrics = MakeMetrics();
  ASSERT_NE(metrics, nullptr);
  absl::StatusOr<std::unique_ptr<Engine>> engine =
      Engine::Create(SmallOptions(), metrics.get(), DefaultFileSystem());
  ASSERT_TRUE(engine.ok()) << engine.status();
  v1::RecordBatch batch;
  *batch.mutable_records() = Batch(0, 40, "row");
  batch.mutable_records(7)->set_id(batch.records(3).id());  // duplicate id
  batch.mutable_records(9)->mutable_features()->set_duration(-1);
  batch.mutable_records(11)->set_id(std::string(200, 'x'));  // too long
  batch.mutable_records(12)->clear_features();
  batch.mutable_records(13)->mutable_features()->set_service("");
  batch.mutable_records(14)->set_label("smurf.");
  batch.mutable_records(15)->mutable_observed_at()->set_seconds(1700000000);
  batch.set_learning(v1::LEARNING_MODE_OFF);
  StreamBatchReader reader((*engine)->max_batch_records());
  for (uint32_t top_k : {0u, 1u, 5u}) {
    for (int pieces : {1, 3}) {
      SCOPED_TRACE(testing::Message() << top_k << " " << pieces);
      batch.set_top_k(top_k);
      const std::string bytes = batch.SerializeAsString();
      std::string via_proto, via_reader;
      auto into = [](std::string* out) {
        return [out](size_t size) {
          out->resize(size);
          return out->data();
        };
      };
      v1::RecordBatch parsed;
      ASSERT_TRUE(parsed.ParseFromString(bytes));
      ASSERT_TRUE((*engine)
                      ->ScoreToWire(parsed.records(), parsed.connections(),
                                    parsed.learning(), parsed.top_k(),
                                    into(&via_proto))
                      .ok());
      ASSERT_TRUE(reader.Read(Message(bytes, pieces)));
      ASSERT_TRUE((*engine)
                      ->ScoreEntriesToWire(reader.entries(), reader.learning(),
                                           reader.top_k(), into(&via_reader))
                      .ok());
      const std::vector<std::string> want = Verdicts(via_proto);
      ASSERT_EQ(want.size(), 40u);
      EXPECT_EQ(Verdicts(via_reader), want);
      v1::VerdictBatch check;
      ASSERT_TRUE(check.ParseFromString(via_reader));
      int errors = 0;
      for (const v1::Verdict& v : check.verdicts())
        errors += v.error_code() != 0;
      EXPECT_EQ(errors, 5);  // 7, 9, 11, 12, 13
    }
  }
}

TEST(ServiceWireTest, RefusalsAndDeclinesGoTheProtobufWay) {
  std::unique_ptr<Metrics> metrics = MakeMetrics();
  ASSERT_NE(metrics, nullptr);
  absl::StatusOr<std::unique_ptr<Engine>> engine =
      Engine::Create(SmallOptions(), metrics.get(), DefaultFileSystem());
  ASSERT_TRUE(engine.ok()) << engine.status();
  StreamBatchReader reader((*engine)->max_batch_records());
  v1::RecordBatch batch;
  *batch.mutable_records() = Batch(0, 4, "row");
  batch.add_connections()->set_uid("C1");  // both kinds: declined
  EXPECT_FALSE(reader.Read(Message(batch.SerializeAsString(), 1)));
  batch.clear_connections();
  batch.set_learning(v1::LearningMode(77));  // an unknown mode: refused
  ASSERT_TRUE(reader.Read(Message(batch.SerializeAsString(), 1)));
  int allocations = 0;
  const absl::Status refused = (*engine)->ScoreEntriesToWire(
      reader.entries(), reader.learning(), reader.top_k(), [&](size_t) {
        ++allocations;
        return nullptr;
      });
  v1::RecordBatch parsed;
  ASSERT_TRUE(parsed.ParseFromString(batch.SerializeAsString()));
  EXPECT_EQ(refused, (*engine)->ScoreToWire(parsed.records(), {},
                                            parsed.learning(), 0, [&](size_t) {
                                              ++allocations;
                                              return nullptr;
                                            }));
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(allocations, 0);
}

// A batch over the engine's limit: the reader declines it without reading
// its records, and the protobuf path refuses it with the limit's error; the
// handler's checks on the reader's counts give the same error.
TEST(ServiceWireTest, DeclinesBatchesOverTheLimit) {
  std::unique_ptr<Metrics> metrics = MakeMetrics();
  ASSERT_NE(metrics, nullptr);
  EngineOptions options = SmallOptions();
  options.detector.serving.max_batch_records = 10;
  absl::StatusOr<std::unique_ptr<Engine>> engine =
      Engine::Create(options, metrics.get(), DefaultFileSystem());
  ASSERT_TRUE(engine.ok()) << engine.status();
  ASSERT_EQ((*engine)->max_batch_records(), 10u);
  StreamBatchReader reader((*engine)->max_batch_records());
  v1::RecordBatch batch;
  *batch.mutable_records() = Batch(0, 10, "row");
  ASSERT_TRUE(reader.Read(Message(batch.SerializeAsString(), 1)));
  EXPECT_EQ(reader.entries()->size(), 10u);
  *batch.add_records() = batch.records(0);
  EXPECT_FALSE(reader.Read(Message(batch.SerializeAsString(), 1)));
  v1::RecordBatch parsed;
  ASSERT_TRUE(parsed.ParseFromString(batch.SerializeAsString()));
  const absl::Status refused = (*engine)->ScoreToWire(
      parsed.records(), {}, parsed.learning(), 0, [](size_t) -> char* {
        ADD_FAILURE() << "a refused batch is not written";
        return nullptr;
      });
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.message(),
            "records: batch of 11 records exceeds the limit of 10");

  // Declined for its size alone: the engine's check on the count gives the
  // same refusal, from one slice or several.
  batch.mutable_records(3)->set_sensor_id("");
  batch.mutable_records(4)->set_id("");
  batch.set_learning(v1::LEARNING_MODE_ALL);
  const std::string bytes = batch.SerializeAsString();
  for (int pieces : {1, 3}) {
    SCOPED_TRACE(pieces);
    const grpc::ByteBuffer message = Message(bytes, pieces);
    ASSERT_FALSE(reader.Read(message));
    ASSERT_EQ(reader.over_limit(), 11u);
    EXPECT_EQ(reader.learning(), v1::LEARNING_MODE_ALL);
    EXPECT_EQ((*engine)->CheckBatch(reader.over_limit(), reader.learning()),
              refused);
  }
  // Over the limit and declined for an unknown field: the handler counts
  // its records, and the engine's check on the counts is the same refusal.
  const grpc::ByteBuffer unknown = Message(bytes + "\x48\x01", 2);
  EXPECT_FALSE(reader.Read(unknown));
  EXPECT_EQ(reader.over_limit(), 0u);
  size_t records = 0, connections = 0;
  ASSERT_TRUE(reader.CountEntries(&records, &connections));
  EXPECT_EQ(records, 11u);
  EXPECT_EQ(connections, 0u);
  EXPECT_EQ(
      (*engine)->CheckBatch(records, connections, v1::LEARNING_MODE_DEFAULT),
      refused);
  EXPECT_EQ((*engine)->CheckBatch(10, 0, v1::LEARNING_MODE_DEFAULT),
            absl::OkStatus());
  EXPECT_EQ((*engine)->CheckBatch(0, 11, v1::LEARNING_MODE_DEFAULT).message(),
            "connections: batch of 11 connections exceeds the limit of 10");
  EXPECT_EQ((*engine)->CheckBatch(1, 1, v1::LEARNING_MODE_DEFAULT).message(),
            "records, connections: a batch carries one kind, not both");
}

// CountEntries: every top-level record and connection, whatever else the
// message holds (unknown fields, empty records, fields in any order), from
// one slice or several; false for bytes that are not a message.
TEST(ServiceWireTest, CountsRecordsAndConnections) {
  StreamBatchReader reader(100);
  v1::RecordBatch batch;
  *batch.mutable_records() = Batch(0, 70, "many");
  for (int i = 0; i < 50; ++i) batch.add_records();
  batch.set_learning(v1::LEARNING_MODE_ALL);
  batch.set_top_k(3);
  for (int i = 0; i < 7; ++i) batch.add_connections()->set_uid("C");
  v1::Record* record = batch.mutable_records(5);
  record->GetReflection()->MutableUnknownFields(record)->AddVarint(99, 1);
  batch.GetReflection()->MutableUnknownFields(&batch)->AddLengthDelimited(
      98, std::string(300, 'x'));
  const std::string bytes = batch.SerializeAsString();
  for (int pieces : {1, 4}) {
    SCOPED_TRACE(pieces);
    const grpc::ByteBuffer message = Message(bytes, pieces);
    ASSERT_FALSE(reader.Read(message));
    size_t records = 0, connections = 0;
    ASSERT_TRUE(reader.CountEntries(&records, &connections));
    EXPECT_EQ(records, 120u);
    EXPECT_EQ(connections, 7u);
  }
  // Cut inside the last field, and a record whose length runs past the end.
  size_t records = 0, connections = 0;
  for (const std::string& bad :
       {bytes.substr(0, bytes.size() - 1), std::string("\x0a\x05\x00", 3)}) {
    const grpc::ByteBuffer message = Message(bad, 1);
    EXPECT_FALSE(reader.Read(message));
    EXPECT_FALSE(reader.CountEntries(&records, &connections));
  }
}

// A Read that fails before parsing (a message gRPC cannot dump: here a
// ByteBuffer without a buffer) keeps nothing of the batch before: not its
// over_limit (the handler would refuse the new message on the old count)
// nor its bytes (CountEntries would read a buffer already released).
TEST(ServiceWireTest, FailedReadDoesNotKeepTheLastOverLimit) {
  StreamBatchReader reader(10);
  v1::RecordBatch batch;
  *batch.mutable_records() = Batch(0, 11, "row");
  const grpc::ByteBuffer message = Message(batch.SerializeAsString(), 2);
  ASSERT_FALSE(reader.Read(message));
  ASSERT_EQ(reader.over_limit(), 11u);
  const grpc::ByteBuffer undumpable;
  EXPECT_FALSE(reader.Read(undumpable));
  EXPECT_EQ(reader.over_limit(), 0u);
  size_t records = 0, connections = 0;
  EXPECT_FALSE(reader.CountEntries(&records, &connections));
}

// The refusal of a whole batch: no verdicts, the status's code and message,
// a few dozen bytes.
TEST(ServiceWireTest, BatchRefusalIsOneSmallMessage) {
  const absl::Status status = absl::InvalidArgumentError(
      "records: batch of 8388608 records exceeds the limit of 4096");
  const std::string bytes = BatchRefusalBytes(status);
  v1::VerdictBatch refusal;
  ASSERT_TRUE(refusal.ParseFromString(bytes));
  EXPECT_EQ(refusal.verdicts_size(), 0);
  EXPECT_EQ(refusal.error_code(), 3);
  EXPECT_EQ(refusal.error_message(), status.message());
  EXPECT_LT(bytes.size(), 80u);
}

}  // namespace
}  // namespace dwae::server
