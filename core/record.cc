#include "core/record.h"

#include <charconv>
#include <cmath>
#include <string>
#include <system_error>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/record_parse_internal.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace dwae {
namespace {

constexpr const char* kFeatureNames[kNumFeatures] = {
    "duration",
    "protocol_type",
    "service",
    "flag",
    "src_bytes",
    "dst_bytes",
    "land",
    "wrong_fragment",
    "urgent",
    "hot",
    "num_failed_logins",
    "logged_in",
    "num_compromised",
    "root_shell",
    "su_attempted",
    "num_root",
    "num_file_creations",
    "num_shells",
    "num_access_files",
    "num_outbound_cmds",
    "is_host_login",
    "is_guest_login",
    "count",
    "srv_count",
    "serror_rate",
    "srv_serror_rate",
    "rerror_rate",
    "srv_rerror_rate",
    "same_srv_rate",
    "diff_srv_rate",
    "srv_diff_host_rate",
    "dst_host_count",
    "dst_host_srv_count",
    "dst_host_same_srv_rate",
    "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate",
    "dst_host_srv_diff_host_rate",
    "dst_host_serror_rate",
    "dst_host_srv_serror_rate",
    "dst_host_rerror_rate",
    "dst_host_srv_rerror_rate",
};

// Largest accepted numeric value; anything above is treated as garbage.
constexpr double kMaxValue = 1e15;
// Largest accepted difficulty (the number of NSL-KDD learners, 21).
constexpr int kMaxDifficulty = 21;
// Bad values are quoted in error messages up to this many characters.
constexpr size_t kMaxQuotedChars = 32;
// Column numbers (1-based) of the optional trailing fields.
constexpr int kLabelColumn = kNumFeatures + 1;
constexpr int kDifficultyColumn = kNumFeatures + 2;
// Upper bound on the fields we keep track of: 41 features, label,
// difficulty, and one more so that "too many fields" is detectable.
constexpr int kMaxFields = kNumFeatures + 3;

// "'abc'", the value cut to kMaxQuotedChars characters.
std::string Quote(absl::string_view value) {
  if (value.size() <= kMaxQuotedChars) return absl::StrCat("'", value, "'");
  return absl::StrCat("'", value.substr(0, kMaxQuotedChars - 3), "...'");
}

// "field 5 (src_bytes): " for 0-based column `index` (which may be the label
// or difficulty column).
std::string FieldPrefix(int index) {
  const int column = index + 1;
  const char* name = column == kLabelColumn        ? "label"
                     : column == kDifficultyColumn ? "difficulty"
                                                   : FeatureName(index);
  return absl::StrCat("field ", column, " (", name, "): ");
}

absl::Status FieldError(int index, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(FieldPrefix(index), reason));
}

// Checks a parsed or supplied numeric value for feature `index`. `text` is the
// source text, empty when the value did not come from text.
absl::Status CheckNumeric(int index, double value, absl::string_view text) {
  if (!std::isfinite(value)) {
    return FieldError(
        index, absl::StrCat("not finite: ",
                            text.empty() ? absl::StrCat(value) : Quote(text)));
  }
  if (value < 0) {
    return FieldError(index, absl::StrCat("negative value ", value));
  }
  if (value > kMaxValue) {
    return FieldError(
        index,
        absl::StrCat("value ", text.empty() ? absl::StrCat(value) : Quote(text),
                     " exceeds 1e15"));
  }
  return absl::OkStatus();
}

// Parses a numeric field with std::from_chars, which is locale-independent
// and allocation-free.
absl::Status ParseNumeric(int index, absl::string_view text, double* out) {
  if (text.empty()) return FieldError(index, "empty");
  double value = 0;
  const char* const begin = text.data();
  const char* const end = begin + text.size();
  const std::from_chars_result result = std::from_chars(begin, end, value);
  if (result.ec == std::errc::result_out_of_range && result.ptr == end) {
    return FieldError(index, absl::StrCat("out of range: ", Quote(text)));
  }
  if (result.ec != std::errc() || result.ptr != end) {
    return FieldError(index, absl::StrCat("not a number: ", Quote(text)));
  }
  // Normalises -0 to +0.
  *out = value + 0.0;
  return CheckNumeric(index, *out, text);
}

absl::Status ParseDifficulty(absl::string_view text, int* out) {
  constexpr int kIndex = kDifficultyColumn - 1;
  int value = 0;
  const char* const begin = text.data();
  const char* const end = begin + text.size();
  const std::from_chars_result result = std::from_chars(begin, end, value);
  if (text.empty() || result.ec != std::errc() || result.ptr != end) {
    return FieldError(kIndex, absl::StrCat("not an integer: ", Quote(text)));
  }
  if (value < 0 || value > kMaxDifficulty) {
    return FieldError(kIndex, absl::StrCat("value ", value, " outside [0, ",
                                           kMaxDifficulty, "]"));
  }
  *out = value;
  return absl::OkStatus();
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
         c == '\f';
}

absl::string_view Trim(absl::string_view s) {
  size_t begin = 0;
  size_t end = s.size();
  while (begin < end && IsSpace(s[begin])) ++begin;
  while (end > begin && IsSpace(s[end - 1])) --end;
  return s.substr(begin, end - begin);
}

// Trim for a field, which rarely has spaces: one test of each end first.
inline absl::string_view TrimField(absl::string_view s) {
  if (s.empty() || (s.front() > ' ' && s.back() > ' ')) return s;
  return Trim(s);
}

}  // namespace

absl::StatusOr<RecordFormat> ParseRecordFormat(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "nsl-kdd") return RecordFormat::kNslKdd;
  if (lower == "kdd99") return RecordFormat::kKdd99;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown record format ", Quote(name), " (expected nsl-kdd or kdd99)"));
}

const char* FeatureName(int index) {
  if (index < 0 || index >= kNumFeatures) return "?";
  return kFeatureNames[index];
}

bool IsCategorical(int index) {
  return index == kProtocolTypeIndex || index == kServiceIndex ||
         index == kFlagIndex;
}

absl::Status ValidateRecord(const Record& record) {
  // One branch-free pass first: when every slot is in [0, 1e15] (false for
  // NaN and inf), every numeric feature passes CheckNumeric. Only a record
  // with a bad value, or junk in a categorical slot (not checked), takes the
  // per-field loop, which names the field. A streamed record spent about 100 ns
  // in the loop's 38 out-of-line calls.
  static_assert(kNumFeatures == 41);
  bool all_in_range = true;
  int i = 0;
#if defined(__AVX2__)
  // Four slots at a time (ordered compares: false for NaN).
  __m256d in_range = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
  for (; i + 4 <= kNumFeatures; i += 4) {
    const __m256d v = _mm256_loadu_pd(record.numeric.data() + i);
    in_range = _mm256_and_pd(
        in_range,
        _mm256_and_pd(_mm256_cmp_pd(v, _mm256_setzero_pd(), _CMP_GE_OQ),
                      _mm256_cmp_pd(v, _mm256_set1_pd(kMaxValue), _CMP_LE_OQ)));
  }
  all_in_range = _mm256_movemask_pd(in_range) == 0xF;
#endif
  for (; i < kNumFeatures; ++i) {
    const double v = record.numeric[i];
    all_in_range &= (v >= 0) & (v <= kMaxValue);
  }
  if (!all_in_range) {
    for (int i = 0; i < kNumFeatures; ++i) {
      if (IsCategorical(i)) continue;
      absl::Status status = CheckNumeric(i, record.numeric[i], "");
      if (!status.ok()) return status;
    }
  }
  if (record.protocol_type.empty())
    return FieldError(kProtocolTypeIndex, "empty");
  if (record.service.empty()) return FieldError(kServiceIndex, "empty");
  if (record.flag.empty()) return FieldError(kFlagIndex, "empty");
  return absl::OkStatus();
}

namespace record_internal {

absl::StatusOr<Record> ParseRecordLineReference(absl::string_view line,
                                                RecordFormat format) {
  if (line.size() > kMaxLineBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "line is ", line.size(), " bytes, limit is ", kMaxLineBytes));
  }
  line = Trim(line);
  if (line.empty()) return absl::InvalidArgumentError("empty line");

  // Split on ',' in one pass without allocating; fields past kMaxFields are
  // only counted.
  absl::string_view fields[kMaxFields];
  int num_fields = 0;
  const char* const end = line.data() + line.size();
  const char* field_start = line.data();
  for (const char* c = field_start;; ++c) {
    if (c != end && *c != ',') continue;
    if (num_fields < kMaxFields) {
      fields[num_fields] = TrimField(
          absl::string_view(field_start, static_cast<size_t>(c - field_start)));
    }
    ++num_fields;
    if (c == end) break;
    field_start = c + 1;
  }
  const int max_fields =
      format == RecordFormat::kNslKdd ? kNumFeatures + 2 : kNumFeatures + 1;
  if (num_fields < kNumFeatures || num_fields > max_fields) {
    return absl::InvalidArgumentError(absl::StrCat(
        "line has ", num_fields, " fields, expected ", kNumFeatures,
        format == RecordFormat::kNslKdd ? " (+ label, + difficulty)"
                                        : " (+ label)"));
  }

  Record record;
  for (int i = 0; i < kNumFeatures; ++i) {
    const absl::string_view field = fields[i];
    if (IsCategorical(i)) {
      if (field.empty()) return FieldError(i, "empty");
      std::string& target = i == kProtocolTypeIndex ? record.protocol_type
                            : i == kServiceIndex    ? record.service
                                                    : record.flag;
      target.assign(field.data(), field.size());
      continue;
    }
    absl::Status status = ParseNumeric(i, field, &record.numeric[i]);
    if (!status.ok()) return status;
  }
  if (num_fields > kNumFeatures) {
    absl::string_view label = fields[kLabelColumn - 1];
    if (format == RecordFormat::kKdd99 && !label.empty() &&
        label.back() == '.') {
      label.remove_suffix(1);
      // "normal ." is "normal": trim again what the dot hid.
      label = absl::StripTrailingAsciiWhitespace(label);
    }
    if (label.empty()) return FieldError(kLabelColumn - 1, "empty");
    record.label.assign(label.data(), label.size());
  }
  if (num_fields > kNumFeatures + 1) {
    absl::Status status =
        ParseDifficulty(fields[kDifficultyColumn - 1], &record.difficulty);
    if (!status.ok()) return status;
  }
  return record;
}

}  // namespace record_internal

absl::StatusOr<Record> ParseRecordLine(absl::string_view line,
                                       RecordFormat format) {
  // One result constructed in place and returned by every path, so that
  // nothing copies the record.
  absl::StatusOr<Record> result(absl::in_place);
  if (line.empty() || line.size() > kMaxLineBytes || IsSpace(line.front()) ||
      IsSpace(line.back()) ||
      !record_internal::ParseWellFormedLine(line, format, &*result)) {
    result = record_internal::ParseRecordLineReference(line, format);
  }
  return result;
}

}  // namespace dwae
