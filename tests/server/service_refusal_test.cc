// A batch over the engine's limit made of empty records (2 bytes each on
// the wire), sent over loopback gRPC to a server with dwaed's message
// limits (16 MiB both ways, server/daemon.cc): the answer is one small
// batch-level refusal, whatever the batch held, and the next batch on the
// same stream is scored. Before, the refusal was one verdict per record,
// ~32 times the batch: a 600 KB batch got an 18.6 MB answer that gRPC
// would not send (the stream died), a 16 MiB one a 545 MB answer. Each case
// on the wire reader's path and on the protobuf path (an unknown field:
// the reader declines the batch, the handler counts its records). The unary
// Score with the same records: refused with one status from their count,
// before protobuf builds a message per record (it built 8 million of them
// for a 16 MiB request before).
#include <sys/resource.h>

#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "dwae/v1/detector.grpc.pb.h"
#include "gtest/gtest.h"
#include "server/engine.h"
#include "server/service.h"
#include "tests/server/engine_testing.h"
#include "tests/server/service_testing.h"
#include "tests/testing/grpc_loopback.h"

namespace dwae::server {
namespace {

using testing_engine::Batch;
using testing_engine::LoopbackDetector;
using testing_engine::LoopbackDetectorOptions;
using testing_engine::StartLoopbackDetector;

constexpr int kDaemonMaxMessageBytes = 16 << 20;  // dwaed's default
constexpr size_t kMaxBatch = 4096;                // the engine's default
// A field RecordBatch does not have (number 9, varint 1): protobuf keeps it
// as an unknown field, the wire reader declines the batch for it.
const std::string kUnknownField("\x48\x01", 2);

// `n` empty records, serialized: tag and length 0 each.
std::string EmptyRecords(size_t n) {
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) out.append("\x0a\x00", 2);
  return out;
}

// The engine's message refusing a batch of `n` records over the limit.
std::string OverLimitMessage(size_t n) {
  return "records: batch of " + std::to_string(n) +
         " records exceeds the limit of 4096";
}

// The Stream's answer to such a batch.
std::string OverLimit(size_t n) {
  return testing_engine::RefusalBytes(3,  // INVALID_ARGUMENT
                                      OverLimitMessage(n));
}

// The process's peak resident set so far, in MB.
long PeakRssMb() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

class ServiceRefusalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The learner takes the scored records off the learn queue (every
    // scored record goes there), which would fill up after a few batches
    // of the limit's size and block scoring.
    LoopbackDetectorOptions options;
    options.max_batch_records = kMaxBatch;
    options.start_engine = true;
    options.max_message_bytes = kDaemonMaxMessageBytes;
    detector_ = StartLoopbackDetector(options);
    ASSERT_NE(detector_, nullptr);
    v1::RecordBatch full;
    *full.mutable_records() = Batch(0, kMaxBatch, "full");
    full.set_learning(v1::LEARNING_MODE_OFF);
    full_ = full.SerializeAsString();
  }

  // One stream: `first`, then a batch of exactly the limit, which must be
  // scored. Returns the answer to `first` (empty if the stream broke).
  std::string RefuseThenScore(const std::string& first) {
    const std::vector<std::string> out = testutil::StreamBytes(
        *detector_->loopback.channel, {first, full_}, absl::Seconds(120));
    if (out.size() != 2) {
      ADD_FAILURE() << "answered " << out.size() << " of 2 messages";
      return "";
    }
    v1::VerdictBatch scored;
    EXPECT_TRUE(scored.ParseFromString(out[1]));
    EXPECT_EQ(scored.error_code(), 0) << scored.error_message();
    EXPECT_EQ(scored.verdicts_size(), int(kMaxBatch));
    for (const v1::Verdict& v : scored.verdicts()) {
      EXPECT_EQ(v.error_code(), 0) << v.error_message();
    }
    return out[0];
  }

  // `message` (over the limit) answered with OverLimit(records) in under
  // 1 KB, the stream still scoring; prints the answer's size and the peak
  // RSS before and after.
  void ExpectSmallRefusal(const std::string& message, size_t records) {
    const long before = PeakRssMb();
    const std::string answer = RefuseThenScore(message);
    const long after = PeakRssMb();
    std::cout << "message " << message.size() << " bytes (" << records
              << " records): answer " << answer.size() << " bytes, peak RSS "
              << before << " -> " << after << " MB\n";
    EXPECT_LT(answer.size(), 1024u);
    EXPECT_EQ(answer, OverLimit(records));
    // The message itself is copied a few times (client, gRPC, the reader):
    // tens of MB. One verdict (or one parsed Record) per record would be
    // gigabytes.
    EXPECT_LT(after - before, 400);
  }

  std::unique_ptr<LoopbackDetector> detector_;
  std::string full_;
};

// 300,000 empty records: 600 KB in, formerly 18.6 MB out (over the 16 MiB
// send limit, and over a default client's 4 MB receive limit).
TEST_F(ServiceRefusalTest, ManyEmptyRecordsGetASmallRefusal) {
  ExpectSmallRefusal(EmptyRecords(300000), 300000);
}

TEST_F(ServiceRefusalTest, ManyEmptyRecordsGetASmallRefusalTheProtobufWay) {
  ExpectSmallRefusal(EmptyRecords(300000) + kUnknownField, 300000);
}

// The largest message the daemon takes, all empty records.
TEST_F(ServiceRefusalTest, AMaximalMessageGetsASmallRefusal) {
  const size_t n = kDaemonMaxMessageBytes / 2;
  const std::string message = EmptyRecords(n);
  ASSERT_EQ(message.size(), size_t(kDaemonMaxMessageBytes));
  ExpectSmallRefusal(message, n);
}

TEST_F(ServiceRefusalTest, AMaximalMessageGetsASmallRefusalTheProtobufWay) {
  const size_t n = kDaemonMaxMessageBytes / 2 - 1;
  const std::string message = EmptyRecords(n) + kUnknownField;
  ASSERT_EQ(message.size(), size_t(kDaemonMaxMessageBytes));
  ExpectSmallRefusal(message, n);
}

// At the limit: scored (RefuseThenScore's second batch); one more record:
// refused, on both paths.
TEST_F(ServiceRefusalTest, TheLimitIsScoredOneMoreIsRefused) {
  EXPECT_EQ(RefuseThenScore(EmptyRecords(kMaxBatch + 1)),
            OverLimit(kMaxBatch + 1));
  EXPECT_EQ(RefuseThenScore(EmptyRecords(kMaxBatch + 1) + kUnknownField),
            OverLimit(kMaxBatch + 1));
  const std::vector<std::string> out =
      testutil::StreamBytes(*detector_->loopback.channel,
                            {full_ + kUnknownField, full_}, absl::Seconds(60));
  ASSERT_EQ(out.size(), 2u);
  v1::VerdictBatch via_protobuf;
  ASSERT_TRUE(via_protobuf.ParseFromString(out[0]));
  EXPECT_EQ(via_protobuf.error_code(), 0);
  ASSERT_EQ(via_protobuf.verdicts_size(), int(kMaxBatch));
  for (const v1::Verdict& v : via_protobuf.verdicts()) {
    EXPECT_EQ(v.error_code(), 0) << v.error_message();
  }
}

// Unary Score with `request` (a ScoreRequest's bytes: its records and
// connections have RecordBatch's field numbers) over the limit: refused
// with INVALID_ARGUMENT and the engine's message, from the count alone, in
// well under the gigabytes a parsed message per record would take; a
// request of the limit's size is then scored.
void ExpectUnaryRefusal(grpc::Channel& channel, const std::string& request,
                        size_t records, const std::string& full) {
  const long before = PeakRssMb();
  std::string answer;
  const grpc::Status status =
      testutil::UnaryScoreBytes(channel, request, absl::Seconds(120), &answer);
  const long after = PeakRssMb();
  std::cout << "unary request " << request.size() << " bytes (" << records
            << " records): status " << status.error_code() << ", peak RSS "
            << before << " -> " << after << " MB\n";
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), OverLimitMessage(records));
  EXPECT_LT(after - before, 400);
  const grpc::Status scored =
      testutil::UnaryScoreBytes(channel, full, absl::Seconds(60), &answer);
  ASSERT_TRUE(scored.ok()) << scored.error_message();
  v1::ScoreResponse response;
  ASSERT_TRUE(response.ParseFromString(answer));
  ASSERT_EQ(response.verdicts_size(), int(kMaxBatch));
  for (const v1::Verdict& v : response.verdicts()) {
    EXPECT_EQ(v.error_code(), 0) << v.error_message();
  }
}

TEST_F(ServiceRefusalTest, AMaximalUnaryScoreIsRefusedOnItsCount) {
  const size_t n = kDaemonMaxMessageBytes / 2;
  ExpectUnaryRefusal(*detector_->loopback.channel, EmptyRecords(n), n, full_);
}

TEST_F(ServiceRefusalTest, UnaryScoreOneOverTheLimitIsRefused) {
  ExpectUnaryRefusal(*detector_->loopback.channel,
                     EmptyRecords(kMaxBatch + 1) + kUnknownField, kMaxBatch + 1,
                     full_);
}

// Bytes that are not a ScoreRequest: INVALID_ARGUMENT, and the daemon
// serves the next call.
TEST_F(ServiceRefusalTest, UnaryScoreOfBadBytesIsInvalidArgument) {
  std::string answer;
  // A length-delimited record that claims 100 bytes and has 1.
  const grpc::Status status = testutil::UnaryScoreBytes(
      *detector_->loopback.channel, std::string("\x0a\x64\x08", 3),
      absl::Seconds(60), &answer);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << status.error_message();
  EXPECT_EQ(status.error_message(),
            "the request is not a dwae.v1.ScoreRequest");
  const grpc::Status scored = testutil::UnaryScoreBytes(
      *detector_->loopback.channel, full_, absl::Seconds(60), &answer);
  EXPECT_TRUE(scored.ok()) << scored.error_message();
}

}  // namespace
}  // namespace dwae::server
