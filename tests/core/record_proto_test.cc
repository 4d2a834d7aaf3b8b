#include "core/record_proto.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/record.h"
#include "dwae/v1/record.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Reflection;
using ::testing::HasSubstr;

constexpr char kNslLine[] =
    "0,tcp,ftp_data,SF,491,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,2,0.00,0.00,"
    "0.00,0.00,1.00,0.00,0.00,150,25,0.17,0.03,0.17,0.00,0.00,0.00,0.05,0.00,"
    "normal,20";

std::string DataPath(const std::string& name) {
  return absl::StrCat(DWAE_SOURCE_DIR, "/data/nsl-kdd/", name);
}

Record ParseOrDie(const std::string& line) {
  absl::StatusOr<Record> record = ParseRecordLine(line, RecordFormat::kNslKdd);
  EXPECT_TRUE(record.ok()) << record.status();
  return record.ok() ? *record : Record{};
}

v1::Record ValidProto() {
  return RecordToProto(ParseOrDie(kNslLine), "rec-1", "sensor-a");
}

// Sets numeric proto field `number` (1-based column) through reflection.
void SetNumericField(v1::Features* features, int number, double value) {
  const FieldDescriptor* field =
      v1::Features::descriptor()->FindFieldByNumber(number);
  ASSERT_NE(field, nullptr);
  features->GetReflection()->SetDouble(features, field, value);
}

TEST(RecordProtoTest, FieldNamesMatchFeatureNames) {
  const Descriptor* descriptor = v1::Features::descriptor();
  ASSERT_EQ(descriptor->field_count(), kNumFeatures);
  for (int number = 1; number <= kNumFeatures; ++number) {
    SCOPED_TRACE(absl::StrCat("field number ", number));
    const FieldDescriptor* field = descriptor->FindFieldByNumber(number);
    ASSERT_NE(field, nullptr);
    EXPECT_EQ(field->name(), FeatureName(number - 1));
    EXPECT_FALSE(field->is_repeated());
    EXPECT_EQ(field->cpp_type(), IsCategorical(number - 1)
                                     ? FieldDescriptor::CPPTYPE_STRING
                                     : FieldDescriptor::CPPTYPE_DOUBLE);
  }
}

// Field n carries the value n: catches any two numeric copies swapped, even
// between columns that are always 0 in the data set.
TEST(RecordProtoTest, FromProtoMapsEveryFieldNumberToItsIndex) {
  v1::Record proto = ValidProto();
  for (int number = 1; number <= kNumFeatures; ++number) {
    if (IsCategorical(number - 1)) continue;
    SetNumericField(proto.mutable_features(), number, number);
  }
  absl::StatusOr<Record> record = RecordFromProto(proto);
  ASSERT_TRUE(record.ok()) << record.status();
  for (int i = 0; i < kNumFeatures; ++i) {
    EXPECT_EQ(record->numeric[i], IsCategorical(i) ? 0 : i + 1)
        << FeatureName(i);
  }
  EXPECT_EQ(record->protocol_type, "tcp");
  EXPECT_EQ(record->service, "ftp_data");
  EXPECT_EQ(record->flag, "SF");
}

TEST(RecordProtoTest, ToProtoMapsEveryIndexToItsFieldNumber) {
  Record record = ParseOrDie(kNslLine);
  for (int i = 0; i < kNumFeatures; ++i) {
    if (!IsCategorical(i)) record.numeric[i] = i + 1;
  }
  v1::Features features;
  RecordToProto(record, &features);
  const Reflection* reflection = features.GetReflection();
  for (int number = 1; number <= kNumFeatures; ++number) {
    const FieldDescriptor* field =
        v1::Features::descriptor()->FindFieldByNumber(number);
    ASSERT_NE(field, nullptr);
    if (IsCategorical(number - 1)) continue;
    EXPECT_EQ(reflection->GetDouble(features, field), number) << field->name();
  }
  EXPECT_EQ(features.protocol_type(), "tcp");
  EXPECT_EQ(features.service(), "ftp_data");
  EXPECT_EQ(features.flag(), "SF");
}

TEST(RecordProtoTest, ToProtoCopiesIdSensorAndLabel) {
  const v1::Record proto = ValidProto();
  EXPECT_EQ(proto.id(), "rec-1");
  EXPECT_EQ(proto.sensor_id(), "sensor-a");
  EXPECT_EQ(proto.label(), "normal");
  EXPECT_TRUE(proto.has_features());
  EXPECT_EQ(proto.features().src_bytes(), 491);
  EXPECT_EQ(proto.features().dst_host_count(), 150);
}

TEST(RecordProtoTest, RoundTripsEveryTestRow) {
  std::ifstream in(DataPath("KDDTest+.txt"));
  ASSERT_TRUE(in.is_open()) << DataPath("KDDTest+.txt");
  std::string line;
  int rows = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line == "\r") continue;
    absl::StatusOr<Record> parsed =
        ParseRecordLine(line, RecordFormat::kNslKdd);
    ASSERT_TRUE(parsed.ok()) << "row " << rows + 1 << ": " << parsed.status();
    const v1::Record proto = RecordToProto(*parsed, "id", "sensor");
    // Through the wire format, as a client would send it.
    v1::Record wire;
    ASSERT_TRUE(wire.ParseFromString(proto.SerializeAsString()));
    absl::StatusOr<Record> back = RecordFromProto(wire);
    ASSERT_TRUE(back.ok()) << "row " << rows + 1 << ": " << back.status();
    for (int i = 0; i < kNumFeatures; ++i) {
      ASSERT_EQ(back->numeric[i], parsed->numeric[i])
          << "row " << rows + 1 << ", " << FeatureName(i);
    }
    ASSERT_EQ(back->protocol_type, parsed->protocol_type) << "row " << rows + 1;
    ASSERT_EQ(back->service, parsed->service) << "row " << rows + 1;
    ASSERT_EQ(back->flag, parsed->flag) << "row " << rows + 1;
    ASSERT_EQ(back->label, parsed->label) << "row " << rows + 1;
    ASSERT_EQ(back->difficulty, -1);
    ++rows;
  }
  EXPECT_EQ(rows, 22544);
}

TEST(RecordProtoTest, RejectsBadNumericValues) {
  struct Case {
    double value;
    const char* reason;
  };
  const Case cases[] = {
      {std::numeric_limits<double>::quiet_NaN(), "not finite"},
      {std::numeric_limits<double>::infinity(), "not finite"},
      {-std::numeric_limits<double>::infinity(), "not finite"},
      {-1, "negative value -1"},
      {1e16, "exceeds 1e15"},
  };
  // First, a middle and the last numeric column.
  for (const int number : {1, 5, 25, 41}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(absl::StrCat("field ", number, " = ", c.value));
      v1::Record proto = ValidProto();
      SetNumericField(proto.mutable_features(), number, c.value);
      const absl::StatusOr<Record> record = RecordFromProto(proto);
      ASSERT_FALSE(record.ok());
      EXPECT_EQ(record.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(record.status().message(),
                  HasSubstr(absl::StrCat("field ", number, " (",
                                         FeatureName(number - 1), "): ")));
      EXPECT_THAT(record.status().message(), HasSubstr(c.reason));
    }
  }
}

TEST(RecordProtoTest, ErrorMatchesTextParser) {
  v1::Record proto = ValidProto();
  proto.mutable_features()->set_src_bytes(-1);
  EXPECT_EQ(RecordFromProto(proto).status().message(),
            "field 5 (src_bytes): negative value -1");
}

TEST(RecordProtoTest, AcceptsBoundaryValues) {
  v1::Record proto = ValidProto();
  proto.mutable_features()->set_src_bytes(1e15);
  proto.mutable_features()->set_dst_bytes(-0.0);
  const absl::StatusOr<Record> record = RecordFromProto(proto);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->numeric[4], 1e15);
  EXPECT_EQ(record->numeric[5], 0);
  EXPECT_FALSE(std::signbit(record->numeric[5]));
}

TEST(RecordProtoTest, RejectsMissingFeatures) {
  v1::Record proto = ValidProto();
  proto.clear_features();
  const absl::StatusOr<Record> record = RecordFromProto(proto);
  ASSERT_FALSE(record.ok());
  EXPECT_EQ(record.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(record.status().message(), "features: missing");
}

TEST(RecordProtoTest, RejectsEmptyCategorical) {
  v1::Record proto = ValidProto();
  proto.mutable_features()->clear_flag();
  const absl::StatusOr<Record> record = RecordFromProto(proto);
  ASSERT_FALSE(record.ok());
  EXPECT_EQ(record.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(record.status().message(), "field 4 (flag): empty");
}

TEST(RecordProtoTest, IdAndSensorIdLimits) {
  v1::Record proto = ValidProto();
  proto.set_id(std::string(kMaxRecordIdBytes, 'i'));
  proto.set_sensor_id(std::string(kMaxSensorIdBytes, 's'));
  EXPECT_TRUE(RecordFromProto(proto).ok());

  proto.set_id(std::string(300, 'i'));
  absl::StatusOr<Record> record = RecordFromProto(proto);
  ASSERT_FALSE(record.ok());
  EXPECT_EQ(record.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(record.status().message(), "id: 300 bytes, limit is 128");

  proto.set_id("ok");
  proto.set_sensor_id(std::string(kMaxSensorIdBytes + 1, 's'));
  record = RecordFromProto(proto);
  ASSERT_FALSE(record.ok());
  EXPECT_EQ(record.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(record.status().message(), "sensor_id: 129 bytes, limit is 128");
}

TEST(RecordProtoTest, LabelLimit) {
  v1::Record proto = ValidProto();
  proto.set_label(std::string(kMaxLabelBytes, 'l'));
  EXPECT_TRUE(RecordFromProto(proto).ok());
  proto.set_label(std::string(kMaxLabelBytes + 1, 'l'));
  const absl::StatusOr<Record> record = RecordFromProto(proto);
  ASSERT_FALSE(record.ok());
  EXPECT_EQ(record.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(record.status().message(), "label: 65 bytes, limit is 64");
}

TEST(RecordProtoTest, CategoricalLimit) {
  struct Case {
    void (v1::Features::*set)(const std::string&);
    const char* field;
  };
  const Case cases[] = {
      {&v1::Features::set_protocol_type, "field 2 (protocol_type)"},
      {&v1::Features::set_service, "field 3 (service)"},
      {&v1::Features::set_flag, "field 4 (flag)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.field);
    v1::Record proto = ValidProto();
    (proto.mutable_features()->*c.set)(std::string(kMaxCategoricalBytes, 'x'));
    EXPECT_TRUE(RecordFromProto(proto).ok());
    (proto.mutable_features()->*c.set)(std::string(40, 'x'));
    const absl::StatusOr<Record> record = RecordFromProto(proto);
    ASSERT_FALSE(record.ok());
    EXPECT_EQ(record.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(record.status().message(),
              absl::StrCat(c.field, ": 40 bytes, limit is 32"));
  }
}

// Entries parsed from text (the Kafka path) get the checks a wire message
// gets, with the same messages.
TEST(RecordProtoTest, CheckParsedEntryAppliesTheWireChecks) {
  Entry record = ParseOrDie(kNslLine);
  EXPECT_TRUE(CheckParsedEntry(record, "conn:0:1", "sensor-a").ok());
  EXPECT_EQ(CheckParsedEntry(record, std::string(129, 'i'), "").message(),
            "id: 129 bytes, limit is 128");
  std::get<Record>(record).service = std::string(40, 'x');
  EXPECT_EQ(CheckParsedEntry(record, "", "").message(),
            "field 3 (service): 40 bytes, limit is 32");

  Connection c;
  c.ts = 1591367999.3;
  c.uid = "C1";
  c.orig_h = "10.0.0.1";
  c.resp_h = "10.0.0.2";
  c.resp_p = 80;
  c.proto = "tcp";
  c.conn_state = "SF";
  Entry connection = c;
  EXPECT_TRUE(CheckParsedEntry(connection, "", "sensor-a").ok());
  std::get<Connection>(connection).history = std::string(200, 'h');
  EXPECT_EQ(CheckParsedEntry(connection, "", "").message(),
            "history: 200 bytes, limit is 128");
  std::get<Connection>(connection).history.clear();
  std::get<Connection>(connection).ts = -1;  // ValidateConnection's check
  EXPECT_THAT(CheckParsedEntry(connection, "", "").message(),
              HasSubstr("ts: -1"));
}

TEST(RecordProtoTest, AcceptsUnknownCategoricalValues) {
  v1::Record proto = ValidProto();
  proto.mutable_features()->set_protocol_type("sctp");
  proto.mutable_features()->set_service("quic_over_carrier_pigeon");
  proto.mutable_features()->set_flag("XX");
  const absl::StatusOr<Record> record = RecordFromProto(proto);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->protocol_type, "sctp");
  EXPECT_EQ(record->service, "quic_over_carrier_pigeon");
  EXPECT_EQ(record->flag, "XX");
}

TEST(RecordProtoTest, LabelTrailingDotStrippedAndEmptyLabelAllowed) {
  v1::Record proto = ValidProto();
  proto.set_label("smurf.");
  absl::StatusOr<Record> record = RecordFromProto(proto);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->label, "smurf");

  proto.clear_label();
  record = RecordFromProto(proto);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_FALSE(record->has_label());
  EXPECT_EQ(record->difficulty, -1);
}

}  // namespace
}  // namespace dwae
