// Internal to the Zeek parsers (zeek_parser.cc, zeek_json.cc): decoding one
// conn.log value into a Connection field. Not for other callers.
//
// Thread-safety: pure functions.
#ifndef DWAE_CORE_ZEEK_VALUES_H_
#define DWAE_CORE_ZEEK_VALUES_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/connection.h"
#include "core/zeek_parser.h"

namespace dwae {

// Lines longer than this are refused before they are split.
inline constexpr size_t kMaxZeekLineBytes = 65536;

// The TSV block's spellings of an empty and of an unset value.
struct ZeekValueSyntax {
  absl::string_view empty_field;
  absl::string_view unset_field;
};

// "'abc'", cut to 32 characters.
std::string QuoteValue(absl::string_view value);
// Decodes Zeek's \xHH escapes (anything else is copied as is) into `out`.
void DecodeEscapes(absl::string_view text, std::string* out);
// Index of a column name (ZeekColumn), or -1.
int ZeekColumnFromName(absl::string_view name);

// Sets `column` of `out` from its TSV text. Errors say why, without the
// column (the caller prefixes it).
absl::Status SetZeekValue(ZeekColumn column, absl::string_view text,
                          const ZeekValueSyntax& syntax, Connection* out);

// Typed setters shared with the JSON parser; errors without the column.
absl::Status SetZeekNumber(ZeekColumn column, double value, Connection* out);
absl::Status SetZeekCount(ZeekColumn column, uint64_t value, Connection* out);
// Strings (including the booleans' "T"/"F" of TSV) go through
// SetZeekValue with a syntax that has no empty/unset spelling.
void SetZeekBool(ZeekColumn column, bool value, Connection* out);

}  // namespace dwae

#endif  // DWAE_CORE_ZEEK_VALUES_H_
