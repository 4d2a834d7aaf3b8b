#include "core/record.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/rng.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kNslLine[] =
    "0,tcp,ftp_data,SF,491,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,2,0.00,0.00,"
    "0.00,0.00,1.00,0.00,0.00,150,25,0.17,0.03,0.17,0.00,0.00,0.00,0.05,0.00,"
    "normal,20";
constexpr char kKdd99Line[] =
    "0,tcp,http,SF,181,5450,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,8,8,0.00,0.00,"
    "0.00,0.00,1.00,0.00,0.00,9,9,1.00,0.00,0.11,0.00,0.00,0.00,0.00,0.00,"
    "normal.";

std::string DataPath(const std::string& name) {
  return absl::StrCat(DWAE_SOURCE_DIR, "/data/nsl-kdd/", name);
}

// The 41 features of kNslLine, split.
std::vector<std::string> Features() {
  std::vector<std::string> fields = absl::StrSplit(kNslLine, ',');
  fields.resize(kNumFeatures);
  return fields;
}

// kNslLine's features with field `column` (1-based) replaced by `value`.
std::string LineWith(int column, const std::string& value) {
  std::vector<std::string> fields = Features();
  fields[column - 1] = value;
  return absl::StrJoin(fields, ",");
}

void ExpectError(const std::string& line, RecordFormat format,
                 const std::string& part1, const std::string& part2 = "") {
  const absl::StatusOr<Record> record = ParseRecordLine(line, format);
  ASSERT_FALSE(record.ok()) << line;
  EXPECT_EQ(record.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(record.status().message()), HasSubstr(part1));
  EXPECT_THAT(std::string(record.status().message()), HasSubstr(part2));
}

TEST(RecordFormatTest, ParsesNames) {
  EXPECT_EQ(*ParseRecordFormat("nsl-kdd"), RecordFormat::kNslKdd);
  EXPECT_EQ(*ParseRecordFormat("kdd99"), RecordFormat::kKdd99);
  const absl::StatusOr<RecordFormat> bad = ParseRecordFormat("csv");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("'csv'"));
}

TEST(FeatureNameTest, NamesAndCategorical) {
  EXPECT_STREQ(FeatureName(0), "duration");
  EXPECT_STREQ(FeatureName(kProtocolTypeIndex), "protocol_type");
  EXPECT_STREQ(FeatureName(kServiceIndex), "service");
  EXPECT_STREQ(FeatureName(kFlagIndex), "flag");
  EXPECT_STREQ(FeatureName(4), "src_bytes");
  EXPECT_STREQ(FeatureName(19), "num_outbound_cmds");
  EXPECT_STREQ(FeatureName(40), "dst_host_srv_rerror_rate");
  EXPECT_STREQ(FeatureName(-1), "?");
  EXPECT_STREQ(FeatureName(41), "?");
  int categorical = 0;
  for (int i = -2; i < kNumFeatures + 2; ++i) categorical += IsCategorical(i);
  EXPECT_EQ(categorical, 3);
  EXPECT_TRUE(IsCategorical(1));
  EXPECT_TRUE(IsCategorical(2));
  EXPECT_TRUE(IsCategorical(3));
}

TEST(ParseRecordLineTest, NslKddLine) {
  const absl::StatusOr<Record> record =
      ParseRecordLine(kNslLine, RecordFormat::kNslKdd);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->protocol_type, "tcp");
  EXPECT_EQ(record->service, "ftp_data");
  EXPECT_EQ(record->flag, "SF");
  EXPECT_EQ(record->label, "normal");
  EXPECT_TRUE(record->has_label());
  EXPECT_TRUE(record->is_normal());
  EXPECT_EQ(record->difficulty, 20);
  EXPECT_EQ(record->numeric[0], 0.0);
  EXPECT_EQ(record->numeric[1], 0.0);
  EXPECT_EQ(record->numeric[2], 0.0);
  EXPECT_EQ(record->numeric[3], 0.0);
  EXPECT_EQ(record->numeric[4], 491.0);
  EXPECT_EQ(record->numeric[22], 2.0);
  EXPECT_EQ(record->numeric[28], 1.0);
  EXPECT_EQ(record->numeric[31], 150.0);
  EXPECT_DOUBLE_EQ(record->numeric[33], 0.17);
  EXPECT_DOUBLE_EQ(record->numeric[39], 0.05);
  EXPECT_TRUE(ValidateRecord(*record).ok());
}

TEST(ParseRecordLineTest, AttackLine) {
  const absl::StatusOr<Record> record = ParseRecordLine(
      "0,udp,private,SF,28,0,0,3,0,0,0,0,0,0,0,0,0,0,0,0,0,0,80,80,0.00,0.00,"
      "0.00,0.00,1.00,0.00,0.00,255,80,0.31,0.02,0.31,0.00,0.00,0.00,0.00,0.00,"
      "teardrop,16",
      RecordFormat::kNslKdd);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->label, "teardrop");
  EXPECT_FALSE(record->is_normal());
  EXPECT_EQ(record->difficulty, 16);
  EXPECT_EQ(record->numeric[7], 3.0);
}

TEST(ParseRecordLineTest, Kdd99Line) {
  const absl::StatusOr<Record> record =
      ParseRecordLine(kKdd99Line, RecordFormat::kKdd99);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->service, "http");
  EXPECT_EQ(record->label, "normal");
  EXPECT_TRUE(record->is_normal());
  EXPECT_EQ(record->difficulty, -1);
  EXPECT_EQ(record->numeric[4], 181.0);
  EXPECT_EQ(record->numeric[5], 5450.0);
  EXPECT_EQ(record->numeric[11], 1.0);

  const absl::StatusOr<Record> attack =
      ParseRecordLine(absl::StrCat(absl::StrJoin(Features(), ","), ",smurf."),
                      RecordFormat::kKdd99);
  ASSERT_TRUE(attack.ok()) << attack.status();
  EXPECT_EQ(attack->label, "smurf");
}

TEST(ParseRecordLineTest, Kdd99RejectsDifficulty) {
  ExpectError(kNslLine, RecordFormat::kKdd99, "line has 43 fields",
              "expected 41 (+ label)");
}

TEST(ParseRecordLineTest, LabelAndDifficultyOptional) {
  const std::string features = absl::StrJoin(Features(), ",");
  for (RecordFormat format : {RecordFormat::kNslKdd, RecordFormat::kKdd99}) {
    const absl::StatusOr<Record> bare = ParseRecordLine(features, format);
    ASSERT_TRUE(bare.ok()) << bare.status();
    EXPECT_FALSE(bare->has_label());
    EXPECT_FALSE(bare->is_normal());
    EXPECT_EQ(bare->difficulty, -1);
    EXPECT_EQ(bare->numeric[4], 491.0);
  }
  const absl::StatusOr<Record> labelled = ParseRecordLine(
      absl::StrCat(features, ",neptune"), RecordFormat::kNslKdd);
  ASSERT_TRUE(labelled.ok()) << labelled.status();
  EXPECT_EQ(labelled->label, "neptune");
  EXPECT_EQ(labelled->difficulty, -1);
}

TEST(ParseRecordLineTest, ToleratesWhitespaceAndCarriageReturn) {
  for (const std::string& line :
       {absl::StrCat(kNslLine, "\r"), absl::StrCat(kNslLine, "\r\n"),
        absl::StrCat("  \t", kNslLine, "  "), absl::StrCat(kNslLine, " \r"),
        LineWith(5, " 491 ") + ",normal,20"}) {
    const absl::StatusOr<Record> record =
        ParseRecordLine(line, RecordFormat::kNslKdd);
    ASSERT_TRUE(record.ok()) << record.status();
    EXPECT_EQ(record->label, "normal");
    EXPECT_EQ(record->difficulty, 20);
    EXPECT_EQ(record->numeric[4], 491.0);
  }
  const absl::StatusOr<Record> kdd99 =
      ParseRecordLine(absl::StrCat(kKdd99Line, "\r\n"), RecordFormat::kKdd99);
  ASSERT_TRUE(kdd99.ok()) << kdd99.status();
  EXPECT_EQ(kdd99->label, "normal");
}

TEST(ParseRecordLineTest, AcceptsNumberForms) {
  const absl::StatusOr<Record> record =
      ParseRecordLine(LineWith(1, "1e3"), RecordFormat::kNslKdd);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->numeric[0], 1000.0);
  const absl::StatusOr<Record> big =
      ParseRecordLine(LineWith(5, "1000000000000000"), RecordFormat::kNslKdd);
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(big->numeric[4], 1e15);
  const absl::StatusOr<Record> zero =
      ParseRecordLine(LineWith(6, "-0"), RecordFormat::kNslKdd);
  ASSERT_TRUE(zero.ok()) << zero.status();
  EXPECT_FALSE(std::signbit(zero->numeric[5]));
}

// The fast path for plain decimals must give exactly std::from_chars's
// double (the oracle) for every form it takes.
TEST(ParseRecordLineTest, PlainDecimalsMatchFromChars) {
  Rng rng(9);
  std::vector<std::string> texts = {"0",
                                    "1.",
                                    ".5",
                                    "0.1",
                                    "0.3",
                                    "00.70",
                                    "999999999999999",
                                    "0.000000000000001",
                                    "123456.789012345",
                                    "4.35"};
  for (int i = 0; i < 2000; ++i) {
    const int decimals = int(rng.Below(8));
    texts.push_back(absl::StrFormat("%.*f", decimals, rng.Uniform() * 1e6));
  }
  for (const std::string& text : texts) {
    double want = 0;
    std::from_chars(text.data(), text.data() + text.size(), want);
    const absl::StatusOr<Record> record =
        ParseRecordLine(LineWith(25, text), RecordFormat::kNslKdd);
    ASSERT_TRUE(record.ok()) << text << ": " << record.status();
    EXPECT_EQ(record->numeric[24], want) << text;
  }
}

TEST(ParseRecordLineTest, EmptyLine) {
  ExpectError("", RecordFormat::kNslKdd, "empty line");
  ExpectError("  \r\n", RecordFormat::kNslKdd, "empty line");
}

TEST(ParseRecordLineTest, LineTooLong) {
  ExpectError(std::string(5000, '0'), RecordFormat::kNslKdd,
              "line is 5000 bytes, limit is 4096");
  // Exactly at the limit it is split (and then fails on the field count).
  ExpectError(std::string(kMaxLineBytes, '0'), RecordFormat::kNslKdd,
              "line has 1 fields");
}

TEST(ParseRecordLineTest, WrongFieldCount) {
  std::vector<std::string> fields = Features();
  fields.pop_back();
  ExpectError(absl::StrJoin(fields, ","), RecordFormat::kNslKdd,
              "line has 40 fields, expected 41 (+ label, + difficulty)");
  ExpectError(absl::StrCat(kNslLine, ",extra"), RecordFormat::kNslKdd,
              "line has 44 fields");
  ExpectError(absl::StrCat(kNslLine, ",a,b,c,d,e"), RecordFormat::kNslKdd,
              "line has 48 fields");
  ExpectError("hello", RecordFormat::kNslKdd, "line has 1 fields");
}

TEST(ParseRecordLineTest, NotANumber) {
  ExpectError(LineWith(5, "abc"), RecordFormat::kNslKdd,
              "field 5 (src_bytes): not a number: 'abc'");
  ExpectError(LineWith(1, "12x"), RecordFormat::kNslKdd,
              "field 1 (duration): not a number: '12x'");
  ExpectError(LineWith(41, "0x10"), RecordFormat::kNslKdd,
              "field 41 (dst_host_srv_rerror_rate): not a number");
  ExpectError(LineWith(23, "1 2"), RecordFormat::kNslKdd,
              "field 23 (count): not a number");
  ExpectError(LineWith(6, ""), RecordFormat::kNslKdd,
              "field 6 (dst_bytes): empty");
}

TEST(ParseRecordLineTest, NotFinite) {
  ExpectError(LineWith(5, "nan"), RecordFormat::kNslKdd, "field 5 (src_bytes)",
              "not finite");
  ExpectError(LineWith(5, "inf"), RecordFormat::kNslKdd, "field 5 (src_bytes)",
              "not finite");
  ExpectError(LineWith(25, "-inf"), RecordFormat::kNslKdd,
              "field 25 (serror_rate)", "not finite");
  ExpectError(LineWith(6, "1e400"), RecordFormat::kNslKdd,
              "field 6 (dst_bytes)", "'1e400'");
}

TEST(ParseRecordLineTest, Negative) {
  ExpectError(LineWith(1, "-3"), RecordFormat::kNslKdd,
              "field 1 (duration): negative value -3");
  ExpectError(LineWith(29, "-0.5"), RecordFormat::kNslKdd,
              "field 29 (same_srv_rate): negative value");
}

TEST(ParseRecordLineTest, TooLarge) {
  ExpectError(LineWith(5, "2e15"), RecordFormat::kNslKdd, "field 5 (src_bytes)",
              "exceeds 1e15");
  ExpectError(LineWith(5, "1000000000000001"), RecordFormat::kNslKdd,
              "field 5 (src_bytes)", "exceeds 1e15");
}

TEST(ParseRecordLineTest, EmptyCategorical) {
  ExpectError(LineWith(2, ""), RecordFormat::kNslKdd,
              "field 2 (protocol_type): empty");
  ExpectError(LineWith(3, " "), RecordFormat::kNslKdd,
              "field 3 (service): empty");
  ExpectError(LineWith(4, ""), RecordFormat::kNslKdd, "field 4 (flag): empty");
}

TEST(ParseRecordLineTest, BadLabel) {
  const std::string features = absl::StrJoin(Features(), ",");
  ExpectError(absl::StrCat(features, ","), RecordFormat::kNslKdd,
              "field 42 (label): empty");
  ExpectError(absl::StrCat(features, ",,3"), RecordFormat::kNslKdd,
              "field 42 (label): empty");
  ExpectError(absl::StrCat(features, ",."), RecordFormat::kKdd99,
              "field 42 (label): empty");
}

TEST(ParseRecordLineTest, BadDifficulty) {
  const std::string features = absl::StrJoin(Features(), ",");
  ExpectError(absl::StrCat(features, ",normal,x"), RecordFormat::kNslKdd,
              "field 43 (difficulty): not an integer: 'x'");
  ExpectError(absl::StrCat(features, ",normal,2.5"), RecordFormat::kNslKdd,
              "field 43 (difficulty): not an integer");
  ExpectError(absl::StrCat(features, ",normal,"), RecordFormat::kNslKdd,
              "field 43 (difficulty): not an integer");
  ExpectError(absl::StrCat(features, ",normal,-1"), RecordFormat::kNslKdd,
              "field 43 (difficulty)");
  ExpectError(absl::StrCat(features, ",normal,22"), RecordFormat::kNslKdd,
              "field 43 (difficulty)");
  for (int d : {0, 21}) {
    const absl::StatusOr<Record> record = ParseRecordLine(
        absl::StrCat(features, ",normal,", d), RecordFormat::kNslKdd);
    ASSERT_TRUE(record.ok()) << record.status();
    EXPECT_EQ(record->difficulty, d);
  }
}

TEST(ParseRecordLineTest, TruncatesQuotedValue) {
  const std::string long_value(200, 'z');
  const absl::StatusOr<Record> record =
      ParseRecordLine(LineWith(5, long_value), RecordFormat::kNslKdd);
  ASSERT_FALSE(record.ok());
  const std::string message(record.status().message());
  EXPECT_THAT(message, HasSubstr("field 5 (src_bytes): not a number: 'zzz"));
  EXPECT_THAT(message, Not(HasSubstr(std::string(40, 'z'))));
  EXPECT_LT(message.size(), 80u);
}

struct DataFile {
  const char* name;
  int rows;
  int normal_rows;
};

class DataFileTest : public testing::TestWithParam<DataFile> {};

TEST_P(DataFileTest, ParsesEveryLine) {
  const DataFile& file = GetParam();
  std::ifstream in(DataPath(file.name));
  ASSERT_TRUE(in) << DataPath(file.name);
  std::string line;
  int rows = 0;
  int normal_rows = 0;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    const absl::StatusOr<Record> record =
        ParseRecordLine(line, RecordFormat::kNslKdd);
    ASSERT_TRUE(record.ok())
        << file.name << ":" << line_number << ": " << record.status();
    ASSERT_TRUE(record->has_label());
    ASSERT_GE(record->difficulty, 0);
    ASSERT_TRUE(ValidateRecord(*record).ok());
    ++rows;
    normal_rows += record->is_normal();
  }
  EXPECT_EQ(rows, file.rows);
  EXPECT_EQ(normal_rows, file.normal_rows);
}

INSTANTIATE_TEST_SUITE_P(
    NslKdd, DataFileTest,
    testing::Values(DataFile{"KDDTrain+_20Percent.txt", 25192, 13449},
                    DataFile{"KDDTest+.txt", 22544, 9711},
                    DataFile{"KDDTest-21.txt", 11850, 2152}),
    [](const testing::TestParamInfo<DataFile>& info) {
      std::string name = info.param.name;
      for (char& c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name;
    });

Record ValidRecord() {
  absl::StatusOr<Record> record =
      ParseRecordLine(kNslLine, RecordFormat::kNslKdd);
  EXPECT_TRUE(record.ok());
  return *record;
}

absl::Status ValidateWith(int index, double value) {
  Record record = ValidRecord();
  record.numeric[index] = value;
  return ValidateRecord(record);
}

TEST(ValidateRecordTest, AcceptsValidRecord) {
  EXPECT_TRUE(ValidateRecord(ValidRecord()).ok());
  Record record = ValidRecord();
  record.label.clear();
  record.difficulty = -1;
  EXPECT_TRUE(ValidateRecord(record).ok());
  EXPECT_TRUE(ValidateWith(4, 1e15).ok());
}

TEST(ValidateRecordTest, IgnoresTheNumericSlotsOfCategoricalFeatures) {
  // numeric[1..3] stand for protocol_type, service and flag: not checked.
  for (double junk : {std::numeric_limits<double>::quiet_NaN(), -1.0, 1e300}) {
    EXPECT_TRUE(ValidateWith(1, junk).ok()) << junk;
    EXPECT_TRUE(ValidateWith(3, junk).ok()) << junk;
  }
  EXPECT_EQ(ValidateWith(4, -0.5).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ValidateRecordTest, RejectsBadNumbers) {
  const absl::Status nan =
      ValidateWith(4, std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(nan.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(nan.message()),
              HasSubstr("field 5 (src_bytes): not finite"));

  const absl::Status inf =
      ValidateWith(40, std::numeric_limits<double>::infinity());
  EXPECT_EQ(inf.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(inf.message()),
              HasSubstr("field 41 (dst_host_srv_rerror_rate): not finite"));

  const absl::Status negative = ValidateWith(0, -3);
  EXPECT_EQ(negative.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(negative.message()),
              HasSubstr("field 1 (duration): negative value -3"));

  const absl::Status large = ValidateWith(5, 2e15);
  EXPECT_EQ(large.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(large.message()), HasSubstr("field 6 (dst_bytes)"));
  EXPECT_THAT(std::string(large.message()), HasSubstr("exceeds 1e15"));
}

// Every slot (the range pass runs four at a time, the last one alone).
TEST(ValidateRecordTest, ChecksEverySlot) {
  for (int i = 0; i < kNumFeatures; ++i) {
    if (IsCategorical(i)) continue;
    SCOPED_TRACE(i);
    for (double bad :
         {std::numeric_limits<double>::quiet_NaN(),
          std::numeric_limits<double>::infinity(),
          -std::numeric_limits<double>::infinity(), -1e-300, 1.0000001e15}) {
      EXPECT_THAT(std::string(ValidateWith(i, bad).message()),
                  HasSubstr(absl::StrCat("field ", i + 1, " (")))
          << bad;
    }
    for (double good : {0.0, -0.0, 1e15, 0.5}) {
      EXPECT_TRUE(ValidateWith(i, good).ok()) << good;
    }
  }
}

TEST(ValidateRecordTest, RejectsEmptyCategorical) {
  Record record = ValidRecord();
  record.protocol_type.clear();
  EXPECT_THAT(std::string(ValidateRecord(record).message()),
              HasSubstr("field 2 (protocol_type): empty"));
  record = ValidRecord();
  record.service.clear();
  EXPECT_EQ(ValidateRecord(record).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(ValidateRecord(record).message()),
              HasSubstr("field 3 (service): empty"));
  record = ValidRecord();
  record.flag.clear();
  EXPECT_THAT(std::string(ValidateRecord(record).message()),
              HasSubstr("field 4 (flag): empty"));
}

}  // namespace
}  // namespace dwae

namespace dwae {
namespace {

// Found by the record parser fuzzer: "normal ." must read as "normal".
TEST(RecordKdd99Test, SpaceBeforeTheLabelDotIsTrimmed) {
  absl::StatusOr<Record> r = ParseRecordLine(
      "0,tcp,http,SF,215,45076,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,1,1,0.00,0.00,"
      "0.00,0.00,1.00,0.00,0.00,0,0,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,"
      "normal .",
      RecordFormat::kKdd99);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->label, "normal");
  EXPECT_TRUE(r->is_normal());
}

}  // namespace
}  // namespace dwae
