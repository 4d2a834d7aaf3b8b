#include "core/zeek_values.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "core/plain_decimal.h"

namespace dwae {
namespace {

constexpr size_t kMaxQuotedChars = 32;
constexpr uint64_t kMaxCount = 1000000000000000ULL;  // 1e15

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Assigns `text` to `out`, decoding escapes only when there are any. (A
// loop, not find(): values are short, and a memchr call costs more.)
void AssignString(absl::string_view text, std::string* out) {
  for (const char c : text) {
    if (c == '\\') {
      DecodeEscapes(text, out);
      return;
    }
  }
  out->clear();  // clear and append: cheaper than assign's general replace
  out->append(text.data(), text.size());
}

// text == spelling for the unset and empty spellings, testing the first
// byte before calling memcmp: most values differ there.
bool IsSpelling(absl::string_view text, absl::string_view spelling) {
  return !spelling.empty() && text.size() == spelling.size() &&
         text[0] == spelling[0] && text == spelling;
}

// Parses a non-negative decimal integer (digits only).
bool ParseUnsigned(absl::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  uint64_t n = 0;
  for (const char c : text) {
    const unsigned digit = static_cast<unsigned char>(c) - '0';
    if (digit > 9) return false;
    n = n * 10 + digit;
  }
  *out = n;
  return true;
}

absl::Status ParseDouble(absl::string_view text, double* out) {
  if (ParsePlainDecimal(text, out)) return absl::OkStatus();
  const char* const end = text.data() + text.size();
  const std::from_chars_result r = std::from_chars(text.data(), end, *out);
  if (text.empty() || r.ec != std::errc() || r.ptr != end) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a number: ", QuoteValue(text)));
  }
  return absl::OkStatus();
}

std::optional<uint64_t>* CountField(ZeekColumn column, Connection* c) {
  switch (column) {
    case ZeekColumn::kOrigBytes:
      return &c->orig_bytes;
    case ZeekColumn::kRespBytes:
      return &c->resp_bytes;
    case ZeekColumn::kMissedBytes:
      return &c->missed_bytes;
    case ZeekColumn::kOrigPkts:
      return &c->orig_pkts;
    case ZeekColumn::kOrigIpBytes:
      return &c->orig_ip_bytes;
    case ZeekColumn::kRespPkts:
      return &c->resp_pkts;
    case ZeekColumn::kRespIpBytes:
      return &c->resp_ip_bytes;
    default:
      return nullptr;
  }
}

}  // namespace

std::string QuoteValue(absl::string_view value) {
  if (value.size() <= kMaxQuotedChars) return absl::StrCat("'", value, "'");
  return absl::StrCat("'", value.substr(0, kMaxQuotedChars - 3), "...'");
}

void DecodeEscapes(absl::string_view text, std::string* out) {
  out->clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() && text[i + 1] == 'x') {
      const int hi = HexDigit(text[i + 2]);
      const int lo = HexDigit(text[i + 3]);
      if (hi >= 0 && lo >= 0) {
        out->push_back(static_cast<char>(hi * 16 + lo));
        i += 3;
        continue;
      }
    }
    out->push_back(text[i]);
  }
}

absl::Status SetZeekNumber(ZeekColumn column, double value, Connection* out) {
  switch (column) {
    case ZeekColumn::kTs:
      if (!std::isfinite(value) || value < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("not a time (finite, >= 0): ", value));
      }
      out->ts = value;
      return absl::OkStatus();
    case ZeekColumn::kDuration:
      if (!std::isfinite(value) || value < 0 || value > 1e9) {
        return absl::InvalidArgumentError(
            absl::StrCat("not a duration (finite, in [0, 1e9]): ", value));
      }
      out->duration = value;
      return absl::OkStatus();
    default:
      break;
  }
  // Ports and counts arrive as integers; a double must be integral.
  if (!(value >= 0) || value > 1e15 || std::floor(value) != value) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a non-negative integer: ", value));
  }
  return SetZeekCount(column, static_cast<uint64_t>(value), out);
}

absl::Status SetZeekCount(ZeekColumn column, uint64_t value, Connection* out) {
  if (column == ZeekColumn::kOrigP || column == ZeekColumn::kRespP) {
    if (value > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("port ", value, " outside [0, 65535]"));
    }
    (column == ZeekColumn::kOrigP ? out->orig_p : out->resp_p) =
        static_cast<int32_t>(value);
    return absl::OkStatus();
  }
  if (column == ZeekColumn::kTs || column == ZeekColumn::kDuration) {
    return SetZeekNumber(column, static_cast<double>(value), out);
  }
  std::optional<uint64_t>* field = CountField(column, out);
  if (field == nullptr) {
    return absl::InvalidArgumentError("expected a string, not a number");
  }
  if (value > kMaxCount) {
    return absl::InvalidArgumentError(
        absl::StrCat("value ", value, " exceeds 1e15"));
  }
  *field = value;
  return absl::OkStatus();
}

void SetZeekBool(ZeekColumn column, bool value, Connection* out) {
  (column == ZeekColumn::kLocalOrig ? out->local_orig : out->local_resp) =
      value;
}

absl::Status SetZeekValue(ZeekColumn column, absl::string_view text,
                          const ZeekValueSyntax& syntax, Connection* out) {
  const bool unset = IsSpelling(text, syntax.unset_field);
  const bool empty = IsSpelling(text, syntax.empty_field);
  switch (column) {
    case ZeekColumn::kUid:
    case ZeekColumn::kOrigH:
    case ZeekColumn::kRespH:
    case ZeekColumn::kProto:
    case ZeekColumn::kConnState: {
      std::string* field = column == ZeekColumn::kUid     ? &out->uid
                           : column == ZeekColumn::kOrigH ? &out->orig_h
                           : column == ZeekColumn::kRespH ? &out->resp_h
                           : column == ZeekColumn::kProto ? &out->proto
                                                          : &out->conn_state;
      if (unset || empty || text.empty()) {
        if (IsRequiredZeekColumn(column)) {
          return absl::InvalidArgumentError(unset ? "unset" : "empty");
        }
        field->clear();
        return absl::OkStatus();
      }
      AssignString(text, field);
      return absl::OkStatus();
    }
    case ZeekColumn::kService:
    case ZeekColumn::kHistory:
    case ZeekColumn::kLabel: {
      std::string* field = column == ZeekColumn::kService   ? &out->service
                           : column == ZeekColumn::kHistory ? &out->history
                                                            : &out->label;
      bool* has = column == ZeekColumn::kService   ? &out->has_service
                  : column == ZeekColumn::kHistory ? &out->has_history
                                                   : &out->has_label;
      *has = !unset;
      if (unset || empty) {
        field->clear();
      } else {
        AssignString(text, field);
      }
      return absl::OkStatus();
    }
    case ZeekColumn::kLocalOrig:
    case ZeekColumn::kLocalResp:
      if (unset) return absl::OkStatus();
      if (text == "T" || text == "F") {
        SetZeekBool(column, text == "T", out);
        return absl::OkStatus();
      }
      return absl::InvalidArgumentError(
          absl::StrCat("not a bool (T or F): ", QuoteValue(text)));
    default:
      break;
  }
  // Numbers: time, interval, port, count.
  if (unset) {
    if (IsRequiredZeekColumn(column)) {
      return absl::InvalidArgumentError("unset");
    }
    return absl::OkStatus();  // Clear() left it unset
  }
  if (column == ZeekColumn::kTs || column == ZeekColumn::kDuration) {
    double value = 0;
    if (absl::Status s = ParseDouble(text, &value); !s.ok()) return s;
    return SetZeekNumber(column, value, out);
  }
  uint64_t value = 0;
  if (!ParseUnsigned(text, &value)) {
    const bool port =
        column == ZeekColumn::kOrigP || column == ZeekColumn::kRespP;
    return absl::InvalidArgumentError(absl::StrCat(
        port ? "not a port: " : "not a count: ", QuoteValue(text)));
  }
  return SetZeekCount(column, value, out);
}

}  // namespace dwae
