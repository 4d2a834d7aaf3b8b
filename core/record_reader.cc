#include "core/record_reader.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace dwae {
namespace {

// Field `index` (0-based) of a comma-separated line, or "" past the end.
absl::string_view CommaField(absl::string_view line, int index) {
  size_t start = 0;
  for (int i = 0; i < index; ++i) {
    const size_t comma = line.find(',', start);
    if (comma == absl::string_view::npos) return "";
    start = comma + 1;
  }
  const size_t comma = line.find(',', start);
  return absl::StripAsciiWhitespace(line.substr(
      start, comma == absl::string_view::npos ? line.npos : comma - start));
}

// Parses into the Connection alternative, reusing it when `entry` already
// holds one.
template <typename Parser>
absl::StatusOr<bool> ParseConnection(Parser& parser, absl::string_view line,
                                     Entry* entry) {
  Connection* c = std::get_if<Connection>(entry);
  if (c == nullptr) c = &entry->emplace<Connection>();
  return parser.ParseLine(line, c);
}

}  // namespace

absl::StatusOr<InputFormat> ParseInputFormat(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "auto") return InputFormat::kAuto;
  if (lower == "nsl-kdd") return InputFormat::kNslKdd;
  if (lower == "kdd99") return InputFormat::kKdd99;
  if (lower == "zeek") return InputFormat::kZeek;
  if (lower == "zeek-json") return InputFormat::kZeekJson;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown record format '", name,
                   "' (expected auto, nsl-kdd, kdd99, zeek or zeek-json)"));
}

const char* InputFormatName(InputFormat format) {
  switch (format) {
    case InputFormat::kAuto:
      return "auto";
    case InputFormat::kNslKdd:
      return "nsl-kdd";
    case InputFormat::kKdd99:
      return "kdd99";
    case InputFormat::kZeek:
      return "zeek";
    case InputFormat::kZeekJson:
      return "zeek-json";
  }
  return "?";
}

absl::StatusOr<InputFormat> DetectInputFormat(absl::string_view line) {
  line = absl::StripAsciiWhitespace(line);
  if (absl::StartsWith(line, "#")) return InputFormat::kZeek;
  if (absl::StartsWith(line, "{")) return InputFormat::kZeekJson;
  const size_t commas = std::count(line.begin(), line.end(), ',');
  if (commas + 1 >= static_cast<size_t>(kNumFeatures)) {
    const absl::string_view label = CommaField(line, kNumFeatures);
    if (!label.empty() && label.back() == '.') return InputFormat::kKdd99;
    return InputFormat::kNslKdd;
  }
  std::string start(line.substr(0, 40));
  return absl::InvalidArgumentError(absl::StrCat(
      "cannot detect the record format from the first line '", start,
      line.size() > 40 ? "...'" : "'",
      "': expected a Zeek header (#separator), a JSON object ({) or ",
      kNumFeatures, " comma-separated KDD fields; use --format"));
}

std::optional<FeatureSchema> SchemaOfFormat(InputFormat format) {
  switch (format) {
    case InputFormat::kNslKdd:
    case InputFormat::kKdd99:
      return FeatureSchema::kKdd;
    case InputFormat::kZeek:
    case InputFormat::kZeekJson:
      return FeatureSchema::kZeek;
    case InputFormat::kAuto:
      break;
  }
  return std::nullopt;
}

RecordFormat KddRecordFormat(InputFormat format) {
  return format == InputFormat::kKdd99 ? RecordFormat::kKdd99
                                       : RecordFormat::kNslKdd;
}

bool EntryIsNormal(const Entry& entry) {
  if (const Record* r = std::get_if<Record>(&entry)) return r->is_normal();
  return std::get<Connection>(entry).label_kind() == LabelKind::kNormal;
}

bool EntryHasLabel(const Entry& entry) {
  if (const Record* r = std::get_if<Record>(&entry)) return r->has_label();
  return std::get<Connection>(entry).label_kind() != LabelKind::kUnlabeled;
}

RecordReader::RecordReader(InputFormat format) : format_(format) {}

absl::StatusOr<bool> RecordReader::Next(absl::string_view line, Entry* entry) {
  if (format_ == InputFormat::kAuto) {
    if (absl::StripAsciiWhitespace(line).empty()) return false;
    absl::StatusOr<InputFormat> detected = DetectInputFormat(line);
    if (!detected.ok()) return detected.status();
    format_ = *detected;
  }
  switch (format_) {
    case InputFormat::kZeek:
      return ParseConnection(tsv_, line, entry);
    case InputFormat::kZeekJson:
      return ParseConnection(json_, line, entry);
    default:
      break;
  }
  if (absl::StripAsciiWhitespace(line).empty()) return false;
  absl::StatusOr<Record> record =
      ParseRecordLine(line, KddRecordFormat(format_));
  if (!record.ok()) return record.status();
  *entry = *std::move(record);
  return true;
}

}  // namespace dwae
