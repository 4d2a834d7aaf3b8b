// NameIndex finds every name of a vocabulary and nothing else.
#include "core/name_index.h"

#include <string>

#include "gtest/gtest.h"

namespace dwae {
namespace {

constexpr const char* kNames[] = {
    "IRC",       "X11",      "Z39_50", "aol",      "auth",        "http",
    "http_2784", "http_443", "ftp",    "ftp_data", "netbios_dgm", "S0",
    "S1",        "SF",       "SH",     "SHR",      "RSTOS0",      "a"};

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

// Many names with the same length and first, middle and last characters
// collide in the hash: the probe chain still tells them apart.
TEST(NameIndexTest, CollidingNamesStayApart) {
  static constexpr const char* kSimilar[] = {"aXa", "aYa", "aZa", "a_a",
                                             "aaa", "aba", "aca", "ada"};
  const NameIndex index(kSimilar);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(index.Find(kSimilar[i], -1), i);
  EXPECT_EQ(index.Find("aea", -1), -1);
}

}  // namespace
}  // namespace dwae
