// The RecordBatch wire reader against protobuf's own parser (the oracle):
// on random batches it takes every one and reads exactly the field values
// protobuf reads; on mutated bytes it takes a batch only when protobuf
// parses it, with the same values; the cases it must leave to protobuf
// (unknown fields, connections, a repeated `features`, non-ASCII strings)
// are declined. RecordFromFields then gives what RecordFromProto gives.
#include "core/record_wire.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/record.h"
#include "core/record_proto.h"
#include "core/rng.h"
#include "dwae/v1/detector.pb.h"
#include "dwae/v1/record.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/stubs/logging.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

using ::google::protobuf::FieldDescriptor;

// The daemon's default batch limit (ServingPolicy::max_batch_records).
constexpr size_t kMaxRecords = 4096;

bool SameBits(double a, double b) { return std::memcmp(&a, &b, 8) == 0; }

// Empty when `got` holds exactly what protobuf parsed into `want`.
std::string Difference(const RecordFields& got, const v1::Record& want) {
  if (got.id != want.id()) return "id";
  if (got.sensor_id != want.sensor_id()) return "sensor_id";
  if (got.label != want.label()) return "label";
  if (got.has_features != want.has_features()) return "has_features";
  const v1::Features& f = want.features();
  if (got.protocol_type != f.protocol_type()) return "protocol_type";
  if (got.service != f.service()) return "service";
  if (got.flag != f.flag()) return "flag";
  for (int n = 1; n <= kNumFeatures; ++n) {
    const FieldDescriptor* field = f.GetDescriptor()->FindFieldByNumber(n);
    if (field->type() != FieldDescriptor::TYPE_DOUBLE) continue;
    if (!SameBits(got.numeric[n - 1], f.GetReflection()->GetDouble(f, field))) {
      return absl::StrCat("field ", n);
    }
  }
  // And the conversion the daemon runs on each.
  Record a, b;
  const absl::Status sa = RecordFromFields(got, &a);
  const absl::Status sb = RecordFromProto(want, &b);
  if (sa != sb)
    return absl::StrCat("status ", sa.ToString(), " vs ", sb.ToString());
  if (sa.ok() &&
      (std::memcmp(a.numeric.data(), b.numeric.data(), sizeof(a.numeric)) !=
           0 ||
       a.protocol_type != b.protocol_type || a.service != b.service ||
       a.flag != b.flag || a.label != b.label)) {
    return "converted record";
  }
  return "";
}

std::string Difference(const RecordBatchWire& got,
                       const v1::RecordBatch& want) {
  if (int(got.records.size()) != want.records_size()) return "record count";
  if (got.learning != int32_t(want.learning())) return "learning";
  if (got.top_k != want.top_k()) return "top_k";
  for (int i = 0; i < want.records_size(); ++i) {
    const std::string d = Difference(got.records[size_t(i)], want.records(i));
    if (!d.empty()) return absl::StrCat("record ", i, ": ", d);
  }
  return "";
}

std::string RandomText(Rng& rng, size_t max_size) {
  std::string s(rng.Below(max_size + 1), ' ');
  for (char& c : s) c = char(' ' + rng.Below(95));
  return s;
}

double RandomValue(Rng& rng) {
  switch (rng.Below(10)) {
    case 0:
      return 0.0;
    case 1:
      return -0.0;
    case 2:
      return std::numeric_limits<double>::quiet_NaN();
    case 3:
      return std::numeric_limits<double>::infinity();
    case 4:
      return -1.0;
    case 5:
      return 2e15;
    case 6:
      return double(rng.Below(1000)) / 100.0;
    default:
      return double(rng.Below(100000));
  }
}

v1::RecordBatch RandomBatch(Rng& rng) {
  v1::RecordBatch batch;
  const int n = int(rng.Below(20));
  for (int i = 0; i < n; ++i) {
    v1::Record* r = batch.add_records();
    r->set_id(RandomText(rng, rng.Below(10) == 0 ? 140 : 24));
    if (rng.Below(4) != 0) r->set_sensor_id(RandomText(rng, 12));
    if (rng.Below(3) == 0) r->set_label(RandomText(rng, 10));
    if (rng.Below(5) == 0) {
      r->mutable_observed_at()->set_seconds(int64_t(rng.Below(2000000000)));
      r->mutable_observed_at()->set_nanos(int32_t(rng.Below(1000000000)));
    }
    if (rng.Below(20) == 0) continue;  // no features
    v1::Features* f = r->mutable_features();
    f->set_protocol_type(RandomText(rng, rng.Below(10) == 0 ? 40 : 5));
    f->set_service(RandomText(rng, 8));
    f->set_flag(RandomText(rng, 4));
    for (int number = 1; number <= kNumFeatures; ++number) {
      const FieldDescriptor* field =
          f->GetDescriptor()->FindFieldByNumber(number);
      if (field->type() != FieldDescriptor::TYPE_DOUBLE) continue;
      if (rng.Below(2) == 0) {
        f->GetReflection()->SetDouble(f, field, RandomValue(rng));
      }
    }
  }
  if (rng.Below(2) == 0) batch.set_learning(v1::LearningMode(rng.Below(6)));
  if (rng.Below(2) == 0) batch.set_top_k(uint32_t(rng.Below(40)));
  return batch;
}

TEST(RecordWireTest, ReadsRandomBatchesAsProtobufDoes) {
  Rng rng(41);
  RecordBatchWire wire;
  for (int i = 0; i < 3000; ++i) {
    const std::string bytes = RandomBatch(rng).SerializeAsString();
    v1::RecordBatch want;
    ASSERT_TRUE(want.ParseFromString(bytes));
    ASSERT_TRUE(wire.Parse(bytes, kMaxRecords)) << "batch " << i;
    ASSERT_EQ(Difference(wire, want), "") << "batch " << i;
  }
}

// One random edit: a byte replaced, inserted or removed, or the end cut.
std::string Mutate(std::string bytes, Rng& rng) {
  const size_t at = rng.Below(bytes.size() + 1);
  const char byte = char(rng.Below(256));
  switch (rng.Below(4)) {
    case 0:
      if (at < bytes.size()) bytes[at] = byte;
      break;
    case 1:
      bytes.insert(bytes.begin() + long(at), byte);
      break;
    case 2:
      if (at < bytes.size()) bytes.erase(at, 1);
      break;
    default:
      bytes.resize(at);
  }
  return bytes;
}

TEST(RecordWireTest, TakesMutatedBytesOnlyAsProtobufReadsThem) {
  // Protobuf logs every string that is not UTF-8; thousands here.
  google::protobuf::LogSilencer quiet;
  Rng rng(42);
  RecordBatchWire wire;
  int taken = 0, tried = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = RandomBatch(rng).SerializeAsString();
    const int edits = 1 + int(rng.Below(3));
    for (int e = 0; e < edits; ++e) bytes = Mutate(bytes, rng);
    v1::RecordBatch want;
    const bool parsed = want.ParseFromString(bytes);
    ++tried;
    if (!wire.Parse(bytes, kMaxRecords)) continue;
    ++taken;
    ASSERT_TRUE(parsed) << "taken, but protobuf refuses it: batch " << i;
    ASSERT_EQ(Difference(wire, want), "") << "batch " << i;
  }
  // Both outcomes must be exercised for the comparison to mean anything.
  EXPECT_GT(taken, tried / 20);
  EXPECT_LT(taken, tried * 19 / 20);
}

v1::RecordBatch OneRecord() {
  v1::RecordBatch batch;
  v1::Record* r = batch.add_records();
  r->set_id("r-1");
  r->mutable_features()->set_protocol_type("tcp");
  r->mutable_features()->set_service("http");
  r->mutable_features()->set_flag("SF");
  r->mutable_features()->set_src_bytes(181);
  return batch;
}

TEST(RecordWireTest, DeclinesWhatItLeavesToProtobuf) {
  RecordBatchWire wire;
  ASSERT_TRUE(wire.Parse(OneRecord().SerializeAsString(), kMaxRecords));

  v1::RecordBatch connections = OneRecord();
  connections.add_connections()->set_uid("C1");
  EXPECT_FALSE(wire.Parse(connections.SerializeAsString(), kMaxRecords));

  v1::RecordBatch non_ascii = OneRecord();
  non_ascii.mutable_records(0)->set_id("r-\xc3\xa9");  // valid UTF-8
  EXPECT_FALSE(wire.Parse(non_ascii.SerializeAsString(), kMaxRecords));

  // An unknown field (number 9, varint) after the record.
  EXPECT_FALSE(
      wire.Parse(OneRecord().SerializeAsString() + "\x48\x01", kMaxRecords));
  // A second `features` in the record: protobuf merges them.
  v1::Features extra;
  extra.set_dst_bytes(5);
  const std::string inner = OneRecord().records(0).SerializeAsString() +
                            "\x22" + char(extra.ByteSizeLong()) +
                            extra.SerializeAsString();
  const std::string merged =
      "\x0a" + std::string(1, char(inner.size())) + inner;
  v1::RecordBatch want;
  ASSERT_TRUE(want.ParseFromString(merged));
  EXPECT_EQ(want.records(0).features().src_bytes(), 181);
  EXPECT_FALSE(wire.Parse(merged, kMaxRecords));
}

TEST(RecordWireTest, LastOccurrenceWinsAsInProtobuf) {
  // top_k twice, learning with a two-byte (non-minimal) tag, an id twice.
  const std::string record =
      OneRecord().records(0).SerializeAsString() + "\x0a\x03r-2";
  const std::string bytes = "\x18\x05" + std::string("\x0a") +
                            char(record.size()) + record + "\x18\x07" +
                            std::string("\x90\x00\x02", 3);
  v1::RecordBatch want;
  ASSERT_TRUE(want.ParseFromString(bytes));
  RecordBatchWire wire;
  ASSERT_TRUE(wire.Parse(bytes, kMaxRecords));
  EXPECT_EQ(Difference(wire, want), "");
  EXPECT_EQ(wire.top_k, 7u);
  EXPECT_EQ(wire.learning, 2);
  EXPECT_EQ(wire.records[0].id, "r-2");
}

// A batch of more records than the caller takes is declined at the first
// record past the limit: however many (empty) records a message packs, the
// reader holds no more than the limit (a 16 MB message of 2-byte empty
// records would otherwise cost a RecordFields each).
TEST(RecordWireTest, DeclinesMoreRecordsThanTheLimit) {
  v1::RecordBatch batch = OneRecord();
  for (int i = 0; i < 4; ++i) *batch.add_records() = batch.records(0);
  const std::string five = batch.SerializeAsString();
  RecordBatchWire wire;
  ASSERT_TRUE(wire.Parse(five, 5));
  EXPECT_EQ(wire.records.size(), 5u);
  EXPECT_EQ(wire.over_limit, 0u);
  EXPECT_FALSE(wire.Parse(five, 4));
  EXPECT_EQ(wire.over_limit, 5u);
  EXPECT_LE(wire.records.size(), 4u);
  EXPECT_FALSE(wire.Parse(five, 0));
  EXPECT_EQ(wire.over_limit, 5u);
  EXPECT_TRUE(wire.records.empty());
  // Declined for something else as well (an unknown field after the
  // records, or a record past the limit the reader would decline): not
  // over_limit, protobuf's to parse.
  EXPECT_FALSE(wire.Parse(five + "\x48\x01", 4));
  EXPECT_EQ(wire.over_limit, 0u);
  v1::RecordBatch bad_last = batch;
  bad_last.mutable_records(4)->set_id("r\xc3\xa9");
  EXPECT_FALSE(wire.Parse(bad_last.SerializeAsString(), 4));
  EXPECT_EQ(wire.over_limit, 0u);
  EXPECT_FALSE(wire.Parse(bad_last.SerializeAsString(), 5));
  EXPECT_EQ(wire.over_limit, 0u);

  std::string empties;
  for (int i = 0; i < 100000; ++i) empties += std::string("\x0a\x00", 2);
  v1::RecordBatch want;
  ASSERT_TRUE(want.ParseFromString(empties));
  ASSERT_EQ(want.records_size(), 100000);
  RecordBatchWire fresh;
  EXPECT_FALSE(fresh.Parse(empties, 64));
  EXPECT_EQ(fresh.over_limit, 100000u);
  EXPECT_LE(fresh.records.size(), 64u);
  EXPECT_LE(fresh.records.capacity(), 128u);
  ASSERT_TRUE(fresh.Parse(empties, 100000));
  EXPECT_EQ(fresh.records.size(), 100000u);
}

}  // namespace
}  // namespace dwae
