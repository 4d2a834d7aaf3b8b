// Connection records in the NSL-KDD / KDD Cup 99 layout and their text parser.
//
// A Record holds the 41 features of one connection: 38 numeric ones in
// `numeric` (indexed by feature index, the three categorical slots left 0) and
// the three categorical ones as strings. It is also the model's input row for
// the other feature schema (feature_schema.h): a ZeekFeatureExtractor
// (zeek_features.h) fills a Record with schema kZeek, the flow-measurable
// KDD features in `numeric` (the payload features 9-21 stay 0 and are not
// encoded) and Zeek's own extras in `extra`. A parse error names the field by
// its 1-based column and its NSL-KDD name, and says why, e.g.
//   "field 5 (src_bytes): not a number: 'abc'".
//
// Thread-safety: everything here is a value type or a pure function.
#ifndef DWAE_CORE_RECORD_H_
#define DWAE_CORE_RECORD_H_

#include <array>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/connection.h"
#include "core/feature_schema.h"

namespace dwae {

inline constexpr int kNumFeatures = 41;
// 0-based indices of the categorical features.
inline constexpr int kProtocolTypeIndex = 1;
inline constexpr int kServiceIndex = 2;
inline constexpr int kFlagIndex = 3;
// Lines longer than this are refused before they are split.
inline constexpr size_t kMaxLineBytes = 4096;
// Size of Record::extra (the Zeek extras, ZeekExtra in zeek_features.h).
inline constexpr int kNumZeekExtras = 35;

enum class RecordFormat {
  kNslKdd,  // 41 features[,label[,difficulty]]
  kKdd99,   // 41 features[,label.]  (the label ends with a dot)
};

// Parses "nsl-kdd" or "kdd99".
absl::StatusOr<RecordFormat> ParseRecordFormat(absl::string_view name);

struct Record {
  // Which features this row holds; kKdd for everything parsed from KDD text.
  FeatureSchema schema = FeatureSchema::kKdd;
  // numeric[i] is feature i for every non-categorical i; finite and >= 0.
  std::array<double, kNumFeatures> numeric{};
  // kZeek only (0 for kKdd): Zeek's extras, indexed by ZeekExtra.
  std::array<double, kNumZeekExtras> extra{};
  std::string protocol_type;
  std::string service;
  std::string flag;
  // Empty when the line carries no label. Trailing '.' of KDD99 removed.
  std::string label;
  // -1 when absent.
  int difficulty = -1;

  // kKdd: any label counts, "normal" is normal. kZeek: "Benign" is normal,
  // "Malicious..." an attack, anything else unlabeled (connection.h).
  bool has_label() const {
    return schema == FeatureSchema::kKdd
               ? !label.empty()
               : ZeekLabelKind(label) != LabelKind::kUnlabeled;
  }
  bool is_normal() const {
    return schema == FeatureSchema::kKdd
               ? label == "normal"
               : ZeekLabelKind(label) == LabelKind::kNormal;
  }
};

// Name of feature `index` (0-based), e.g. FeatureName(4) == "src_bytes".
// Returns "?" for an index out of range.
const char* FeatureName(int index);

// True for the 0-based indices 1, 2 and 3.
bool IsCategorical(int index);

// Checks a record that did not come from text (e.g. from the wire): every
// numeric feature finite, >= 0 and not absurdly large (<= 1e15), categorical
// strings non-empty. Errors name the field as ParseRecordLine does.
absl::Status ValidateRecord(const Record& record);

// Parses one line. Surrounding whitespace and a trailing '\r' are ignored.
// Errors: empty line, line over kMaxLineBytes, wrong field count, a numeric
// field that is not a number, not finite, negative or > 1e15, an empty
// categorical field, a difficulty that is not an integer.
absl::StatusOr<Record> ParseRecordLine(absl::string_view line,
                                       RecordFormat format);

}  // namespace dwae

#endif  // DWAE_CORE_RECORD_H_
