// ParseWellFormedLine (record_parse_internal.h): one pass over a well-formed
// NSL-KDD / KDD99 line that splits and converts at once, without allocating
// (the categorical strings and the label fit std::string's inline buffer).
//
// Why it is exact: a plain decimal of at most 15 digits, k of them after the
// point, is the integer n < 10^15 < 2^53 over 10^k <= 10^15, both exact
// doubles, so one IEEE division rounds the quotient correctly: the double
// std::from_chars returns. The two forms that make up most of NSL-KDD ("0",
// the counts and flags; "0.17", the rates) skip the digit loop; their values
// are the same integer and the same quotient (from a table filled by that
// very division).
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "core/record.h"
#include "core/record_parse_internal.h"

namespace dwae {
namespace record_internal {
namespace {

// Exact powers of ten as doubles (10^15 < 2^53).
constexpr double kPow10[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

// kHundredths.value[n] = n / 100.0 for the rates' form "d.dd", computed at
// compile time (constant folding rounds IEEE division correctly, as the
// hardware does; the oracle test would see any difference).
struct Hundredths {
  double value[1000] = {};
  constexpr Hundredths() {
    for (int n = 0; n < 1000; ++n) value[n] = double(n) / kPow10[2];
  }
};
constexpr Hundredths kHundredths;

// Largest accepted difficulty (as record.cc's kMaxDifficulty).
constexpr int kMaxDifficulty = 21;

inline unsigned Digit(char c) { return static_cast<unsigned char>(c) - '0'; }

class FastLineParser {
 public:
  explicit FastLineParser(absl::string_view line)
      : c_(line.data()), end_(line.data() + line.size()) {}

  bool Parse(RecordFormat format, Record* record) {
    static_assert(kProtocolTypeIndex == 1 && kServiceIndex == 2 &&
                  kFlagIndex == 3);
    double* const numeric = record->numeric.data();
    if (!NumberAndComma(&numeric[0]) || !Category(&record->protocol_type) ||
        !Comma() || !Category(&record->service) || !Comma() ||
        !Category(&record->flag) || !Comma()) {
      return false;
    }
    for (int i = kFlagIndex + 1; i < kNumFeatures - 1; ++i) {
      if (!NumberAndComma(&numeric[i])) return false;
    }
    if (!Decimal(&numeric[kNumFeatures - 1])) return false;
    if (c_ == end_) return true;
    ++c_;  // the ',' Decimal stopped at
    absl::string_view label = Text();
    if (format == RecordFormat::kKdd99 && !label.empty() &&
        label.back() == '.') {
      label.remove_suffix(1);
    }
    if (label.empty() || !Clean(label)) return false;
    record->label.append(label.data(), label.size());
    if (c_ == end_) return true;
    if (format != RecordFormat::kNslKdd || !Comma()) return false;
    return Difficulty(&record->difficulty);
  }

 private:
  bool Comma() {
    if (c_ == end_ || *c_ != ',') return false;
    ++c_;
    return true;
  }
  // A categorical field: non-empty, without surrounding whitespace.
  bool Category(std::string* out) {
    const absl::string_view text = Text();
    if (text.empty() || !Clean(text)) return false;
    out->append(text.data(), text.size());  // empty: cheaper than assign
    return true;
  }
  // No surrounding whitespace (nor other control or non-ASCII bytes there,
  // which the fast path leaves to the reference).
  static bool Clean(absl::string_view text) {
    return text.front() > ' ' && text.back() > ' ';
  }
  // Up to the next ',' or the end.
  absl::string_view Text() {
    const char* start = c_;
    while (c_ != end_ && *c_ != ',') ++c_;
    return absl::string_view(start, static_cast<size_t>(c_ - start));
  }

  // A numeric field and the ',' after it: "d" and "d.dd" directly, other
  // plain decimals by the loop.
  bool NumberAndComma(double* out) {
    const char* c = c_;
    if (end_ - c >= 5) {
      const unsigned d0 = Digit(c[0]);
      if (d0 <= 9 && c[1] == ',') {
        *out = double(d0);
        c_ = c + 2;
        return true;
      }
      const unsigned d2 = Digit(c[2]), d3 = Digit(c[3]);
      if (d0 <= 9 && c[1] == '.' && d2 <= 9 && d3 <= 9 && c[4] == ',') {
        *out = kHundredths.value[d0 * 100 + d2 * 10 + d3];
        c_ = c + 5;
        return true;
      }
    }
    return Decimal(out) && Comma();
  }

  // Digits with at most one '.', at least one and at most 15 digits (so the
  // value is below 10^15: no range check is left to do), up to the next ','
  // (not consumed) or the end.
  bool Decimal(double* out) {
    const char* c = c_;
    uint64_t n = 0;  // wraps harmlessly past 19 digits: refused below
    for (; c != end_ && Digit(*c) <= 9; ++c) n = n * 10 + Digit(*c);
    int digits = int(c - c_), after_point = 0;
    if (c != end_ && *c == '.') {
      const char* fraction = ++c;
      for (; c != end_ && Digit(*c) <= 9; ++c) n = n * 10 + Digit(*c);
      after_point = int(c - fraction);
      digits += after_point;
    }
    if (c != end_ && *c != ',') return false;
    if (digits == 0 || digits > 15) return false;
    c_ = c;
    *out = after_point > 0 ? double(n) / kPow10[after_point] : double(n);
    return true;
  }

  // One or two digits up to the end, at most kMaxDifficulty.
  bool Difficulty(int* out) {
    int difficulty = 0, digits = 0;
    for (; c_ != end_; ++c_, ++digits) {
      const unsigned digit = Digit(*c_);
      if (digit > 9 || digits == 2) return false;
      difficulty = difficulty * 10 + int(digit);
    }
    if (digits == 0 || difficulty > kMaxDifficulty) return false;
    *out = difficulty;
    return true;
  }

  const char* c_;
  const char* const end_;
};

}  // namespace

bool ParseWellFormedLine(absl::string_view line, RecordFormat format,
                         Record* record) {
  return FastLineParser(line).Parse(format, record);
}

}  // namespace record_internal
}  // namespace dwae
