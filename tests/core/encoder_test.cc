#include "core/encoder.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/record.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

using ::testing::HasSubstr;

constexpr int kProtocolOffset = kNumNumeric;
constexpr int kServiceOffset = kProtocolOffset + kNumProtocols + 1;
constexpr int kFlagOffset = kServiceOffset + kNumServices + 1;

std::vector<Record> LoadRecords(const std::string& name) {
  std::vector<Record> records;
  std::ifstream in(absl::StrCat(DWAE_SOURCE_DIR, "/data/nsl-kdd/", name));
  EXPECT_TRUE(in) << name;
  std::string line;
  while (std::getline(in, line)) {
    absl::StatusOr<Record> record =
        ParseRecordLine(line, RecordFormat::kNslKdd);
    EXPECT_TRUE(record.ok()) << record.status();
    if (record.ok()) records.push_back(*std::move(record));
  }
  return records;
}

// The data sets are parsed once for the whole suite.
const std::vector<Record>& TrainRows() {
  static const auto* rows =
      new std::vector<Record>(LoadRecords("KDDTrain+_20Percent.txt"));
  return *rows;
}

const std::vector<Record>& NormalTrainRows() {
  static const auto* rows = [] {
    auto* normal = new std::vector<Record>();
    for (const Record& r : TrainRows()) {
      if (r.is_normal()) normal->push_back(r);
    }
    return normal;
  }();
  return *rows;
}

const std::vector<Record>& TestRows() {
  static const auto* rows =
      new std::vector<Record>(LoadRecords("KDDTest+.txt"));
  return *rows;
}

Record MakeRecord(const std::string& protocol, const std::string& service,
                  const std::string& flag) {
  Record record;
  record.protocol_type = protocol;
  record.service = service;
  record.flag = flag;
  return record;
}

std::vector<float> Encode(const FeatureEncoder& encoder, const Record& r) {
  std::vector<float> out(kInputDim, -7.0f);
  encoder.Encode(r, out.data());
  return out;
}

// Numeric column of feature index `feature`.
int ColumnOf(int feature) { return feature == 0 ? 0 : feature - 3; }

TEST(FeatureEncoderTest, InputDim) {
  EXPECT_EQ(kInputDim, 125);
  EXPECT_EQ(kNumNumeric, 38);
  EXPECT_EQ(kServiceOffset, 42);
  EXPECT_EQ(kFlagOffset, 113);
}

TEST(FeatureEncoderTest, OneHotPositions) {
  const FeatureEncoder encoder;
  const std::vector<float> v = Encode(encoder, MakeRecord("tcp", "IRC", "OTH"));
  for (int d = 0; d < kInputDim; ++d) {
    const bool hot = d == 38 || d == 42 || d == 113;
    EXPECT_EQ(v[d], hot ? 1.0f : 0.0f) << d;
  }
  EXPECT_EQ(Encode(encoder, MakeRecord("udp", "http", "SF"))[39], 1.0f);
  EXPECT_EQ(Encode(encoder, MakeRecord("icmp", "http", "SF"))[40], 1.0f);
  EXPECT_EQ(Encode(encoder, MakeRecord("icmp", "whois", "SH"))[111], 1.0f);
  EXPECT_EQ(Encode(encoder, MakeRecord("icmp", "whois", "SH"))[123], 1.0f);
  EXPECT_EQ(
      Encode(encoder, MakeRecord("icmp", "http", "SF"))[kServiceOffset + 24],
      1.0f);
  EXPECT_EQ(FeatureEncoder::DimensionName(kServiceOffset + 24), "service=http");
  EXPECT_EQ(FeatureEncoder::DimensionName(kFlagOffset + 9), "flag=SF");
}

TEST(FeatureEncoderTest, UnknownSlots) {
  const FeatureEncoder encoder;
  const std::vector<float> v =
      Encode(encoder, MakeRecord("sctp", "gopher2", "XX"));
  float sum = 0;
  for (int d = kNumNumeric; d < kInputDim; ++d) sum += v[d];
  EXPECT_EQ(sum, 3.0f);
  EXPECT_EQ(v[41], 1.0f);
  EXPECT_EQ(v[112], 1.0f);
  EXPECT_EQ(v[124], 1.0f);
  EXPECT_EQ(FeatureEncoder::DimensionName(41), "protocol_type=<unknown>");
  EXPECT_EQ(FeatureEncoder::DimensionName(112), "service=<unknown>");
  EXPECT_EQ(FeatureEncoder::DimensionName(124), "flag=<unknown>");

  EXPECT_TRUE(FeatureEncoder::IsUnknownProtocol("sctp"));
  EXPECT_TRUE(FeatureEncoder::IsUnknownProtocol("TCP"));
  EXPECT_TRUE(FeatureEncoder::IsUnknownProtocol(""));
  EXPECT_FALSE(FeatureEncoder::IsUnknownProtocol("icmp"));
  EXPECT_TRUE(FeatureEncoder::IsUnknownService("gopher2"));
  EXPECT_TRUE(FeatureEncoder::IsUnknownService("irc"));
  EXPECT_FALSE(FeatureEncoder::IsUnknownService("IRC"));
  EXPECT_FALSE(FeatureEncoder::IsUnknownService("aol"));
  EXPECT_FALSE(FeatureEncoder::IsUnknownService("http_2784"));
  EXPECT_TRUE(FeatureEncoder::IsUnknownFlag("sf"));
  EXPECT_FALSE(FeatureEncoder::IsUnknownFlag("RSTOS0"));
}

TEST(FeatureEncoderTest, EveryDataValueIsInVocabulary) {
  for (const std::vector<Record>* rows : {&TrainRows(), &TestRows()}) {
    for (const Record& r : *rows) {
      ASSERT_FALSE(FeatureEncoder::IsUnknownProtocol(r.protocol_type));
      ASSERT_FALSE(FeatureEncoder::IsUnknownService(r.service)) << r.service;
      ASSERT_FALSE(FeatureEncoder::IsUnknownFlag(r.flag)) << r.flag;
    }
  }
}

TEST(FeatureEncoderTest, DimensionNameRoundTrip) {
  const FeatureEncoder encoder;
  std::set<std::string> names;
  for (int d = 0; d < kInputDim; ++d) {
    const int feature = FeatureEncoder::FeatureOfDimension(d);
    ASSERT_GE(feature, 0);
    ASSERT_LT(feature, kNumFeatures);
    const std::string name = FeatureEncoder::DimensionName(d);
    EXPECT_TRUE(names.insert(name).second) << "duplicate " << name;
    if (d < kNumNumeric) {
      EXPECT_FALSE(IsCategorical(feature));
      EXPECT_EQ(name, FeatureName(feature));
      // Setting that feature moves exactly dimension d.
      FeatureEncoder fitted;
      Record lo = MakeRecord("tcp", "http", "SF");
      Record hi = lo;
      hi.numeric[feature] = 1;
      fitted.Fit({lo, hi});
      const std::vector<float> v = Encode(fitted, hi);
      for (int e = 0; e < kNumNumeric; ++e) EXPECT_EQ(v[e], e == d ? 1 : 0);
      continue;
    }
    EXPECT_TRUE(IsCategorical(feature));
    const std::string prefix = absl::StrCat(FeatureName(feature), "=");
    ASSERT_TRUE(absl::StartsWith(name, prefix)) << name;
    std::string value = name.substr(prefix.size());
    if (value == "<unknown>") value = "no-such-value";
    Record r = MakeRecord("tcp", "http", "SF");
    if (feature == kProtocolTypeIndex) r.protocol_type = value;
    if (feature == kServiceIndex) r.service = value;
    if (feature == kFlagIndex) r.flag = value;
    EXPECT_EQ(Encode(encoder, r)[d], 1.0f) << name;
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kInputDim));
  EXPECT_EQ(FeatureEncoder::DimensionName(0), "duration");
  EXPECT_EQ(FeatureEncoder::DimensionName(1), "src_bytes");
  EXPECT_EQ(FeatureEncoder::DimensionName(37), "dst_host_srv_rerror_rate");
  EXPECT_EQ(FeatureEncoder::DimensionName(38), "protocol_type=tcp");
  EXPECT_EQ(FeatureEncoder::DimensionName(42), "service=IRC");
  EXPECT_EQ(FeatureEncoder::DimensionName(-1), "?");
  EXPECT_EQ(FeatureEncoder::DimensionName(kInputDim), "?");
  EXPECT_EQ(FeatureEncoder::FeatureOfDimension(1), 4);
  EXPECT_EQ(FeatureEncoder::FeatureOfDimension(-1), -1);
  EXPECT_EQ(FeatureEncoder::FeatureOfDimension(kInputDim), -1);
}

TEST(FeatureEncoderTest, UnfittedEncoderMapsNumericToZero) {
  const FeatureEncoder encoder;
  for (double m : encoder.mins()) EXPECT_EQ(m, 0.0);
  for (double m : encoder.maxs()) EXPECT_EQ(m, 0.0);
  Record r = MakeRecord("tcp", "http", "SF");
  r.numeric.fill(123.0);
  const std::vector<float> v = Encode(encoder, r);
  for (int j = 0; j < kNumNumeric; ++j) EXPECT_EQ(v[j], 0.0f);
}

TEST(FeatureEncoderTest, FitOnNormalTrainingRows) {
  ASSERT_EQ(NormalTrainRows().size(), 13449u);
  FeatureEncoder encoder;
  encoder.Fit(NormalTrainRows());
  std::vector<float> lo(kNumNumeric, 2.0f);
  std::vector<float> hi(kNumNumeric, -1.0f);
  std::vector<float> v(kInputDim);
  for (const Record& r : NormalTrainRows()) {
    encoder.Encode(r, v.data());
    for (int d = 0; d < kInputDim; ++d) {
      ASSERT_GE(v[d], 0.0f) << FeatureEncoder::DimensionName(d);
      ASSERT_LE(v[d], 1.0f) << FeatureEncoder::DimensionName(d);
    }
    for (int j = 0; j < kNumNumeric; ++j) {
      lo[j] = std::min(lo[j], v[j]);
      hi[j] = std::max(hi[j], v[j]);
    }
  }
  int non_empty = 0;
  for (int j = 0; j < kNumNumeric; ++j) {
    const std::string name = FeatureEncoder::DimensionName(j);
    EXPECT_LE(encoder.mins()[j], encoder.maxs()[j]) << name;
    EXPECT_EQ(lo[j], 0.0f) << name;
    if (encoder.maxs()[j] > encoder.mins()[j]) {
      ++non_empty;
      EXPECT_EQ(hi[j], 1.0f) << name;
    } else {
      EXPECT_EQ(hi[j], 0.0f) << name;
    }
  }
  // num_outbound_cmds is always 0; most other columns vary.
  EXPECT_EQ(encoder.maxs()[ColumnOf(19)], 0.0);
  EXPECT_GT(non_empty, 30);
  // src_bytes is fitted in log1p units.
  double max_src_bytes = 0;
  for (const Record& r : NormalTrainRows()) {
    max_src_bytes = std::max(max_src_bytes, r.numeric[4]);
  }
  EXPECT_DOUBLE_EQ(encoder.maxs()[ColumnOf(4)], std::log1p(max_src_bytes));
}

TEST(FeatureEncoderTest, TestRowsAreClipped) {
  FeatureEncoder encoder;
  encoder.Fit(NormalTrainRows());
  std::vector<float> v(kInputDim);
  bool clipped_high = false;
  for (const Record& r : TestRows()) {
    encoder.Encode(r, v.data());
    for (int d = 0; d < kInputDim; ++d) {
      ASSERT_TRUE(std::isfinite(v[d]));
      ASSERT_GE(v[d], 0.0f) << FeatureEncoder::DimensionName(d);
      ASSERT_LE(v[d], 1.0f) << FeatureEncoder::DimensionName(d);
    }
    clipped_high |= r.numeric[4] > 0 &&
                    std::log1p(r.numeric[4]) > encoder.maxs()[ColumnOf(4)];
  }
  // Some attack rows exceed the normal src_bytes range.
  EXPECT_TRUE(clipped_high);

  Record extreme = MakeRecord("tcp", "http", "SF");
  extreme.numeric.fill(1e15);
  const std::vector<float> high = Encode(encoder, extreme);
  for (int j = 0; j < kNumNumeric; ++j) {
    const bool non_empty = encoder.maxs()[j] > encoder.mins()[j];
    EXPECT_EQ(high[j], non_empty ? 1.0f : 0.0f)
        << FeatureEncoder::DimensionName(j);
  }
}

TEST(FeatureEncoderTest, Log1pColumnsAreMonotonic) {
  FeatureEncoder encoder;
  encoder.Fit(NormalTrainRows());
  for (int feature : {0, 4, 5, 22, 31}) {
    const int j = ColumnOf(feature);
    ASSERT_GT(encoder.maxs()[j], encoder.mins()[j]) << FeatureName(feature);
    float previous = -1.0f;
    for (double x = 0; x < 1e7; x = x * 1.5 + 1) {
      Record r = MakeRecord("tcp", "http", "SF");
      r.numeric[feature] = x;
      const float value = Encode(encoder, r)[j];
      EXPECT_GE(value, previous) << FeatureName(feature) << " at " << x;
      previous = value;
    }
    EXPECT_EQ(previous, 1.0f) << FeatureName(feature);
  }
  // The log1p transform: src_bytes half way between e^a - 1 and e^b - 1 in
  // log units encodes to 0.5.
  const int j = ColumnOf(4);
  Record mid = MakeRecord("tcp", "http", "SF");
  mid.numeric[4] = std::expm1(0.5 * (encoder.mins()[j] + encoder.maxs()[j]));
  EXPECT_NEAR(Encode(encoder, mid)[j], 0.5f, 1e-5);
  // A rate column is linear.
  const int rate = ColumnOf(24);  // serror_rate
  Record r = MakeRecord("tcp", "http", "SF");
  r.numeric[24] = 0.5 * (encoder.mins()[rate] + encoder.maxs()[rate]);
  EXPECT_NEAR(Encode(encoder, r)[rate], 0.5f, 1e-6);
}

TEST(FeatureEncoderTest, UpdateOnUnfittedEncoderStartsFromRow) {
  FeatureEncoder encoder;
  Record r = MakeRecord("tcp", "http", "SF");
  for (int i = 0; i < kNumFeatures; ++i) {
    if (!IsCategorical(i)) r.numeric[i] = 5 + i;
  }
  encoder.Update(r);
  for (int j = 0; j < kNumNumeric; ++j) {
    EXPECT_EQ(encoder.mins()[j], encoder.maxs()[j]);
    EXPECT_GT(encoder.mins()[j], 0.0) << FeatureEncoder::DimensionName(j);
  }
  EXPECT_DOUBLE_EQ(encoder.mins()[ColumnOf(0)], std::log1p(5.0));
  EXPECT_DOUBLE_EQ(encoder.mins()[ColumnOf(4)], std::log1p(9.0));
  EXPECT_EQ(encoder.mins()[ColumnOf(24)], 29.0);  // serror_rate: identity
  // A second row widens.
  Record small = r;
  small.numeric[4] = 0;
  encoder.Update(small);
  EXPECT_EQ(encoder.mins()[ColumnOf(4)], 0.0);
  EXPECT_DOUBLE_EQ(encoder.maxs()[ColumnOf(4)], std::log1p(9.0));
  EXPECT_EQ(Encode(encoder, r)[ColumnOf(4)], 1.0f);
  EXPECT_EQ(Encode(encoder, small)[ColumnOf(4)], 0.0f);
}

TEST(FeatureEncoderTest, UpdateWidensRanges) {
  FeatureEncoder encoder;
  encoder.Fit(NormalTrainRows());
  const std::vector<double> mins(encoder.mins().begin(), encoder.mins().end());
  const std::vector<double> maxs(encoder.maxs().begin(), encoder.maxs().end());

  // A row inside the range changes nothing.
  encoder.Update(NormalTrainRows().front());
  EXPECT_EQ(encoder.mins(), mins);
  EXPECT_EQ(encoder.maxs(), maxs);

  Record big = MakeRecord("tcp", "http", "SF");
  big.numeric[4] = 1e12;                       // src_bytes
  big.numeric[24] = maxs[ColumnOf(24)] + 1.0;  // serror_rate
  const int num_outbound_cmds = ColumnOf(19);
  big.numeric[19] = 2;
  encoder.Update(big);
  for (int j = 0; j < kNumNumeric; ++j) {
    EXPECT_LE(encoder.mins()[j], mins[j]);
    EXPECT_GE(encoder.maxs()[j], maxs[j]);
  }
  EXPECT_DOUBLE_EQ(encoder.maxs()[ColumnOf(4)], std::log1p(1e12));
  EXPECT_EQ(encoder.maxs()[ColumnOf(24)], maxs[ColumnOf(24)] + 1.0);
  EXPECT_EQ(encoder.maxs()[num_outbound_cmds], 2.0);
  const std::vector<float> v = Encode(encoder, big);
  EXPECT_EQ(v[ColumnOf(4)], 1.0f);
  EXPECT_EQ(v[ColumnOf(24)], 1.0f);
  EXPECT_EQ(v[num_outbound_cmds], 1.0f);
}

TEST(FeatureEncoderTest, FitOnEmptyRowsResets) {
  FeatureEncoder encoder;
  encoder.Fit(NormalTrainRows());
  encoder.Fit({});
  for (int j = 0; j < kNumNumeric; ++j) {
    EXPECT_EQ(encoder.mins()[j], 0.0);
    EXPECT_EQ(encoder.maxs()[j], 0.0);
  }
  Record r = MakeRecord("tcp", "http", "SF");
  r.numeric[4] = 100;
  encoder.Update(r);
  EXPECT_DOUBLE_EQ(encoder.mins()[ColumnOf(4)], std::log1p(100.0));
}

TEST(FeatureEncoderTest, RestoreRoundTrip) {
  FeatureEncoder fitted;
  fitted.Fit(NormalTrainRows());
  const std::vector<double> mins(fitted.mins().begin(), fitted.mins().end());
  const std::vector<double> maxs(fitted.maxs().begin(), fitted.maxs().end());

  FeatureEncoder restored;
  ASSERT_TRUE(restored.Restore(mins, maxs).ok());
  EXPECT_EQ(restored.mins(), fitted.mins());
  EXPECT_EQ(restored.maxs(), fitted.maxs());
  std::vector<float> a(kInputDim);
  std::vector<float> b(kInputDim);
  for (size_t i = 0; i < TestRows().size(); i += 97) {
    fitted.Encode(TestRows()[i], a.data());
    restored.Encode(TestRows()[i], b.data());
    ASSERT_EQ(a, b) << i;
  }
  // A restored encoder counts as fitted: Update widens instead of restarting.
  Record zero = MakeRecord("tcp", "http", "SF");
  restored.Update(zero);
  EXPECT_EQ(restored.maxs(), fitted.maxs());
}

TEST(FeatureEncoderTest, RestoreErrors) {
  FeatureEncoder encoder;
  encoder.Fit(NormalTrainRows());
  const std::vector<double> mins(encoder.mins().begin(), encoder.mins().end());
  const std::vector<double> maxs(encoder.maxs().begin(), encoder.maxs().end());
  const std::vector<double> good_mins(mins.begin(), mins.end());
  const std::vector<double> good_maxs(maxs.begin(), maxs.end());

  auto expect_error = [&](const std::vector<double>& lo,
                          const std::vector<double>& hi,
                          const std::string& part) {
    const absl::Status status = encoder.Restore(lo, hi);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()), HasSubstr(part));
    // A failed Restore leaves the encoder as it was.
    EXPECT_EQ(encoder.mins(), mins);
    EXPECT_EQ(encoder.maxs(), maxs);
  };

  expect_error(std::vector<double>(37, 0.0), good_maxs, "38");
  expect_error(good_mins, std::vector<double>(39, 0.0), "39");
  expect_error({}, {}, "got 0 and 0");

  std::vector<double> bad = good_mins;
  bad[1] = std::numeric_limits<double>::quiet_NaN();
  expect_error(bad, good_maxs, "column 1 (src_bytes): min is not finite");
  bad = good_maxs;
  bad[37] = std::numeric_limits<double>::infinity();
  expect_error(good_mins, bad,
               "column 37 (dst_host_srv_rerror_rate): max is not finite");
  bad = good_mins;
  bad[0] = good_maxs[0] + 1;
  expect_error(bad, good_maxs, "column 0 (duration): min");
  expect_error(bad, good_maxs, "greater than max");

  // min == max is allowed (an empty range).
  EXPECT_TRUE(encoder
                  .Restore(std::vector<double>(kNumNumeric, 1.0),
                           std::vector<double>(kNumNumeric, 1.0))
                  .ok());
  Record r = MakeRecord("tcp", "http", "SF");
  r.numeric.fill(1.0);
  const std::vector<float> v = Encode(encoder, r);
  for (int j = 0; j < kNumNumeric; ++j) EXPECT_EQ(v[j], 0.0f);
}

TEST(FeatureEncoderTest, NonFiniteInputEncodesInRange) {
  FeatureEncoder encoder;
  encoder.Fit(NormalTrainRows());
  Record r = MakeRecord("tcp", "http", "SF");
  r.numeric.fill(std::numeric_limits<double>::quiet_NaN());
  std::vector<float> v = Encode(encoder, r);
  for (int d = 0; d < kInputDim; ++d) {
    EXPECT_GE(v[d], 0.0f);
    EXPECT_LE(v[d], 1.0f);
  }
  r.numeric.fill(-5.0);
  v = Encode(encoder, r);
  for (int j = 0; j < kNumNumeric; ++j) EXPECT_EQ(v[j], 0.0f);
}

}  // namespace
}  // namespace dwae
