// DetectorService::Stream through a real loopback gRPC server: a batch the
// wire reader declines (an unknown field in the batch or in a record, more
// records than the engine takes) goes through the handler's protobuf path,
// and its verdicts are the wire path's bytes (but for their place in the
// window: sequence, scored_at); a batch refused as a whole gets one small
// batch-level refusal (the same bytes whether the reader refuses it, the
// handler refuses it on its count, or the engine after protobuf parsed it)
// and the stream stays open.
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "dwae/v1/detector.grpc.pb.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "gtest/gtest.h"
#include "server/engine.h"
#include "server/service.h"
#include "server/service_wire.h"
#include "tests/server/engine_testing.h"
#include "tests/server/service_testing.h"
#include "tests/testing/grpc_loopback.h"

namespace dwae::server {
namespace {

using testing_engine::Batch;
using testing_engine::LoopbackDetector;
using testing_engine::LoopbackDetectorOptions;
using testing_engine::RefusalBytes;
using testing_engine::StartLoopbackDetector;
using testutil::VerdictsWithoutPlace;

constexpr uint32_t kMaxBatch = 50;

// Whether the handler's wire reader takes `batch` (else: protobuf path).
bool WireReaderTakes(const v1::RecordBatch& batch) {
  const std::string bytes = batch.SerializeAsString();
  grpc::Slice slice(bytes.data(), bytes.size());
  StreamBatchReader reader(kMaxBatch);
  return reader.Read(grpc::ByteBuffer(&slice, 1));
}

// The batch's number of records when the handler's wire reader declines it
// for its size alone (and refuses it itself), else 0.
size_t WireReaderOverLimit(const v1::RecordBatch& batch) {
  const std::string bytes = batch.SerializeAsString();
  grpc::Slice slice(bytes.data(), bytes.size());
  const grpc::ByteBuffer message(&slice, 1);
  StreamBatchReader reader(kMaxBatch);
  return reader.Read(message) ? 0 : reader.over_limit();
}

class ServiceStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LoopbackDetectorOptions options;
    options.max_batch_records = kMaxBatch;
    detector_ = StartLoopbackDetector(options);
    ASSERT_NE(detector_, nullptr);
    stub_ = v1::Detector::NewStub(detector_->loopback.channel);
  }

  // One stream: each batch written and its verdicts read in turn.
  std::vector<v1::VerdictBatch> StreamBatches(
      const std::vector<v1::RecordBatch>& batches) {
    return testutil::StreamBatches(*stub_, batches, absl::Seconds(30));
  }

  std::unique_ptr<LoopbackDetector> detector_;
  std::unique_ptr<v1::Detector::Stub> stub_;
};

TEST_F(ServiceStreamTest, DeclinedBatchesGetTheWirePathsVerdicts) {
  v1::RecordBatch plain;
  *plain.mutable_records() = Batch(0, 40, "row");
  plain.mutable_records(7)->set_id(plain.records(3).id());  // duplicate id
  plain.mutable_records(9)->mutable_features()->set_duration(-1);
  plain.mutable_records(12)->clear_features();
  plain.set_learning(v1::LEARNING_MODE_OFF);
  plain.set_top_k(5);
  // The same batch with an unknown field (number 99) in the batch, and in
  // one record: protobuf keeps them as unknown fields, the reader declines.
  v1::RecordBatch unknown_in_batch = plain;
  unknown_in_batch.GetReflection()
      ->MutableUnknownFields(&unknown_in_batch)
      ->AddVarint(99, 1);
  v1::RecordBatch unknown_in_record = plain;
  v1::Record* record = unknown_in_record.mutable_records(20);
  record->GetReflection()->MutableUnknownFields(record)->AddVarint(99, 1);
  ASSERT_TRUE(WireReaderTakes(plain));
  ASSERT_FALSE(WireReaderTakes(unknown_in_batch));
  ASSERT_FALSE(WireReaderTakes(unknown_in_record));

  const std::vector<v1::VerdictBatch> out =
      StreamBatches({plain, unknown_in_batch, unknown_in_record, plain});
  ASSERT_EQ(out.size(), 4u);
  const std::vector<std::string> want = VerdictsWithoutPlace(out[0]);
  ASSERT_EQ(want.size(), 40u);
  EXPECT_EQ(VerdictsWithoutPlace(out[1]), want);
  EXPECT_EQ(VerdictsWithoutPlace(out[2]), want);
  EXPECT_EQ(VerdictsWithoutPlace(out[3]), want);
  int errors = 0, scored = 0;
  for (const v1::Verdict& v : out[1].verdicts()) {
    errors += v.error_code() != 0;
    scored += v.error_code() == 0 && v.top_features_size() == 5;
  }
  EXPECT_EQ(errors, 3);  // 7, 9, 12
  EXPECT_EQ(scored, 37);
  // Each verdict has its own place in the window.
  EXPECT_LT(out[0].verdicts(0).sequence(), out[1].verdicts(0).sequence());
}

// `big` is refused by the handler's wire reader without protobuf (it
// declines it for its size alone), `big_unknown` (the same with an unknown
// field) on the handler's count before protobuf parses it: the same small
// refusal, and the stream answers the batches after them. Exactly the
// limit is scored.
TEST_F(ServiceStreamTest, OversizedBatchIsRefusedAsAWholeAndStreamStaysOpen) {
  v1::RecordBatch big;
  *big.mutable_records() = Batch(0, int(kMaxBatch) + 1, "big");
  big.set_learning(v1::LEARNING_MODE_OFF);
  ASSERT_FALSE(WireReaderTakes(big));
  ASSERT_EQ(WireReaderOverLimit(big), kMaxBatch + 1);
  v1::RecordBatch big_unknown = big;
  big_unknown.GetReflection()
      ->MutableUnknownFields(&big_unknown)
      ->AddVarint(99, 1);
  ASSERT_EQ(WireReaderOverLimit(big_unknown), 0u);
  v1::RecordBatch full;
  *full.mutable_records() = Batch(0, int(kMaxBatch), "full");
  full.set_learning(v1::LEARNING_MODE_OFF);
  ASSERT_TRUE(WireReaderTakes(full));
  v1::RecordBatch full_unknown = full;
  full_unknown.GetReflection()
      ->MutableUnknownFields(&full_unknown)
      ->AddVarint(99, 1);

  const std::vector<v1::VerdictBatch> out =
      StreamBatches({big, full, big_unknown, big, full_unknown});
  ASSERT_EQ(out.size(), 5u);
  const std::string want =
      RefusalBytes(3, "records: batch of 51 records exceeds the limit of 50");
  for (int b : {0, 2, 3}) {
    SCOPED_TRACE(b);
    EXPECT_EQ(out[b].verdicts_size(), 0);
    EXPECT_EQ(out[b].SerializeAsString(), want);
  }
  for (int b : {1, 4}) {
    SCOPED_TRACE(b);
    EXPECT_EQ(out[b].error_code(), 0);
    ASSERT_EQ(out[b].verdicts_size(), int(kMaxBatch));
    for (const v1::Verdict& v : out[b].verdicts()) EXPECT_EQ(v.error_code(), 0);
  }
}

// The engine's other whole-batch refusals, on each path: an unknown
// learning mode (the reader takes the batch, the engine refuses it; with an
// unknown field, after protobuf parsed it), both kinds in one batch (the
// reader declines connections: refused after protobuf parsed it), and more
// connections than the limit (refused on the handler's count).
TEST_F(ServiceStreamTest, EveryWholeBatchRefusalIsOneSmallAnswer) {
  v1::RecordBatch odd;
  *odd.mutable_records() = Batch(0, 3, "odd");
  odd.set_learning(v1::LearningMode(42));
  ASSERT_TRUE(WireReaderTakes(odd));
  v1::RecordBatch odd_unknown = odd;
  odd_unknown.GetReflection()
      ->MutableUnknownFields(&odd_unknown)
      ->AddVarint(99, 1);
  v1::RecordBatch mixed;
  *mixed.mutable_records() = Batch(0, 2, "mixed");
  mixed.add_connections()->set_uid("C1");
  v1::RecordBatch many_connections;
  for (uint32_t i = 0; i <= kMaxBatch; ++i) {
    many_connections.add_connections()->set_uid("C" + std::to_string(i));
  }
  v1::RecordBatch ok;
  *ok.mutable_records() = Batch(0, 2, "ok");
  ok.set_learning(v1::LEARNING_MODE_OFF);

  const std::vector<v1::VerdictBatch> out =
      StreamBatches({odd, odd_unknown, mixed, many_connections, ok});
  ASSERT_EQ(out.size(), 5u);
  const std::string unknown_mode = RefusalBytes(3, "learning: unknown mode 42");
  EXPECT_EQ(out[0].SerializeAsString(), unknown_mode);
  EXPECT_EQ(out[1].SerializeAsString(), unknown_mode);
  EXPECT_EQ(out[2].SerializeAsString(),
            RefusalBytes(3,
                         "records, connections: a batch carries one kind, not "
                         "both"));
  EXPECT_EQ(
      out[3].SerializeAsString(),
      RefusalBytes(3,
                   "connections: batch of 51 connections exceeds the limit "
                   "of 50"));
  EXPECT_EQ(out[4].error_code(), 0);
  ASSERT_EQ(out[4].verdicts_size(), 2);
  for (const v1::Verdict& v : out[4].verdicts()) EXPECT_EQ(v.error_code(), 0);
}

}  // namespace
}  // namespace dwae::server
