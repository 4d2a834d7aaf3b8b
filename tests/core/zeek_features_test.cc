#include "core/zeek_features.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "core/zeek_sensors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

// Feature indices (record.h).
constexpr int kCount = 22, kSrvCount = 23, kSerrorRate = 24,
              kSrvSerrorRate = 25, kRerrorRate = 26, kSameSrvRate = 28,
              kDiffSrvRate = 29, kSrvDiffHostRate = 30, kDstHostCount = 31,
              kDstHostSrvCount = 32, kDstHostSameSrvRate = 33,
              kDstHostSameSrcPortRate = 35, kDstHostSerrorRate = 37;

Connection Conn(double ts, const std::string& resp_h, int resp_p,
                const std::string& state = "SF",
                const std::string& proto = "tcp", double duration = 0) {
  Connection c;
  c.ts = ts;
  c.orig_h = "10.0.0.1";
  c.orig_p = 40000;
  c.resp_h = resp_h;
  c.resp_p = resp_p;
  c.proto = proto;
  c.conn_state = state;
  if (duration > 0) c.duration = duration;
  return c;
}

TEST(ZeekFeaturesTest, BurstOfS0ToOneHostIsAllSynErrors) {
  ZeekFeatureExtractor x;
  Record r;
  for (int i = 0; i < 20; ++i) {
    Connection c = Conn(100 + 0.01 * i, "192.168.1.5", 1000 + i, "S0");
    c.orig_p = 50000 + i;
    x.Extract(c, &r);
  }
  EXPECT_EQ(r.schema, FeatureSchema::kZeek);
  EXPECT_EQ(r.numeric[kCount], 20);
  EXPECT_EQ(r.numeric[kSerrorRate], 1.0);
  EXPECT_EQ(r.numeric[kRerrorRate], 0.0);
  EXPECT_EQ(r.numeric[kDstHostCount], 20);
  EXPECT_EQ(r.numeric[kDstHostSerrorRate], 1.0);
  EXPECT_EQ(r.numeric[kDstHostSameSrcPortRate], 1.0 / 20);
  EXPECT_EQ(r.flag, "S0");
  EXPECT_EQ(r.service, "other");  // port 1019, no KDD name, < 1024
}

TEST(ZeekFeaturesTest, SameServiceRatesOverMixedServices) {
  ZeekFeatureExtractor x;
  Record r;
  x.Extract(Conn(10.0, "h1", 80), &r);
  x.Extract(Conn(10.1, "h1", 22), &r);
  x.Extract(Conn(10.2, "h2", 80), &r);
  x.Extract(Conn(10.3, "h1", 80), &r);
  // Same host h1: 3 connections, 2 of them http.
  EXPECT_EQ(r.service, "http");
  EXPECT_EQ(r.numeric[kCount], 3);
  EXPECT_DOUBLE_EQ(r.numeric[kSameSrvRate], 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.numeric[kDiffSrvRate], 1.0 / 3);
  // Same service http: 3 connections, 1 of them to another host.
  EXPECT_EQ(r.numeric[kSrvCount], 3);
  EXPECT_DOUBLE_EQ(r.numeric[kSrvDiffHostRate], 1.0 / 3);
  EXPECT_EQ(r.numeric[kDstHostSrvCount], 3);
  EXPECT_DOUBLE_EQ(r.numeric[kDstHostSameSrvRate], 2.0 / 3);
}

TEST(ZeekFeaturesTest, TimeWindowIsTwoSecondsOfEndTime) {
  ZeekFeatureExtractor x;
  Record r;
  // Starts early but ends at 10.5: inside the window of a connection at 12.
  x.Extract(Conn(5.0, "h", 80, "SF", "tcp", 5.5), &r);
  x.Extract(Conn(9.9, "h", 80), &r);  // ends 9.9: outside (10, 12]
  x.Extract(Conn(12.0, "h", 80), &r);
  EXPECT_EQ(r.numeric[kCount], 2);
  EXPECT_EQ(r.numeric[kDstHostCount], 3);  // the host window has no clock
}

TEST(ZeekFeaturesTest, RejectionsAreRerrorsAndUdpS0IsNoSynError) {
  ZeekFeatureExtractor x;
  Record r;
  x.Extract(Conn(1.0, "h", 23, "REJ"), &r);
  EXPECT_EQ(r.numeric[kRerrorRate], 1.0);
  EXPECT_EQ(r.numeric[kSerrorRate], 0.0);
  x.Extract(Conn(1.1, "h", 53, "S0", "udp"), &r);
  EXPECT_EQ(r.service, "domain_u");
  EXPECT_EQ(r.numeric[kSerrorRate], 0.0);
  EXPECT_EQ(r.numeric[kRerrorRate], 0.5);
  EXPECT_EQ(r.numeric[kSrvSerrorRate], 0.0);
}

TEST(ZeekFeaturesTest, LateRecordsAreCountedScoredAndPlacedByEndTime) {
  ZeekFeatureOptions options;
  options.lateness_seconds = 10;
  ZeekFeatureExtractor x(options);
  Record r;
  x.Extract(Conn(1000.0, "h", 80), &r);
  x.Extract(Conn(1001.0, "h", 80), &r);
  // Out of order but within the bound: sees only what ended before it.
  EXPECT_FALSE(x.Extract(Conn(999.5, "h", 80), &r));
  EXPECT_EQ(r.numeric[kCount], 1);
  // Ends 15 s before the watermark: late, counted, still extracted.
  EXPECT_TRUE(x.Extract(Conn(986.0, "h", 80), &r));
  EXPECT_EQ(x.late(), 1u);
  EXPECT_EQ(x.connections(), 4u);
  EXPECT_EQ(r.service, "http");
  EXPECT_EQ(r.numeric[kCount], 1);
  // (999.2, 1001.2] holds 999.5, 1000, 1001 and itself, not the late 986.
  x.Extract(Conn(1001.2, "h", 80), &r);
  EXPECT_EQ(r.numeric[kCount], 4);
}

TEST(ZeekFeaturesTest, HostWindowHoldsTheLastHundred) {
  ZeekFeatureExtractor x;
  Record r;
  for (int i = 0; i < 150; ++i) x.Extract(Conn(i * 10.0, "a", 80), &r);
  EXPECT_EQ(r.numeric[kDstHostCount], 100);
  EXPECT_EQ(r.numeric[kCount], 1);
  for (int i = 0; i < 30; ++i) x.Extract(Conn(2000 + i, "b", 80), &r);
  EXPECT_EQ(r.numeric[kDstHostCount], 30);
  EXPECT_EQ(r.numeric[kDstHostSrvCount], 100);
}

TEST(ZeekFeaturesTest, ServiceNames) {
  Connection c = Conn(0, "h", 53, "SF", "udp");
  c.has_service = true;
  c.service = "dns";
  EXPECT_STREQ(KddServiceName(c), "domain_u");
  c.proto = "tcp";
  EXPECT_STREQ(KddServiceName(c), "domain");
  c.service = "gssapi,smb";  // no KDD name: the port decides
  c.resp_p = 139;
  EXPECT_STREQ(KddServiceName(c), "netbios_ssn");
  c.has_service = false;
  c.resp_p = 443;
  EXPECT_STREQ(KddServiceName(c), "http_443");
  c.resp_p = 445;
  EXPECT_STREQ(KddServiceName(c), "other");
  c.resp_p = 50000;
  EXPECT_STREQ(KddServiceName(c), "private");
  c.proto = "icmp";
  c.orig_p = 8;
  EXPECT_STREQ(KddServiceName(c), "eco_i");
  c.orig_p = 11;
  EXPECT_STREQ(KddServiceName(c), "other");
}

TEST(ZeekFeaturesTest, ZeekExtras) {
  ZeekFeatureExtractor x;
  Record r;
  Connection c = Conn(1, "h", 51000, "RSTRH");
  c.history = "ShAr^";
  c.has_history = true;
  c.orig_pkts = 3;
  c.resp_ip_bytes = 120;
  c.local_orig = true;
  c.has_label = true;
  c.label = "Benign";
  x.Extract(c, &r);
  EXPECT_EQ(r.extra[kExtraOrigPkts], 3);
  EXPECT_EQ(r.extra[kExtraRespIpBytes], 120);
  EXPECT_EQ(r.extra[kExtraLocalOrig], 1);
  EXPECT_EQ(r.extra[kExtraLocalResp], 0);
  EXPECT_EQ(r.extra[kExtraPortDynamic], 1);
  EXPECT_EQ(r.extra[kExtraPortWellKnown], 0);
  double letters = 0;
  for (int i = 0; i < kNumHistoryLetters; ++i) {
    letters += r.extra[kExtraHistoryFirst + i];
  }
  EXPECT_EQ(letters, 5);
  EXPECT_EQ(r.extra[kExtraHistoryFirst + 0], 1);  // 'S'
  EXPECT_STREQ(ZeekExtraName(kExtraHistoryFirst + 0), "history_S");
  EXPECT_STREQ(ZeekExtraName(kExtraPortDynamic), "resp_port_dynamic");
  EXPECT_EQ(r.flag, "RSTRH");
  EXPECT_TRUE(r.is_normal());
  EXPECT_TRUE(r.has_label());
  c.label = "Background";
  x.Extract(c, &r);
  EXPECT_FALSE(r.has_label());
}

TEST(ZeekSensorSetTest, MemoryIsBoundedWithManySensors) {
  ZeekSensorOptions options;
  options.max_sensors = 8;
  options.features.max_window_connections = 200;
  auto set = ZeekSensorSet::Create(options);
  ASSERT_TRUE(set.ok()) << set.status();
  Record r;
  for (int s = 0; s < 100; ++s) {
    for (int i = 0; i < 300; ++i) {
      // All within one second: nothing is old enough to forget.
      (*set)->Extract(absl::StrCat("sensor-", s), Conn(1 + i * 0.001, "h", 80),
                      &r);
    }
  }
  ZeekSensorCounters c = (*set)->counters();
  EXPECT_EQ(c.connections, 30000u);
  EXPECT_EQ(c.sensors_active, 8u);
  EXPECT_EQ(c.sensors_evicted, 92u);
  EXPECT_EQ(c.window_connections, 8u * 200);
  EXPECT_EQ(c.window_overflow, 100u * 100);
  // Each sensor has its own windows.
  (*set)->Extract("fresh", Conn(1, "h", 80), &r);
  EXPECT_EQ(r.numeric[kCount], 1);
  (*set)->Extract("sensor-99", Conn(1.5, "h", 80), &r);
  EXPECT_EQ(r.numeric[kCount], 201);
}

TEST(ZeekSensorSetTest, RejectsBadOptions) {
  ZeekSensorOptions options;
  options.max_sensors = 0;
  EXPECT_THAT(ZeekSensorSet::Create(options).status().message(),
              ::testing::HasSubstr("max_sensors"));
  options.max_sensors = 4;
  options.features.time_window_seconds = -1;
  EXPECT_THAT(ZeekSensorSet::Create(options).status().message(),
              ::testing::HasSubstr("time_window_seconds"));
}

}  // namespace
}  // namespace dwae
