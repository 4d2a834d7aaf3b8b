// ParsePlainDecimal against std::from_chars (the oracle): bit-identical
// doubles for everything it takes, and it takes the forms the parsers see.
#include "core/plain_decimal.h"

#include <charconv>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "core/rng.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

// Checks `text`; returns whether ParsePlainDecimal took it.
bool Check(const std::string& text) {
  double got = -1;
  if (!ParsePlainDecimal(text, &got)) {
    EXPECT_EQ(got, -1) << text << ": changed *out while declining";
    return false;
  }
  double want = 0;
  const std::from_chars_result r =
      std::from_chars(text.data(), text.data() + text.size(), want);
  EXPECT_TRUE(r.ec == std::errc() && r.ptr == text.data() + text.size())
      << text << ": from_chars refuses what the fast path took";
  EXPECT_EQ(std::memcmp(&got, &want, sizeof got), 0)
      << text << absl::StrFormat(": %.17g vs %.17g", got, want);
  return true;
}

TEST(PlainDecimalTest, TakesPlainFormsExactly) {
  for (const char* text :
       {"0", "00", "1.", ".5", "0.1", "0.3", "0.05", "4.35", "491",
        "1655157610.743948", "9007199254740992", "900719925474099.2",
        "0.000000000000000001", "123456.789012345"}) {
    EXPECT_TRUE(Check(text)) << text;
  }
}

TEST(PlainDecimalTest, DeclinesEverythingElse) {
  for (const char* text :
       {"", ".", "-1", "+1", "1e3", "1.2.3", " 1", "1 ", "nan", "inf", "0x10",
        "9007199254740993", "90071992547409.93", "10000000000000000000",
        "1655157610.7439481", "0.0000000000000000000001",
        "0.00000000000000000000001", "1,5"}) {
    EXPECT_FALSE(Check(text)) << text;
  }
}

TEST(PlainDecimalTest, RandomDecimalsMatchFromChars) {
  Rng rng(17);
  int taken = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string text;
    switch (rng.Below(3)) {
      case 0:  // Zeek timestamps and durations
        text = absl::StrFormat("%.*f", int(rng.Below(10)),
                               1.6e9 + rng.Uniform() * 1e8);
        break;
      case 1:  // any magnitude, any number of decimals
        text = absl::StrFormat(
            "%.*f", int(rng.Below(23)),
            rng.Uniform() * double(uint64_t{1} << rng.Below(60)));
        break;
      default:  // random digit strings around the 2^53 and 19-digit edges
        for (int d = int(rng.Below(24)); d > 0; --d) {
          text.push_back(char('0' + rng.Below(10)));
        }
        if (!text.empty() && rng.Below(2)) {
          text.insert(rng.Below(text.size() + 1), 1, '.');
        }
    }
    taken += Check(text);
  }
  EXPECT_GT(taken, 100000);
}

}  // namespace
}  // namespace dwae
