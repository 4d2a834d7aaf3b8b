#include "core/encoder.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/encoder_kernels.h"
#include "core/encoder_layout.h"
#include "core/record.h"
#include "core/zeek_features.h"

namespace dwae {
namespace {

using encoder_internal::Log1p;
using encoder_internal::ScaleAndClip;

using encoder_internal::kFlagNames;
using encoder_internal::kProtocolNames;
using encoder_internal::kServiceNames;
using encoder_internal::kZeekFlagNames;

using encoder_internal::NumericFeature;
using encoder_internal::UsesLog1p;

// One numeric input column: where its value comes from and how it scales.
struct Column {
  int source = 0;      // index into Record::numeric, or Record::extra
  bool extra = false;  // source indexes Record::extra
  bool log1p = false;
  // > 0: a fixed scale [0, fixed_max] in transformed units; 0: fitted.
  double fixed_max = 0;
};

struct Layout {
  int num_numeric = 0;
  Column columns[kMaxNumeric];
  // The columns with log1p, in order (Encode applies it to these only), and
  // their sources.
  int num_log1p = 0;
  int log1p_columns[kMaxNumeric];
  int log1p_sources[kMaxNumeric];
};

// Lists the log1p columns of `layout`.
Layout WithLog1pList(Layout layout) {
  for (int j = 0; j < layout.num_numeric; ++j) {
    if (layout.columns[j].log1p) {
      layout.log1p_sources[layout.num_log1p] = layout.columns[j].source;
      layout.log1p_columns[layout.num_log1p++] = j;
    }
  }
  return layout;
}

Layout MakeKddLayout() {
  Layout layout;
  layout.num_numeric = kNumNumeric;
  for (int j = 0; j < kNumNumeric; ++j) {
    layout.columns[j] = {NumericFeature(j), false, UsesLog1p(NumericFeature(j)),
                         0};
  }
  return layout;
}

// The 23 KDD features of the zeek schema, in input order.
constexpr int kZeekKddFeatures[] = {0,  4,  5,  6,  22, 23, 24, 25,
                                    26, 27, 28, 29, 30, 31, 32, 33,
                                    34, 35, 36, 37, 38, 39, 40};
static_assert(sizeof(kZeekKddFeatures) / sizeof(int) + kNumZeekExtras ==
              kZeekNumNumeric);

Layout MakeZeekLayout() {
  Layout layout;
  layout.num_numeric = kZeekNumNumeric;
  int j = 0;
  for (int f : kZeekKddFeatures) {
    Column c{f, false, false, 1.0};  // land and the rates
    if (f == 0 || f == 4 || f == 5) c = {f, false, true, 0};
    if (f == 22 || f == 23) c = {f, false, true, std::log1p(511.0)};
    if (f == 31 || f == 32) c = {f, false, true, std::log1p(100.0)};
    layout.columns[j++] = c;
  }
  for (int e = 0; e < kNumZeekExtras; ++e) {
    Column c{e, true, false, 1.0};  // local_*, history and port bits
    if (e <= kExtraRespIpBytes) c = {e, true, true, 0};
    if (e == kExtraMissedBytes) c = {e, true, true, std::log1p(4294967296.0)};
    layout.columns[j++] = c;
  }
  return layout;
}

const Layout& GetLayout(FeatureSchema schema) {
  static const Layout* const kKdd = new Layout(WithLog1pList(MakeKddLayout()));
  static const Layout* const kZeek =
      new Layout(WithLog1pList(MakeZeekLayout()));
  return schema == FeatureSchema::kZeek ? *kZeek : *kKdd;
}

// Numeric column `c` of `record` in transformed units.
inline double Transformed(const Record& record, const Column& c) {
  const double x = c.extra ? record.extra[c.source] : record.numeric[c.source];
  return c.log1p ? Log1p(x) : x;
}

// First input dimension of each block, per schema.
struct Offsets {
  int protocol, service, flag, num_flags, dim;
};

constexpr Offsets OffsetsOf(FeatureSchema schema) {
  const int numeric =
      schema == FeatureSchema::kZeek ? kZeekNumNumeric : kNumNumeric;
  const int flags = schema == FeatureSchema::kZeek ? kNumZeekFlags : kNumFlags;
  const int protocol = numeric;
  const int service = protocol + kNumProtocols + 1;
  const int flag = service + kNumServices + 1;
  return {protocol, service, flag, flags, flag + flags + 1};
}
static_assert(OffsetsOf(FeatureSchema::kKdd).dim == kInputDim);
static_assert(OffsetsOf(FeatureSchema::kZeek).dim == kZeekInputDim);

// Index into kServiceNames, or kNumServices (the <unknown> slot).
inline int ServiceIndex(absl::string_view value) {
  return encoder_internal::kServiceLookup.Find(value, kNumServices);
}

// Index into kFlagNames, or kNumFlags (the <unknown> slot).
inline int FlagIndex(absl::string_view value) {
  return encoder_internal::kFlagLookup.Find(value, kNumFlags);
}

// Index into kZeekFlagNames, or kNumZeekFlags (the <unknown> slot).
inline int ZeekFlagIndex(absl::string_view value) {
  return encoder_internal::kZeekFlagLookup.Find(value, kNumZeekFlags);
}

// Index into kProtocolNames, or kNumProtocols (the <unknown> slot).
inline int ProtocolIndex(absl::string_view value) {
  return encoder_internal::kProtocolLookup.Find(value, kNumProtocols);
}

}  // namespace

const char* KddServiceNameAt(int index) {
  return index >= 0 && index < kNumServices ? kServiceNames[index] : "?";
}

int KddServiceIndex(absl::string_view name) { return ServiceIndex(name); }

int InputDim(FeatureSchema schema) { return OffsetsOf(schema).dim; }

FeatureEncoder::FeatureEncoder(FeatureSchema schema)
    : schema_(schema), num_numeric_(GetLayout(schema).num_numeric) {
  min_.fill(0.0);
  max_.fill(0.0);
  inv_range_.fill(0.0);
  const Layout& layout = GetLayout(schema_);
  for (int j = 0; j < num_numeric_; ++j) {
    max_[j] = layout.columns[j].fixed_max;
    UpdateInvRange(j);
  }
}

void FeatureEncoder::UpdateInvRange(int j) {
  const double range = max_[j] - min_[j];
  const double inv = range > 0 ? 1.0 / range : 0.0;
  inv_range_[j] = std::isfinite(inv) ? inv : 0.0;
}

void FeatureEncoder::Fit(const std::vector<Record>& rows) {
  const Layout& layout = GetLayout(schema_);
  std::array<bool, kMaxNumeric> seen{};
  for (int j = 0; j < num_numeric_; ++j) {
    if (layout.columns[j].fixed_max > 0) continue;
    min_[j] = max_[j] = 0.0;
  }
  for (const Record& row : rows) {
    for (int j = 0; j < num_numeric_; ++j) {
      const Column& c = layout.columns[j];
      if (c.fixed_max > 0) continue;
      const double t = Transformed(row, c);
      if (!std::isfinite(t)) continue;
      if (!seen[j]) {
        min_[j] = max_[j] = t;
        seen[j] = true;
      } else {
        min_[j] = std::min(min_[j], t);
        max_[j] = std::max(max_[j], t);
      }
    }
  }
  for (int j = 0; j < num_numeric_; ++j) UpdateInvRange(j);
  rows_seen_ = static_cast<int64_t>(rows.size());
}

void FeatureEncoder::Update(const Record& row) {
  const Layout& layout = GetLayout(schema_);
  const bool first = rows_seen_ == 0;
  for (int j = 0; j < num_numeric_; ++j) {
    const Column& c = layout.columns[j];
    if (c.fixed_max > 0) continue;
    const double t = Transformed(row, c);
    if (!std::isfinite(t)) continue;
    if (first) {
      min_[j] = t;
      max_[j] = t;
    } else {
      min_[j] = std::min(min_[j], t);
      max_[j] = std::max(max_[j], t);
    }
    UpdateInvRange(j);
  }
  ++rows_seen_;
}

int FeatureEncoder::quantized_size() const {
  return (input_dim() + 63) / 64 * 64;
}

void FeatureEncoder::Encode(const Record& record, float* out) const {
  if (schema_ == FeatureSchema::kKdd && encoder_internal::UseEncoderAvx512()) {
    EncodeKddVector(record, out, nullptr);
    return;
  }
  EncodeScalar(record, out);
}

void FeatureEncoder::EncodeQuantized(const Record& record, float* out,
                                     uint8_t* quantized) const {
  if (schema_ == FeatureSchema::kKdd && encoder_internal::UseEncoderAvx512()) {
    EncodeKddVector(record, out, quantized);
    return;
  }
  EncodeScalar(record, out);
  const int dim = input_dim();
  for (int c = 0; c < dim; ++c) {
    // QuantizeInput onto [0, 1] (its fused pass's one rounding): v >= 0,
    // so truncating after + 0.5 rounds to nearest.
    quantized[c] = static_cast<uint8_t>(std::fma(out[c], 255.0f, 0.5f));
  }
  std::fill(quantized + dim, quantized + quantized_size(), uint8_t{0});
}

void FeatureEncoder::EncodeKddVector(const Record& record, float* out,
                                     uint8_t* quantized) const {
  if (encoder_internal::EncodeKddAvx512(record, min_.data(), inv_range_.data(),
                                        nullptr, out, quantized)) {
    return;
  }
  // A value the vector encoder leaves to std::log1p: the portable loops'
  // numeric columns, in the vector encoder's layout.
  float numeric[kNumNumeric + 2];
  EncodeNumericScalar(record, numeric);
  encoder_internal::EncodeKddAvx512(record, min_.data(), inv_range_.data(),
                                    numeric, out, quantized);
}

void FeatureEncoder::EncodeScalar(const Record& record, float* out) const {
  EncodeNumericScalar(record, out);
  const Offsets o = OffsetsOf(schema_);
  std::fill(out + num_numeric_, out + o.dim, 0.0f);
  out[o.protocol + ProtocolIndex(record.protocol_type)] = 1.0f;
  out[o.service + ServiceIndex(record.service)] = 1.0f;
  out[o.flag + (schema_ == FeatureSchema::kZeek ? ZeekFlagIndex(record.flag)
                                                : FlagIndex(record.flag))] =
      1.0f;
}

void FeatureEncoder::EncodeNumericScalar(const Record& record,
                                         float* out) const {
  // Simple loops rather than one per-column loop: scale and clip vectorize,
  // log1p runs over its columns only. The arithmetic is the per-column
  // formula's, so the floats are identical.
  const Layout& layout = GetLayout(schema_);
  if (schema_ == FeatureSchema::kKdd) {
    // Columns 1..37 are features 4..40 (NumericFeature): scaled straight
    // from the record, then the log1p columns (column 0 among them) are
    // scaled again from their transformed values.
    static_assert(NumericFeature(1) == 4 &&
                  NumericFeature(kNumNumeric - 1) == kNumFeatures - 1 &&
                  UsesLog1p(NumericFeature(0)));
    ScaleAndClip(record.numeric.data() + NumericFeature(1), min_.data() + 1,
                 inv_range_.data() + 1, kNumNumeric - 1, out + 1);
    encoder_internal::Log1pScaleAndClip(
        record.numeric.data(), layout.log1p_sources, layout.log1p_columns,
        layout.num_log1p, min_.data(), inv_range_.data(), out);
  } else {
    double t[kMaxNumeric];
    for (int j = 0; j < num_numeric_; ++j) {
      const Column& c = layout.columns[j];
      t[j] = c.extra ? record.extra[c.source] : record.numeric[c.source];
    }
    for (int i = 0; i < layout.num_log1p; ++i) {
      const int j = layout.log1p_columns[i];
      t[j] = Log1p(t[j]);
    }
    ScaleAndClip(t, min_.data(), inv_range_.data(), num_numeric_, out);
  }
}

int FeatureEncoder::FeatureOfDimension(int d) {
  constexpr Offsets o = OffsetsOf(FeatureSchema::kKdd);
  if (d < 0 || d >= kInputDim) return -1;
  if (d < o.protocol) return NumericFeature(d);
  if (d < o.service) return kProtocolTypeIndex;
  if (d < o.flag) return kServiceIndex;
  return kFlagIndex;
}

namespace {

std::string NumericName(FeatureSchema schema, int d) {
  const Column& c = GetLayout(schema).columns[d];
  return c.extra ? ZeekExtraName(c.source) : FeatureName(c.source);
}

std::string BuildDimensionName(FeatureSchema schema, int d) {
  const Offsets o = OffsetsOf(schema);
  if (d < o.protocol) return NumericName(schema, d);
  const char* value = "<unknown>";
  const char* feature = "flag";
  if (d < o.service) {
    feature = "protocol_type";
    const int i = d - o.protocol;
    if (i < kNumProtocols) value = kProtocolNames[i];
  } else if (d < o.flag) {
    feature = "service";
    const int i = d - o.service;
    if (i < kNumServices) value = kServiceNames[i];
  } else {
    const int i = d - o.flag;
    if (i < o.num_flags) {
      value =
          schema == FeatureSchema::kZeek ? kZeekFlagNames[i] : kFlagNames[i];
    }
  }
  return absl::StrCat(feature, "=", value);
}

std::vector<std::string>* BuildNames(FeatureSchema schema) {
  auto* names = new std::vector<std::string>();
  for (int i = 0; i < InputDim(schema); ++i) {
    names->push_back(BuildDimensionName(schema, i));
  }
  names->push_back("?");
  return names;
}

}  // namespace

const std::string& FeatureEncoder::DimensionName(FeatureSchema schema, int d) {
  // Built once: explanations ask for names on the scoring path.
  static const std::vector<std::string>* const kKdd =
      BuildNames(FeatureSchema::kKdd);
  static const std::vector<std::string>* const kZeek =
      BuildNames(FeatureSchema::kZeek);
  const std::vector<std::string>& names =
      schema == FeatureSchema::kZeek ? *kZeek : *kKdd;
  const int dim = static_cast<int>(names.size()) - 1;
  return names[d >= 0 && d < dim ? d : dim];
}

bool FeatureEncoder::IsUnknownProtocol(const std::string& value) {
  return ProtocolIndex(value) == kNumProtocols;
}

bool FeatureEncoder::IsUnknownService(const std::string& value) {
  return ServiceIndex(value) == kNumServices;
}

bool FeatureEncoder::IsUnknownFlag(const std::string& value) {
  return FlagIndex(value) == kNumFlags;
}

absl::Status FeatureEncoder::Restore(const std::vector<double>& mins,
                                     const std::vector<double>& maxs) {
  const size_t n = static_cast<size_t>(num_numeric_);
  if (mins.size() != n || maxs.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected ", n, " mins and ", n, " maxs (schema ",
                     FeatureSchemaName(schema_), "), got ", mins.size(),
                     " and ", maxs.size()));
  }
  for (int j = 0; j < num_numeric_; ++j) {
    const std::string column =
        absl::StrCat("column ", j, " (", NumericName(schema_, j), ")");
    if (!std::isfinite(mins[j])) {
      return absl::InvalidArgumentError(
          absl::StrCat(column, ": min is not finite: ", mins[j]));
    }
    if (!std::isfinite(maxs[j])) {
      return absl::InvalidArgumentError(
          absl::StrCat(column, ": max is not finite: ", maxs[j]));
    }
    if (mins[j] > maxs[j]) {
      return absl::InvalidArgumentError(absl::StrCat(
          column, ": min ", mins[j], " is greater than max ", maxs[j]));
    }
  }
  for (int j = 0; j < num_numeric_; ++j) {
    min_[j] = mins[j];
    max_[j] = maxs[j];
    UpdateInvRange(j);
  }
  rows_seen_ = 1;
  return absl::OkStatus();
}

}  // namespace dwae
