// Parsers for Zeek conn.log lines: the ASCII (TSV) writer and the JSON
// writer (LogAscii::use_json=T). Both fill a Connection (connection.h).
//
// ZeekTsvParser is stateful over header blocks, as Zeek writes them:
//   #separator \x09          (value after one space; \xHH escapes decoded)
//   #set_separator<SEP>,     (the other header lines use the separator)
//   #empty_field<SEP>(empty)
//   #unset_field<SEP>-
//   #path<SEP>conn
//   #open<SEP>2022-06-17-00-00-07
//   #fields<SEP>ts<SEP>uid<SEP>...   (any order; unknown columns ignored)
//   #types<SEP>time<SEP>string<SEP>...
//   #close<SEP>...
// A file may hold several blocks (rotation, restarts append a new header);
// a new #separator starts a new block with Zeek's defaults, and each block
// needs its own #fields line. The required columns are ts, id.orig_h,
// id.orig_p, id.resp_h, id.resp_p, proto and conn_state; every other
// column of connection.h is optional (unset when absent). A #fields line
// that lacks a required column is an error naming it, and so is every data
// line of that block ("no usable #fields header: missing required column
// 'conn_state'"). Values: the #unset_field string is unset, the
// #empty_field string is an empty string (or an empty set), \xHH escapes
// inside strings are decoded.
//
// ZeekJsonParser takes one JSON object per line: keys are Zeek's column
// names, dotted ("id.orig_h") or nested ({"id": {"orig_h": ...}}); `ts` is
// epoch seconds (a number) or an ISO 8601 / RFC 3339 string
// ("2022-06-17T00:00:07.123456Z"); an absent or null key is unset; unknown
// keys are ignored. Parsed with simdjson (on-demand API).
//
// Errors are per line and name the column, e.g.
//   "column 4 (id.orig_p): not a port: 'http'"   (TSV, 1-based column)
//   "id.orig_p: expected a number"              (JSON)
//   "missing required column 'proto'"           (either)
// After an error the parser stays usable for the next line.
//
// Speed: TSV fields are split in place and numbers parsed with
// std::from_chars; strings are assigned into the caller's Connection, so
// reusing one Connection across lines allocates nothing once warm.
//
// Thread-safety: one parser per thread (each is stateful); parsers are
// movable, not copyable.
#ifndef DWAE_CORE_ZEEK_PARSER_H_
#define DWAE_CORE_ZEEK_PARSER_H_

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/connection.h"

namespace dwae {

// The conn.log columns the parsers know, in Zeek's order.
enum class ZeekColumn : int {
  kTs,
  kUid,
  kOrigH,
  kOrigP,
  kRespH,
  kRespP,
  kProto,
  kService,
  kDuration,
  kOrigBytes,
  kRespBytes,
  kConnState,
  kLocalOrig,
  kLocalResp,
  kMissedBytes,
  kHistory,
  kOrigPkts,
  kOrigIpBytes,
  kRespPkts,
  kRespIpBytes,
  kLabel,
  kCount,  // number of columns, not a column
};
inline constexpr int kNumZeekColumns = static_cast<int>(ZeekColumn::kCount);

// Zeek's name of a column, e.g. "id.orig_h".
const char* ZeekColumnName(ZeekColumn column);
// True for the columns a header must declare.
bool IsRequiredZeekColumn(ZeekColumn column);

class ZeekTsvParser {
 public:
  ZeekTsvParser();

  // Parses one line (without its '\n'; a trailing '\r' is ignored).
  // Returns true when `out` holds a connection, false when the line was a
  // header line, a comment or blank. On error `out` is unspecified.
  absl::StatusOr<bool> ParseLine(absl::string_view line, Connection* out);

  // True once a usable #fields line was read (in the current block).
  bool has_fields() const { return fields_ok_; }
  // The current block's #path ("" before any).
  const std::string& path() const { return path_; }

 private:
  absl::Status ParseHeader(absl::string_view line);
  absl::Status SetFields(const std::vector<absl::string_view>& names);
  absl::Status ParseData(absl::string_view line, Connection* out);

  std::string separator_;
  std::string set_separator_;
  std::string empty_field_;
  std::string unset_field_;
  std::string path_;
  // column_[i]: the ZeekColumn of the i-th field, or -1 (ignored).
  std::vector<int> column_;
  bool fields_ok_ = false;
  // Why the current block has no usable #fields (error for data lines).
  std::string fields_error_;
};

class ZeekJsonParser {
 public:
  ZeekJsonParser();
  ~ZeekJsonParser();
  ZeekJsonParser(ZeekJsonParser&&) noexcept;
  ZeekJsonParser& operator=(ZeekJsonParser&&) noexcept;

  // Parses one line holding one JSON object. Returns true when `out` holds
  // a connection, false for a blank line.
  absl::StatusOr<bool> ParseLine(absl::string_view line, Connection* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses an ISO 8601 / RFC 3339 time ("2022-06-17T00:00:07.5Z", with an
// optional offset) to seconds since the epoch.
absl::StatusOr<double> ParseIsoTime(absl::string_view text);

}  // namespace dwae

#endif  // DWAE_CORE_ZEEK_PARSER_H_
