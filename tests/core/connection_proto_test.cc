// dwae.v1.Connection <-> Connection: every field of every shipped Zeek row
// survives the round trip, unset stays unset, and bad values are refused
// with the Zeek column's name.
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/connection.h"
#include "core/record_proto.h"
#include "core/record_reader.h"
#include "dwae/v1/record.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

using ::testing::HasSubstr;

void ExpectSame(const Connection& a, const Connection& b) {
  EXPECT_EQ(a.ts, b.ts);
  EXPECT_EQ(a.uid, b.uid);
  EXPECT_EQ(a.orig_h, b.orig_h);
  EXPECT_EQ(a.orig_p, b.orig_p);
  EXPECT_EQ(a.resp_h, b.resp_h);
  EXPECT_EQ(a.resp_p, b.resp_p);
  EXPECT_EQ(a.proto, b.proto);
  EXPECT_EQ(a.has_service, b.has_service);
  EXPECT_EQ(a.service, b.service);
  EXPECT_EQ(a.duration, b.duration);
  EXPECT_EQ(a.orig_bytes, b.orig_bytes);
  EXPECT_EQ(a.resp_bytes, b.resp_bytes);
  EXPECT_EQ(a.conn_state, b.conn_state);
  EXPECT_EQ(a.local_orig, b.local_orig);
  EXPECT_EQ(a.local_resp, b.local_resp);
  EXPECT_EQ(a.missed_bytes, b.missed_bytes);
  EXPECT_EQ(a.has_history, b.has_history);
  EXPECT_EQ(a.history, b.history);
  EXPECT_EQ(a.orig_pkts, b.orig_pkts);
  EXPECT_EQ(a.orig_ip_bytes, b.orig_ip_bytes);
  EXPECT_EQ(a.resp_pkts, b.resp_pkts);
  EXPECT_EQ(a.resp_ip_bytes, b.resp_ip_bytes);
  EXPECT_EQ(a.has_label, b.has_label);
  EXPECT_EQ(a.label, b.label);
}

v1::Connection Valid() {
  v1::Connection p;
  p.set_ts(1.5e9);
  p.set_uid("CabcDEF123");
  p.set_id_orig_h("10.0.0.1");
  p.set_id_orig_p(51000);
  p.set_id_resp_h("10.0.0.2");
  p.set_id_resp_p(443);
  p.set_proto("tcp");
  p.set_conn_state("SF");
  return p;
}

TEST(ConnectionProtoTest, RoundTripsEveryShippedRow) {
  for (const char* name :
       {"ctu-normal-42-day2.conn.log.labeled", "nmap-scans.conn.json.log"}) {
    std::ifstream in(absl::StrCat(DWAE_SOURCE_DIR, "/data/zeek/", name));
    ASSERT_TRUE(in) << name;
    RecordReader reader(InputFormat::kAuto);
    Entry entry;
    std::string line;
    int rows = 0;
    while (std::getline(in, line)) {
      absl::StatusOr<bool> got = reader.Next(line, &entry);
      ASSERT_TRUE(got.ok()) << got.status();
      if (!*got) continue;
      const Connection& c = std::get<Connection>(entry);
      const v1::Connection proto = ConnectionToProto(c, "", "s1");
      EXPECT_EQ(ConnectionVerdictId(proto), c.uid);
      absl::StatusOr<Connection> back = ConnectionFromProto(proto);
      ASSERT_TRUE(back.ok()) << back.status();
      ExpectSame(c, *back);
      ++rows;
    }
    EXPECT_GT(rows, 4000) << name;
  }
}

TEST(ConnectionProtoTest, UnsetStaysApartFromEmptyAndZero) {
  v1::Connection p = Valid();
  absl::StatusOr<Connection> c = ConnectionFromProto(p);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->has_service);
  EXPECT_FALSE(c->duration.has_value());
  EXPECT_FALSE(c->orig_bytes.has_value());
  EXPECT_FALSE(c->local_orig.has_value());
  EXPECT_FALSE(c->has_label);
  p.set_service("");
  p.set_duration(0);
  p.set_orig_bytes(0);
  p.set_local_orig(false);
  c = ConnectionFromProto(p);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->has_service);
  EXPECT_EQ(c->duration, 0.0);
  EXPECT_EQ(c->orig_bytes, 0u);
  EXPECT_EQ(c->local_orig, false);
}

TEST(ConnectionProtoTest, VerdictIdIsTheUidElseTheId) {
  v1::Connection p = Valid();
  p.set_id("file:7");
  EXPECT_EQ(ConnectionVerdictId(p), "CabcDEF123");
  p.clear_uid();
  EXPECT_EQ(ConnectionVerdictId(p), "file:7");
}

TEST(ConnectionProtoTest, ErrorsNameTheColumn) {
  struct Case {
    void (*mutate)(v1::Connection*);
    const char* error;
  };
  const Case cases[] = {
      {[](v1::Connection* p) { p->set_id_resp_p(70000); },
       "id.resp_p: port 70000 outside [0, 65535]"},
      {[](v1::Connection* p) { p->set_id_orig_p(4000000000u); },
       "id.orig_p: port 4000000000"},
      {[](v1::Connection* p) { p->clear_id_orig_h(); }, "id.orig_h: unset"},
      {[](v1::Connection* p) { p->clear_conn_state(); }, "conn_state: unset"},
      {[](v1::Connection* p) { p->set_ts(-1); }, "ts: "},
      {[](v1::Connection* p) { p->set_duration(-2); }, "duration: "},
      {[](v1::Connection* p) { p->set_resp_bytes(uint64_t(1e16)); },
       "resp_bytes: value"},
      {[](v1::Connection* p) { p->set_uid(std::string(200, 'u')); },
       "uid: 200 bytes, limit is 128"},
      {[](v1::Connection* p) { p->set_sensor_id(std::string(129, 's')); },
       "sensor_id: 129 bytes"},
      {[](v1::Connection* p) { p->set_history(std::string(300, 'h')); },
       "history: 300 bytes"},
      {[](v1::Connection* p) { p->set_id_resp_h(std::string(65, '1')); },
       "id.resp_h: 65 bytes"},
      {[](v1::Connection* p) { p->set_label(std::string(65, 'l')); },
       "label: 65 bytes"},
  };
  for (const Case& c : cases) {
    v1::Connection p = Valid();
    c.mutate(&p);
    absl::StatusOr<Connection> got = ConnectionFromProto(p);
    ASSERT_FALSE(got.ok()) << c.error;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(got.status().message()), HasSubstr(c.error));
  }
}

TEST(ConnectionProtoTest, JsonFormUsesZeekColumnNames) {
  v1::Connection p = Valid();
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(p, &json).ok());
  EXPECT_THAT(json, HasSubstr("\"id.orig_h\":\"10.0.0.1\""));
  EXPECT_THAT(json, HasSubstr("\"id.resp_p\":443"));
}

}  // namespace
}  // namespace dwae
