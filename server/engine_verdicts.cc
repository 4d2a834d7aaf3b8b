#include "server/engine_verdicts.h"

#include <array>
#include <cstring>

#include "core/encoder.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace dwae::server {
namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedOutputStream;

// Field numbers (proto/dwae/v1/detector.proto); all below 16, so every tag
// is one byte.
enum VerdictField : int {
  kId = 1,
  kSensorId = 2,
  kScore = 3,
  kThreshold = 4,
  kAnomalous = 5,
  kTopFeatures = 6,
  kLearned = 7,
  kLabel = 8,
  kErrorCode = 9,
  kErrorMessage = 10,
  kSequence = 11,
  kScoredAt = 12,
  kModelVersion = 13,
  kWarmingUp = 14,
};
enum FeatureField : int {
  kFeature = 1,
  kSquaredError = 2,
  kValue = 3,
  kReconstruction = 4,
};
constexpr int kBatchVerdicts = 1;

// proto3 writes a double unless its bits are all zero (-0.0 is written).
bool Present(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof(bits));
  return bits != 0;
}

size_t StringField(const std::string& s) {
  return s.empty() ? 0 : 1 + WireFormatLite::StringSize(s);
}
size_t DoubleField(double d) { return Present(d) ? 1 + 8 : 0; }
size_t BoolField(bool b) { return b ? 2 : 0; }
size_t UInt64Field(uint64_t v) {
  return v == 0 ? 0 : 1 + WireFormatLite::UInt64Size(v);
}
size_t Nested(size_t size) {
  return 1 + CodedOutputStream::VarintSize32(uint32_t(size)) + size;
}

// Inline (protobuf's WriteStringToArray calls out of line, six times a
// verdict): the same bytes, with the one-byte tag that StringField counts.
template <int kField>
uint8_t* WriteString(const std::string& s, uint8_t* p) {
  static_assert(kField > 0 && kField < 16, "the tag must be one byte");
  if (s.empty()) return p;
  *p++ = uint8_t(kField << 3 | WireFormatLite::WIRETYPE_LENGTH_DELIMITED);
  p = CodedOutputStream::WriteVarint32ToArray(uint32_t(s.size()), p);
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}
uint8_t* WriteDouble(int field, double d, uint8_t* p) {
  return Present(d) ? WireFormatLite::WriteDoubleToArray(field, d, p) : p;
}
uint8_t* WriteBool(int field, bool b, uint8_t* p) {
  return b ? WireFormatLite::WriteBoolToArray(field, b, p) : p;
}
uint8_t* WriteUInt64(int field, uint64_t v, uint8_t* p) {
  return v == 0 ? p : WireFormatLite::WriteUInt64ToArray(field, v, p);
}
uint8_t* WriteHeader(int field, size_t size, uint8_t* p) {
  p = WireFormatLite::WriteTagToArray(
      field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, p);
  return CodedOutputStream::WriteVarint32ToArray(uint32_t(size), p);
}

// A row's encoded sizes, computed once by RowSize for WriteRow.
struct Sizes {
  size_t verdict = 0;
  size_t scored_at = 0;
  std::array<size_t, kMaxTopK> features{};
};

// The names of a schema's dimensions, looked up once per batch instead of
// twice per top feature.
using Names = std::vector<const std::string*>;

const Names& DimensionNames(FeatureSchema schema) {
  thread_local Names names;
  thread_local FeatureSchema cached = FeatureSchema::kKdd;
  if (names.empty() || cached != schema) {
    names.resize(size_t(InputDim(schema)));
    for (size_t d = 0; d < names.size(); ++d) {
      names[d] = &FeatureEncoder::DimensionName(schema, int(d));
    }
    cached = schema;
  }
  return names;
}

size_t FeatureSize(const FeatureDeviation& d, const std::string& name) {
  return StringField(name) + DoubleField(d.squared_error) +
         DoubleField(d.value) + DoubleField(d.reconstruction);
}

size_t TimestampSize(int64_t ns) {
  const UnixTime t = SplitUnixNanos(ns);
  return (t.seconds == 0 ? 0 : 1 + WireFormatLite::Int64Size(t.seconds)) +
         (t.nanos == 0 ? 0 : 1 + WireFormatLite::Int32Size(t.nanos));
}

// Fills *s in place (a returned Sizes was zeroed and copied, 272 bytes a
// row); features[i] only for the row's top features.
void RowSize(const VerdictRow& row, const Names& names, Sizes* s) {
  s->verdict = StringField(*row.id) + StringField(*row.sensor_id);
  s->scored_at = 0;
  if (!row.valid()) {
    s->verdict += 1 + WireFormatLite::Int32Size(row.error_code) +
                  StringField(row.error_message);
    return;
  }
  s->verdict += DoubleField(row.score) + DoubleField(row.threshold) +
                BoolField(row.anomalous) + BoolField(row.learned) +
                StringField(row.label) + UInt64Field(row.sequence) +
                UInt64Field(row.model_version) + BoolField(row.warming_up);
  for (int i = 0; i < row.num_top; ++i) {
    const FeatureDeviation& d = row.top[i];
    s->features[size_t(i)] = FeatureSize(d, *names[size_t(d.dimension)]);
    s->verdict += Nested(s->features[size_t(i)]);
  }
  s->scored_at = TimestampSize(row.scored_at_ns);
  s->verdict += Nested(s->scored_at);
}

uint8_t* WriteRow(const VerdictRow& row, const Sizes& sizes, const Names& names,
                  uint8_t* p) {
  p = WriteHeader(kBatchVerdicts, sizes.verdict, p);
  p = WriteString<kId>(*row.id, p);
  p = WriteString<kSensorId>(*row.sensor_id, p);
  if (!row.valid()) {
    p = WireFormatLite::WriteInt32ToArray(kErrorCode, row.error_code, p);
    return WriteString<kErrorMessage>(row.error_message, p);
  }
  p = WriteDouble(kScore, row.score, p);
  p = WriteDouble(kThreshold, row.threshold, p);
  p = WriteBool(kAnomalous, row.anomalous, p);
  for (int i = 0; i < row.num_top; ++i) {
    const FeatureDeviation& d = row.top[i];
    const std::string& name = *names[size_t(d.dimension)];
    p = WriteHeader(kTopFeatures, sizes.features[size_t(i)], p);
    p = WriteString<kFeature>(name, p);
    p = WriteDouble(kSquaredError, d.squared_error, p);
    p = WriteDouble(kValue, d.value, p);
    p = WriteDouble(kReconstruction, d.reconstruction, p);
  }
  p = WriteBool(kLearned, row.learned, p);
  p = WriteString<kLabel>(row.label, p);
  p = WriteUInt64(kSequence, row.sequence, p);
  p = WriteHeader(kScoredAt, sizes.scored_at, p);
  const UnixTime at = SplitUnixNanos(row.scored_at_ns);
  if (at.seconds != 0) p = WireFormatLite::WriteInt64ToArray(1, at.seconds, p);
  if (at.nanos != 0) p = WireFormatLite::WriteInt32ToArray(2, at.nanos, p);
  p = WriteUInt64(kModelVersion, row.model_version, p);
  return WriteBool(kWarmingUp, row.warming_up, p);
}

}  // namespace

void VerdictRowToProto(const VerdictRow& row, FeatureSchema schema,
                       v1::Verdict* out) {
  out->set_id(*row.id);
  out->set_sensor_id(*row.sensor_id);
  if (!row.valid()) {
    out->set_error_code(row.error_code);
    out->set_error_message(row.error_message);
    return;
  }
  out->set_score(row.score);
  out->set_threshold(row.threshold);
  out->set_anomalous(row.anomalous);
  for (int i = 0; i < row.num_top; ++i) {
    const FeatureDeviation& d = row.top[i];
    v1::FeatureDeviation* f = out->add_top_features();
    f->set_feature(FeatureEncoder::DimensionName(schema, d.dimension));
    f->set_squared_error(d.squared_error);
    f->set_value(d.value);
    f->set_reconstruction(d.reconstruction);
  }
  out->set_learned(row.learned);
  out->set_label(row.label);
  out->set_sequence(row.sequence);
  SetTimestamp(row.scored_at_ns, out->mutable_scored_at());
  out->set_model_version(row.model_version);
  out->set_warming_up(row.warming_up);
}

void WriteVerdictBatchWire(const VerdictRow* rows, size_t n,
                           FeatureSchema schema,
                           absl::FunctionRef<char*(size_t)> allocate) {
  const Names& names = DimensionNames(schema);
  thread_local std::vector<Sizes> sizes;
  sizes.resize(n);
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    RowSize(rows[i], names, &sizes[i]);
    total += Nested(sizes[i].verdict);
  }
  uint8_t* p = reinterpret_cast<uint8_t*>(allocate(total));
  for (size_t i = 0; i < n; ++i) p = WriteRow(rows[i], sizes[i], names, p);
}

void AppendVerdictBatchWire(const VerdictRow* rows, size_t n,
                            FeatureSchema schema, std::string* out) {
  WriteVerdictBatchWire(rows, n, schema, [out](size_t size) {
    const size_t start = out->size();
    out->resize(start + size);
    return &(*out)[start];
  });
}

}  // namespace dwae::server
