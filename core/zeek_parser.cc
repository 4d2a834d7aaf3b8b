// The TSV parser and the pieces both parsers share (column names, ISO time).
#include "core/zeek_parser.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/name_index.h"
#include "core/zeek_values.h"

namespace dwae {
namespace {

constexpr const char* kColumnNames[kNumZeekColumns] = {
    "ts",         "uid",        "id.orig_h",     "id.orig_p",  "id.resp_h",
    "id.resp_p",  "proto",      "service",       "duration",   "orig_bytes",
    "resp_bytes", "conn_state", "local_orig",    "local_resp", "missed_bytes",
    "history",    "orig_pkts",  "orig_ip_bytes", "resp_pkts",  "resp_ip_bytes",
    "label",
};

constexpr const char* kDefaultSeparator = "\t";
constexpr const char* kDefaultSetSeparator = ",";
constexpr const char* kDefaultEmptyField = "(empty)";
constexpr const char* kDefaultUnsetField = "-";

// Splits `line` on `sep` (non-empty) into `parts` (cleared first).
void Split(absl::string_view line, absl::string_view sep,
           std::vector<absl::string_view>* parts) {
  parts->clear();
  size_t start = 0;
  while (true) {
    const size_t at = line.find(sep, start);
    if (at == absl::string_view::npos) {
      parts->push_back(line.substr(start));
      return;
    }
    parts->push_back(line.substr(start, at - start));
    start = at + sep.size();
  }
}

size_t CountColumns(absl::string_view line, absl::string_view sep) {
  size_t columns = 1;
  for (size_t at = line.find(sep); at != absl::string_view::npos;
       at = line.find(sep, at + sep.size())) {
    ++columns;
  }
  return columns;
}

absl::Status ColumnCountError(size_t columns, size_t declared) {
  return absl::InvalidArgumentError(absl::StrCat(
      "line has ", columns, " columns, #fields declares ", declared));
}

}  // namespace

const char* ZeekColumnName(ZeekColumn column) {
  const int i = static_cast<int>(column);
  return i >= 0 && i < kNumZeekColumns ? kColumnNames[i] : "?";
}

bool IsRequiredZeekColumn(ZeekColumn column) {
  switch (column) {
    case ZeekColumn::kTs:
    case ZeekColumn::kOrigH:
    case ZeekColumn::kOrigP:
    case ZeekColumn::kRespH:
    case ZeekColumn::kRespP:
    case ZeekColumn::kProto:
    case ZeekColumn::kConnState:
      return true;
    default:
      return false;
  }
}

int ZeekColumnFromName(absl::string_view name) {
  // Looked up for every key of every JSON line: a hash probe, not a scan
  // of strcmp's.
  static constexpr NameIndex kIndex(kColumnNames);
  static_assert(sizeof(kColumnNames) / sizeof(kColumnNames[0]) ==
                kNumZeekColumns);
  return kIndex.Find(name, -1);
}

absl::StatusOr<double> ParseIsoTime(absl::string_view text) {
  absl::Time time;
  std::string error;
  // With an offset or 'Z' first, then without one (taken as UTC).
  for (const char* format :
       {"%Y-%m-%d%ET%H:%M:%E*S%Ez", "%Y-%m-%d%ET%H:%M:%E*S"}) {
    if (absl::ParseTime(format, text, &time, &error)) {
      return absl::ToDoubleSeconds(time - absl::UnixEpoch());
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("not an ISO 8601 time: ", QuoteValue(text)));
}

ZeekTsvParser::ZeekTsvParser()
    : separator_(kDefaultSeparator),
      set_separator_(kDefaultSetSeparator),
      empty_field_(kDefaultEmptyField),
      unset_field_(kDefaultUnsetField),
      fields_error_("no #fields header before this line") {}

absl::StatusOr<bool> ZeekTsvParser::ParseLine(absl::string_view line,
                                              Connection* out) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > kMaxZeekLineBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "line is ", line.size(), " bytes, limit is ", kMaxZeekLineBytes));
  }
  if (line.empty()) return false;
  if (line[0] == '#') {
    absl::Status status = ParseHeader(line);
    if (!status.ok()) return status;
    return false;
  }
  if (absl::StripAsciiWhitespace(line).empty()) return false;
  absl::Status status = ParseData(line, out);
  if (!status.ok()) return status;
  return true;
}

absl::Status ZeekTsvParser::ParseHeader(absl::string_view line) {
  constexpr absl::string_view kSeparatorKey = "#separator";
  if (absl::StartsWith(line, kSeparatorKey)) {
    absl::string_view value = line.substr(kSeparatorKey.size());
    if (value.empty() || (value[0] != ' ' && value[0] != '\t')) {
      return absl::InvalidArgumentError(
          "#separator: expected '#separator <value>'");
    }
    std::string decoded;
    DecodeEscapes(value.substr(1), &decoded);
    if (decoded.empty()) {
      return absl::InvalidArgumentError("#separator: empty separator");
    }
    // A new block: Zeek's defaults until its own header lines say otherwise.
    separator_ = decoded;
    set_separator_ = kDefaultSetSeparator;
    empty_field_ = kDefaultEmptyField;
    unset_field_ = kDefaultUnsetField;
    path_.clear();
    column_.clear();
    fields_ok_ = false;
    fields_error_ = "no #fields header in this block";
    return absl::OkStatus();
  }
  std::vector<absl::string_view> parts;
  Split(line.substr(1), separator_, &parts);
  const absl::string_view key = parts[0];
  const bool has_value = parts.size() >= 2;
  std::string* target = key == "set_separator" ? &set_separator_
                        : key == "empty_field" ? &empty_field_
                        : key == "unset_field" ? &unset_field_
                        : key == "path"        ? &path_
                                               : nullptr;
  if (target != nullptr) {
    if (!has_value) {
      return absl::InvalidArgumentError(absl::StrCat("#", key, ": no value"));
    }
    DecodeEscapes(parts[1], target);
    return absl::OkStatus();
  }
  if (key == "fields") {
    parts.erase(parts.begin());
    return SetFields(parts);
  }
  // #open, #close, #types and other comments carry nothing we need.
  return absl::OkStatus();
}

absl::Status ZeekTsvParser::SetFields(
    const std::vector<absl::string_view>& names) {
  column_.assign(names.size(), -1);
  bool seen[kNumZeekColumns] = {};
  for (size_t i = 0; i < names.size(); ++i) {
    const int column = ZeekColumnFromName(names[i]);
    if (column < 0 || seen[column]) continue;  // extra or repeated: ignored
    seen[column] = true;
    column_[i] = column;
  }
  for (int c = 0; c < kNumZeekColumns; ++c) {
    if (!seen[c] && IsRequiredZeekColumn(static_cast<ZeekColumn>(c))) {
      fields_ok_ = false;
      fields_error_ =
          absl::StrCat("no usable #fields header: missing required column '",
                       kColumnNames[c], "'");
      return absl::InvalidArgumentError(absl::StrCat(
          "#fields: missing required column '", kColumnNames[c], "'"));
    }
  }
  fields_ok_ = true;
  fields_error_.clear();
  return absl::OkStatus();
}

absl::Status ZeekTsvParser::ParseData(absl::string_view line, Connection* out) {
  if (!fields_ok_) return absl::InvalidArgumentError(fields_error_);
  out->Clear();
  const ZeekValueSyntax syntax{empty_field_, unset_field_};
  const size_t num_columns = column_.size();
  size_t index = 0;
  size_t start = 0;
  const bool single = separator_.size() == 1;
  const char sep = separator_[0];
  while (true) {
    size_t at = absl::string_view::npos;
    if (single) {
      // Fields are short: a plain loop beats a memchr call per field.
      for (size_t k = start; k < line.size(); ++k) {
        if (line[k] == sep) {
          at = k;
          break;
        }
      }
    } else {
      at = line.find(separator_, start);
    }
    const size_t stop = at == absl::string_view::npos ? line.size() : at;
    if (index < num_columns && column_[index] >= 0) {
      const absl::string_view text = line.substr(start, stop - start);
      absl::Status status = SetZeekValue(
          static_cast<ZeekColumn>(column_[index]), text, syntax, out);
      if (!status.ok()) {
        // A line of the wrong shape is reported as such, not by the first
        // value that happens not to fit.
        const size_t columns = CountColumns(line, separator_);
        if (columns != num_columns)
          return ColumnCountError(columns, num_columns);
        return absl::InvalidArgumentError(absl::StrCat(
            "column ", index + 1, " (", kColumnNames[column_[index]],
            "): ", status.message()));
      }
    }
    ++index;
    if (at == absl::string_view::npos) break;
    start = at + separator_.size();
  }
  if (index != num_columns) return ColumnCountError(index, num_columns);
  return absl::OkStatus();
}

}  // namespace dwae
