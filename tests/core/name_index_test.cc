// NameIndex finds every name of a vocabulary and nothing else: against a
// linear search on near misses and random strings (embedded NULs, every
// length around the limit).
#include "core/name_index.h"

#include <string>
#include <vector>

#include "core/rng.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

constexpr const char* kNames[] = {"IRC",
                                  "X11",
                                  "Z39_50",
                                  "aol",
                                  "auth",
                                  "http",
                                  "http_2784",
                                  "http_443",
                                  "ftp",
                                  "ftp_data",
                                  "netbios_dgm",
                                  "S0",
                                  "S1",
                                  "SF",
                                  "SH",
                                  "SHR",
                                  "RSTOS0",
                                  "a",
                                  "netbios_ssn_14"};

TEST(NameIndexTest, FindsEveryName) {
  const NameIndex index(kNames);
  for (int i = 0; i < int(sizeof(kNames) / sizeof(kNames[0])); ++i) {
    EXPECT_EQ(index.Find(kNames[i], -1), i) << kNames[i];
  }
}

TEST(NameIndexTest, EverythingElseIsMissing) {
  const NameIndex index(kNames);
  for (const std::string name :
       {"", "irc", "IRC ", " IRC", "htt", "http_", "http_2785", "ftp_dat",
        "SF\\0", "s0", "b", "aa", "netbios_dgmx", "a_very_long_service_name"}) {
    EXPECT_EQ(index.Find(name, 99), 99) << "'" << name << "'";
  }
  // A name with an embedded NUL is not its prefix.
  EXPECT_EQ(index.Find(std::string("SF\0", 3), 99), 99);
}

// Names alike in length and most characters get slots of their own (the
// perfect hash's multiplier search, at compile time for a constant).
TEST(NameIndexTest, SimilarNamesStayApart) {
  static constexpr const char* kSimilar[] = {"aXa", "aYa", "aZa", "a_a",
                                             "aaa", "aba", "aca", "ada"};
  static constexpr NameIndex kIndex(kSimilar);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(kIndex.Find(kSimilar[i], -1), i);
  EXPECT_EQ(kIndex.Find("aea", -1), -1);
}

// The key: the name's bytes, zeros, the size in byte 15.
TEST(NameIndexTest, KeyLayout) {
  using Key = NameIndex<16>::Key;
  const Key key = NameIndex<16>::MakeKey("netbios_ssn", 11);
  char bytes[16];
  for (int i = 0; i < 8; ++i) bytes[i] = char(key.lo >> (8 * i));
  for (int i = 0; i < 8; ++i) bytes[8 + i] = char(key.hi >> (8 * i));
  EXPECT_EQ(std::string(bytes, 11), "netbios_ssn");
  EXPECT_EQ(std::string(bytes + 11, 4), std::string(4, '\0'));
  EXPECT_EQ(bytes[15], 11);
  const Key empty_tail = NameIndex<16>::MakeKey("SF", 2);
  const Key nul_tail = NameIndex<16>::MakeKey("SF\0", 3);
  EXPECT_EQ(empty_tail.lo, nul_tail.lo);
  EXPECT_NE(empty_tail.hi, nul_tail.hi);
}

// Against a linear search: every name with one byte changed, cut short or
// extended, and random strings of 0 to 17 bytes over the names' letters
// and NUL.
TEST(NameIndexTest, MatchesALinearSearch) {
  const NameIndex index(kNames);
  const int n = int(sizeof(kNames) / sizeof(kNames[0]));
  auto linear = [&](const std::string& s) {
    for (int i = 0; i < n; ++i) {
      if (s == kNames[i]) return i;
    }
    return -1;
  };
  std::vector<std::string> probes;
  for (const char* name : kNames) {
    const std::string s = name;
    probes.push_back(s.substr(0, s.size() - 1));
    probes.push_back(s + "x");
    probes.push_back(s + std::string(1, '\0'));
    for (size_t i = 0; i < s.size(); ++i) {
      for (const char c : {'\0', 'a', '_', char(s[i] ^ 1), char(0xFF)}) {
        std::string t = s;
        t[i] = c;
        probes.push_back(t);
      }
    }
  }
  const std::string letters = std::string("aISFhtp_0\0", 10);
  Rng rng(3);
  for (int k = 0; k < 20000; ++k) {
    std::string s(rng.Below(18), ' ');
    for (char& c : s) c = letters[rng.Below(letters.size())];
    probes.push_back(s);
  }
  for (const std::string& s : probes) {
    ASSERT_EQ(index.Find(s, -1), linear(s)) << "'" << s << "'";
  }
}

}  // namespace
}  // namespace dwae
