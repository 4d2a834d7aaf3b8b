// Unit tests of the consistent-hash ring and the --servers parser.
#include "client/sharding.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<std::string> kThree = {"10.0.0.1:50051", "10.0.0.2:50051",
                                         "10.0.0.3:50051"};

std::string Sensor(int i) { return absl::StrCat("sensor-", i); }

TEST(ShardRingTest, DeterministicAcrossInstances) {
  const ShardRing a(kThree);
  const ShardRing b(kThree);
  for (int i = 0; i < 2000; ++i) {
    EXPECT_EQ(a.ShardFor(Sensor(i)), b.ShardFor(Sensor(i))) << Sensor(i);
  }
}

TEST(ShardRingTest, MappingDoesNotDependOnListOrder) {
  const ShardRing a(kThree);
  const ShardRing b({kThree[2], kThree[0], kThree[1]});
  for (int i = 0; i < 2000; ++i) {
    EXPECT_EQ(a.servers()[a.ShardFor(Sensor(i))],
              b.servers()[b.ShardFor(Sensor(i))]);
  }
}

TEST(ShardRingTest, GoldenValuesAreStable) {
  // The hash (FNV-1a + SplitMix64 finalizer) is part of the contract between
  // clients on different machines: pin a few mappings so an accidental change
  // of the function is caught. Recomputed independently in Python.
  const ShardRing ring(kThree);
  std::vector<int> shards;
  for (int i = 0; i < 8; ++i) shards.push_back(ring.ShardFor(Sensor(i)));
  EXPECT_THAT(shards, ElementsAre(1, 2, 0, 0, 1, 0, 0, 0));
}

TEST(ShardRingTest, SingleServerOwnsEverything) {
  const ShardRing ring({"127.0.0.1:1"});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ring.ShardFor(Sensor(i)), 0);
  EXPECT_EQ(ring.ShardFor(""), 0);
}

TEST(ShardRingTest, EveryServerGetsAFairShare) {
  const ShardRing ring(kThree);
  constexpr int kSensors = 10000;
  std::vector<int> counts(3, 0);
  for (int i = 0; i < kSensors; ++i) ++counts[ring.ShardFor(Sensor(i))];
  const double fair = double(kSensors) / 3;
  for (int s = 0; s < 3; ++s) {
    EXPECT_GE(counts[s], 0.75 * fair) << "server " << s;
    EXPECT_LE(counts[s], 1.25 * fair) << "server " << s;
  }
}

TEST(ShardRingTest, RemovingAServerMovesOnlyItsSensors) {
  const ShardRing three(kThree);
  const ShardRing two({kThree[0], kThree[2]});  // kThree[1] removed
  int moved = 0;
  for (int i = 0; i < 10000; ++i) {
    const std::string& before = three.servers()[three.ShardFor(Sensor(i))];
    const std::string& after = two.servers()[two.ShardFor(Sensor(i))];
    if (before == kThree[1]) {
      ++moved;
      EXPECT_NE(after, kThree[1]);
    } else {
      EXPECT_EQ(before, after) << Sensor(i) << " moved off a surviving server";
    }
  }
  EXPECT_GT(moved, 0);
}

TEST(ParseServerListTest, ServerFlagWhenServersEmpty) {
  absl::StatusOr<std::vector<std::string>> s =
      ParseServerList("", "127.0.0.1:50051");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(*s, ElementsAre("127.0.0.1:50051"));
}

TEST(ParseServerListTest, ServersWinsOverServer) {
  absl::StatusOr<std::vector<std::string>> s =
      ParseServerList("a:1, b:2,[::1]:3", "127.0.0.1:50051");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(*s, ElementsAre("a:1", "b:2", "[::1]:3"));
}

TEST(ParseServerListTest, Errors) {
  for (const char* bad :
       {"a:1,,b:2", ",a:1", "a:1,", "a:1,a:1", "a:1,b", "a:x", ":5", "a:0"}) {
    absl::StatusOr<std::vector<std::string>> s = ParseServerList(bad, "x:1");
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(s.status().message()), HasSubstr("--servers"))
        << bad;
  }
  EXPECT_THAT(std::string(ParseServerList("a:1,,b:2", "").status().message()),
              HasSubstr("empty"));
  EXPECT_THAT(std::string(ParseServerList("a:1,a:1", "").status().message()),
              HasSubstr("duplicate"));
  EXPECT_THAT(std::string(ParseServerList("a:1,b", "").status().message()),
              HasSubstr(":port"));
}

}  // namespace
}  // namespace dwae
