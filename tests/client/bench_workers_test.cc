// Unit tests of the bench workers' wire helpers: counting the verdicts of a
// serialized VerdictBatch must give exactly what counting the parsed
// message gives, and the prebuilt batches must be the stub's bytes.
#include "client/bench_workers.h"

#include <string>
#include <vector>

#include "dwae/v1/detector.grpc.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "grpcpp/support/slice.h"
#include "gtest/gtest.h"

namespace dwae::bench {
namespace {

v1::Verdict Valid(const std::string& id) {
  v1::Verdict v;
  v.set_id(id);
  v.set_sensor_id("s-1");
  v.set_score(0.25);
  v.set_threshold(0.5);
  v.set_learned(true);
  v.set_label("normal");
  v.set_sequence(77);
  v.mutable_scored_at()->set_seconds(1700000000);
  v.set_model_version(3);
  for (int i = 0; i < 3; ++i) {
    v1::FeatureDeviation* f = v.add_top_features();
    f->set_feature("src_bytes");
    f->set_squared_error(0.1 * i);
    f->set_value(1);
    f->set_reconstruction(0.9);
  }
  return v;
}

v1::Verdict Invalid(const std::string& id, int code) {
  v1::Verdict v;
  v.set_id(id);
  v.set_sensor_id("s-1");
  v.set_error_code(code);
  v.set_error_message("features.duration: must be finite");
  return v;
}

// Counts `batch` both ways and expects the same result.
void ExpectSameCounts(const v1::VerdictBatch& batch) {
  WorkerResult parsed, scanned;
  parsed.CountVerdicts(batch.verdicts());
  ASSERT_TRUE(scanned.CountSerializedVerdicts(batch.SerializeAsString(),
                                              size_t(batch.verdicts_size())));
  EXPECT_EQ(scanned.records, parsed.records);
  EXPECT_EQ(scanned.invalid, parsed.invalid);
  EXPECT_EQ(scanned.first_error, parsed.first_error);
}

TEST(CountSerializedVerdictsTest, MatchesTheParsedCount) {
  v1::VerdictBatch batch;
  ExpectSameCounts(batch);  // empty
  *batch.add_verdicts() = Valid("a");
  ExpectSameCounts(batch);
  *batch.add_verdicts() = Invalid("b", 3);
  *batch.add_verdicts() = Valid("c");
  *batch.add_verdicts() = Invalid("d", 13);
  *batch.add_verdicts() = v1::Verdict();  // all defaults: valid
  ExpectSameCounts(batch);

  WorkerResult r;
  ASSERT_TRUE(r.CountSerializedVerdicts(batch.SerializeAsString(),
                                        batch.verdicts_size()));
  EXPECT_EQ(r.records, 3u);
  EXPECT_EQ(r.invalid, 2u);
  EXPECT_EQ(r.first_error,
            "invalid verdict for b: features.duration: must be finite");
}

TEST(CountSerializedVerdictsTest, NegativeErrorCodeIsAnError) {
  v1::VerdictBatch batch;
  *batch.add_verdicts() = Invalid("neg", -1);  // a 10-byte varint
  ExpectSameCounts(batch);
  WorkerResult r;
  ASSERT_TRUE(r.CountSerializedVerdicts(batch.SerializeAsString(),
                                        batch.verdicts_size()));
  EXPECT_EQ(r.invalid, 1u);
}

// `message` with an unknown field appended: `tag` and then `payload`.
std::string WithUnknownField(const std::string& message, uint32_t tag,
                             const std::string& payload) {
  std::string out = message;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.WriteTag(tag);
  coded.WriteRaw(payload.data(), int(payload.size()));
  return out;
}

TEST(CountSerializedVerdictsTest, SkipsUnknownFields) {
  // Fields a newer daemon might add, in the batch and in a verdict.
  const std::string verdict = WithUnknownField(
      Invalid("x", 5).SerializeAsString(), (100 << 3) | 0, "\x2a");
  std::string batch = WithUnknownField("", (99 << 3) | 2,
                                       "\x03"
                                       "abc");
  std::string size(1, char(verdict.size()));
  ASSERT_LT(verdict.size(), 128u);
  batch = WithUnknownField(batch, (1 << 3) | 2, size + verdict);
  batch = WithUnknownField(batch, (98 << 3) | 5, std::string("\x07\0\0\0", 4));
  v1::VerdictBatch parsed;
  ASSERT_TRUE(parsed.ParseFromString(batch));
  ASSERT_EQ(parsed.verdicts_size(), 1);
  ExpectSameCounts(parsed);
  WorkerResult r;
  ASSERT_TRUE(r.CountSerializedVerdicts(batch, 1));
  EXPECT_EQ(r.invalid, 1u);
  EXPECT_EQ(r.records, 0u);
}

TEST(CountSerializedVerdictsTest, RefusesMalformedBytes) {
  v1::VerdictBatch batch;
  *batch.add_verdicts() = Valid("a");
  *batch.add_verdicts() = Invalid("b", 3);
  const std::string bytes = batch.SerializeAsString();
  // Every truncation that cuts a verdict short is refused.
  v1::VerdictBatch one;
  *one.add_verdicts() = Valid("a");
  const size_t first = one.ByteSizeLong();
  for (size_t n = 1; n < bytes.size(); ++n) {
    if (n == first) continue;  // a whole first verdict: well-formed
    WorkerResult r;
    EXPECT_FALSE(r.CountSerializedVerdicts(bytes.substr(0, n), 2)) << n;
  }
  WorkerResult r;
  EXPECT_FALSE(r.CountSerializedVerdicts(std::string("\x0a\xff", 2), 1));
  EXPECT_FALSE(r.CountSerializedVerdicts(std::string("\x07", 1), 1));  // type 7
}

// A batch refused as a whole (detector.proto: the VerdictBatch's
// error_code, no verdicts): every entry of the batch sent is invalid, and
// the first error says so with the daemon's message.
TEST(CountSerializedVerdictsTest, ABatchRefusedAsAWholeCountsItsEntries) {
  v1::VerdictBatch refusal;
  refusal.set_error_code(3);
  refusal.set_error_message(
      "records: batch of 5000 records exceeds the limit of 4096");
  WorkerResult r;
  ASSERT_TRUE(r.CountSerializedVerdicts(refusal.SerializeAsString(), 5000));
  EXPECT_EQ(r.records, 0u);
  EXPECT_EQ(r.invalid, 5000u);
  EXPECT_EQ(r.first_error,
            "batch of 5000 entries refused: records: batch of 5000 records "
            "exceeds the limit of 4096");
  // A later refusal adds its entries and keeps the first error.
  refusal.set_error_message("learning: unknown mode 42");
  ASSERT_TRUE(r.CountSerializedVerdicts(refusal.SerializeAsString(), 7));
  EXPECT_EQ(r.invalid, 5007u);
  EXPECT_NE(r.first_error.find("4096"), std::string::npos);
  // A scored batch (error_code 0 on the wire) counts its verdicts only.
  v1::VerdictBatch scored;
  *scored.add_verdicts() = Valid("a");
  scored.set_error_code(0);
  ASSERT_TRUE(r.CountSerializedVerdicts(scored.SerializeAsString(), 1));
  EXPECT_EQ(r.records, 1u);
  EXPECT_EQ(r.invalid, 5007u);
  // A cut refusal is malformed.
  const std::string bytes = refusal.SerializeAsString();
  EXPECT_FALSE(r.CountSerializedVerdicts(bytes.substr(0, bytes.size() - 1), 7));
}

TEST(SerializeBatchesTest, SendsTheStubsBytes) {
  std::vector<v1::RecordBatch> batches(2);
  batches[0].set_learning(v1::LEARNING_MODE_GATED);
  v1::Record* r = batches[0].add_records();
  r->set_id("KDDTest+.txt:1#0");
  r->set_sensor_id("bench-0");
  r->mutable_features()->set_duration(12);
  batches[1].set_top_k(2);
  const std::vector<grpc::ByteBuffer> wire = SerializeBatches(batches);
  ASSERT_EQ(wire.size(), batches.size());
  for (size_t i = 0; i < batches.size(); ++i) {
    std::vector<grpc::Slice> slices;
    ASSERT_TRUE(wire[i].Dump(&slices).ok());
    std::string bytes;
    for (const grpc::Slice& s : slices) {
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    EXPECT_EQ(bytes, batches[i].SerializeAsString()) << i;
  }
}

}  // namespace
}  // namespace dwae::bench
