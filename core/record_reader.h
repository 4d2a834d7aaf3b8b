// RecordReader: the one way every command and the daemon turn text lines of
// any supported format into core entries.
//
// Formats (InputFormat; the flag spelling in quotes) and what they give:
//   "nsl-kdd"    41 comma-separated features[,label[,difficulty]]: Record
//   "kdd99"      41 features[,label.]: Record
//   "zeek"       Zeek conn.log, ASCII/TSV with header blocks: Connection
//   "zeek-json"  Zeek conn.log, one JSON object per line: Connection
//   "auto"       decided by the first non-blank line: '#' is zeek, '{' is
//                zeek-json, otherwise comma-separated KDD fields (kdd99 when
//                the 42nd field ends with '.', else nsl-kdd).
// An Entry is either a Record (KDD features, schema kKdd, see record.h) or
// a Connection (connection.h), which becomes model features only through a
// per-sensor ZeekFeatureExtractor (zeek_features.h) because its time and
// host features depend on the connections before it.
//
// Usage (one reader per input stream: a Zeek file's header state lives in
// it; a rotated Zeek file starts with a fresh header, which the reader
// handles without being reset):
//   RecordReader reader(InputFormat::kAuto);
//   Entry entry;
//   for each line:
//     absl::StatusOr<bool> got = reader.Next(line, &entry);
//     if (!got.ok()) { report "LINE: " + got.status(); continue; }
//     if (!*got) continue;                 // blank, header or comment
//     if (auto* r = std::get_if<Record>(&entry)) ...
//     if (auto* c = std::get_if<Connection>(&entry)) ...
// Errors name the field or column and the reason (the parsers' messages,
// record.h and zeek_parser.h). Reusing one Entry across lines reuses its
// strings' storage.
//
// Thread-safety: one reader per thread; the free functions are pure.
#ifndef DWAE_CORE_RECORD_READER_H_
#define DWAE_CORE_RECORD_READER_H_

#include <optional>
#include <string>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/connection.h"
#include "core/feature_schema.h"
#include "core/record.h"
#include "core/zeek_parser.h"

namespace dwae {

enum class InputFormat {
  kAuto,
  kNslKdd,
  kKdd99,
  kZeek,
  kZeekJson,
};

// Parses "auto", "nsl-kdd", "kdd99", "zeek", "zeek-json" (case-insensitive).
absl::StatusOr<InputFormat> ParseInputFormat(absl::string_view name);
// The flag spelling, e.g. "zeek-json".
const char* InputFormatName(InputFormat format);
// The format of a file whose first non-blank line is `line`; an error when
// it looks like none of them.
absl::StatusOr<InputFormat> DetectInputFormat(absl::string_view line);
// The feature schema entries of `format` end up in (kAuto: nullopt).
std::optional<FeatureSchema> SchemaOfFormat(InputFormat format);
// The KDD RecordFormat of kNslKdd/kKdd99.
RecordFormat KddRecordFormat(InputFormat format);

using Entry = std::variant<Record, Connection>;

// True when `entry` carries a normal label ("normal" for KDD records,
// "Benign" for connections); `has_label` says whether it is labeled at all
// (a Zeek "Background" row is not).
bool EntryIsNormal(const Entry& entry);
bool EntryHasLabel(const Entry& entry);

class RecordReader {
 public:
  explicit RecordReader(InputFormat format = InputFormat::kAuto);

  // Parses one line (without its '\n'). True: `entry` holds a Record or a
  // Connection. False: the line held none (blank, header, comment). An
  // error: the line is bad; the reader goes on with the next line. With
  // kAuto, the first non-blank line fixes the format (an undetectable one
  // is an error, and the next line tries again).
  absl::StatusOr<bool> Next(absl::string_view line, Entry* entry);

  // The format in use: the constructor's, or the detected one (kAuto
  // until the first non-blank line).
  InputFormat format() const { return format_; }

 private:
  InputFormat format_;
  ZeekTsvParser tsv_;
  ZeekJsonParser json_;
};

}  // namespace dwae

#endif  // DWAE_CORE_RECORD_READER_H_
