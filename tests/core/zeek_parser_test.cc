#include "core/zeek_parser.h"

#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "core/zeek_values.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

using ::testing::HasSubstr;

const char* const kHeader[] = {
    "#separator \\x09",
    "#set_separator\t,",
    "#empty_field\t(empty)",
    "#unset_field\t-",
    "#path\tconn",
    "#open\t2022-06-17-00-00-07",
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\t"
    "service\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\t"
    "local_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\t"
    "resp_ip_bytes\ttunnel_parents\tlabel\tdetailedlabel",
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\t"
    "count\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\t"
    "count\tset[string]\tstring\tstring",
};

constexpr char kLine[] =
    "1655157610.743948\tCHo14g2A86e0zO87V3\t167.94.146.67\t27620\t"
    "147.32.83.234\t2052\ttcp\t-\t0.000001\t0\t0\tS0\tF\tT\t0\tS\t2\t88\t0\t0\t"
    "(empty)\tMalicious\tExternal-Attack-to-Device";

// Feeds the header, expecting no connection and no error.
void FeedHeader(ZeekTsvParser* parser) {
  Connection c;
  for (const char* line : kHeader) {
    absl::StatusOr<bool> got = parser->ParseLine(line, &c);
    ASSERT_TRUE(got.ok()) << line << ": " << got.status();
    EXPECT_FALSE(*got);
  }
}

TEST(ZeekTsvParserTest, ParsesAStandardLine) {
  ZeekTsvParser parser;
  FeedHeader(&parser);
  EXPECT_EQ(parser.path(), "conn");
  Connection c;
  absl::StatusOr<bool> got = parser.ParseLine(kLine, &c);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(*got);
  EXPECT_DOUBLE_EQ(c.ts, 1655157610.743948);
  EXPECT_EQ(c.uid, "CHo14g2A86e0zO87V3");
  EXPECT_EQ(c.orig_h, "167.94.146.67");
  EXPECT_EQ(c.orig_p, 27620);
  EXPECT_EQ(c.resp_h, "147.32.83.234");
  EXPECT_EQ(c.resp_p, 2052);
  EXPECT_EQ(c.proto, "tcp");
  EXPECT_FALSE(c.has_service);
  EXPECT_DOUBLE_EQ(*c.duration, 0.000001);
  EXPECT_EQ(*c.orig_bytes, 0u);
  EXPECT_EQ(c.conn_state, "S0");
  EXPECT_EQ(c.local_orig, false);
  EXPECT_EQ(c.local_resp, true);
  EXPECT_TRUE(c.has_history);
  EXPECT_EQ(c.history, "S");
  EXPECT_EQ(*c.orig_pkts, 2u);
  EXPECT_EQ(*c.orig_ip_bytes, 88u);
  EXPECT_EQ(c.label, "Malicious");
  EXPECT_EQ(c.label_kind(), LabelKind::kAttack);
  EXPECT_DOUBLE_EQ(c.end_time(), 1655157610.743948 + 0.000001);
}

TEST(ZeekTsvParserTest, UnsetAndEmptyAreDistinct) {
  ZeekTsvParser parser;
  Connection c;
  ASSERT_TRUE(parser.ParseLine("#separator \\x09", &c).ok());
  ASSERT_TRUE(parser
                  .ParseLine("#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\t"
                             "id.resp_p\tproto\tconn_state\tservice\thistory\t"
                             "duration\tlocal_orig\tlabel",
                             &c)
                  .ok());
  ASSERT_TRUE(
      *parser.ParseLine("1\ta\t1\tb\t2\tudp\tS0\t(empty)\t-\t-\t-\t-", &c));
  EXPECT_TRUE(c.has_service);
  EXPECT_EQ(c.service, "");
  EXPECT_FALSE(c.has_history);
  EXPECT_FALSE(c.duration.has_value());
  EXPECT_FALSE(c.local_orig.has_value());
  EXPECT_FALSE(c.has_label);
  EXPECT_EQ(c.label_kind(), LabelKind::kUnlabeled);
  EXPECT_FALSE(c.orig_bytes.has_value());  // column absent: unset
}

TEST(ZeekTsvParserTest, HonoursDeclaredSeparatorsAndEscapes) {
  ZeekTsvParser parser;
  Connection c;
  for (const char* line :
       {"#separator \\x7c", "#set_separator|;", "#empty_field|EMPTY",
        "#unset_field|NONE",
        "#fields|id.resp_p|ts|proto|id.orig_h|extra|id.orig_p|id.resp_h|"
        "conn_state|service|uid"}) {
    absl::StatusOr<bool> got = parser.ParseLine(line, &c);
    ASSERT_TRUE(got.ok()) << line << ": " << got.status();
  }
  absl::StatusOr<bool> got = parser.ParseLine(
      "80|2.5|tcp|10.0.0.1|whatever|1234|10.0.0.2|SF|EMPTY|C\\x7cx\r", &c);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(*got);
  EXPECT_EQ(c.resp_p, 80);
  EXPECT_DOUBLE_EQ(c.ts, 2.5);
  EXPECT_EQ(c.orig_p, 1234);
  EXPECT_EQ(c.conn_state, "SF");
  EXPECT_TRUE(c.has_service);
  EXPECT_EQ(c.service, "");
  EXPECT_EQ(c.uid, "C|x");
  ASSERT_TRUE(*parser.ParseLine("80|2.5|tcp|a|x|1|b|SF|NONE|NONE", &c));
  EXPECT_FALSE(c.has_service);
  EXPECT_EQ(c.uid, "");
}

TEST(ZeekTsvParserTest, HeaderChangeInTheMiddleOfAFile) {
  ZeekTsvParser parser;
  FeedHeader(&parser);
  Connection c;
  ASSERT_TRUE(*parser.ParseLine(kLine, &c));
  ASSERT_TRUE(parser.ParseLine("#close\t2022-06-18-00-00-00", &c).ok());
  // A restarted Zeek with a different column order and fewer columns.
  for (const char* line :
       {"#separator \\x09", "#unset_field\t?",
        "#fields\tproto\tconn_state\tid.resp_p\tid.resp_h\tid.orig_p\t"
        "id.orig_h\tts\tduration"}) {
    ASSERT_TRUE(parser.ParseLine(line, &c).ok()) << line;
  }
  absl::StatusOr<bool> got =
      parser.ParseLine("udp\tSHR\t53\t8.8.8.8\t40000\t10.0.0.1\t99.5\t?", &c);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(c.proto, "udp");
  EXPECT_EQ(c.conn_state, "SHR");
  EXPECT_EQ(c.resp_p, 53);
  EXPECT_DOUBLE_EQ(c.ts, 99.5);
  EXPECT_FALSE(c.duration.has_value());
  EXPECT_FALSE(c.has_label);  // the new block has no label column
  // The old layout's line no longer fits.
  got = parser.ParseLine(kLine, &c);
  EXPECT_THAT(got.status().message(), HasSubstr("columns, #fields declares 8"));
}

TEST(ZeekTsvParserTest, MissingRequiredColumnIsNamed) {
  ZeekTsvParser parser;
  Connection c;
  ASSERT_TRUE(parser.ParseLine("#separator \\x09", &c).ok());
  absl::StatusOr<bool> got = parser.ParseLine(
      "#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tconn_state",
      &c);
  EXPECT_THAT(got.status().message(),
              HasSubstr("missing required column 'proto'"));
  got = parser.ParseLine("1\ta\t1\tb\t2\tSF", &c);
  EXPECT_THAT(got.status().message(),
              HasSubstr("missing required column 'proto'"));
}

TEST(ZeekTsvParserTest, DataBeforeAnyHeaderIsAnError) {
  ZeekTsvParser parser;
  Connection c;
  EXPECT_THAT(parser.ParseLine(kLine, &c).status().message(),
              HasSubstr("no #fields header"));
}

TEST(ZeekTsvParserTest, BadValuesNameTheColumnAndTheStreamGoesOn) {
  ZeekTsvParser parser;
  FeedHeader(&parser);
  Connection c;
  std::string bad = kLine;
  bad.replace(bad.find("27620"), 5, "http");
  EXPECT_EQ(parser.ParseLine(bad, &c).status().message(),
            "column 4 (id.orig_p): not a port: 'http'");
  bad = kLine;
  bad.replace(bad.find("27620"), 5, "70000");
  EXPECT_THAT(parser.ParseLine(bad, &c).status().message(),
              HasSubstr("column 4 (id.orig_p): port 70000 outside"));
  bad = kLine;
  bad.replace(bad.find("\tF\t"), 3, "\tyes\t");
  EXPECT_THAT(parser.ParseLine(bad, &c).status().message(),
              HasSubstr("column 13 (local_orig): not a bool"));
  bad = kLine;
  bad.replace(0, 17, "-");
  EXPECT_EQ(parser.ParseLine(bad, &c).status().message(),
            "column 1 (ts): unset");
  bad = kLine;
  bad.replace(bad.find("0.000001"), 8, "nan");
  EXPECT_THAT(parser.ParseLine(bad, &c).status().message(),
              HasSubstr("column 9 (duration): not a duration"));
  EXPECT_TRUE(*parser.ParseLine(kLine, &c));
}

TEST(ZeekJsonParserTest, ParsesEpochAndIsoTimestamps) {
  ZeekJsonParser parser;
  Connection c;
  absl::StatusOr<bool> got = parser.ParseLine(
      R"({"ts":1664462456.755299,"uid":"C5x","id.orig_h":"172.16.1.11",)"
      R"("id.orig_p":40042,"id.resp_h":"8.8.8.8","id.resp_p":53,"proto":"udp",)"
      R"("service":"dns","duration":0.5,"orig_bytes":0,"resp_bytes":111,)"
      R"("conn_state":"SHR","local_orig":true,"local_resp":false,)"
      R"("missed_bytes":0,"history":"Cd","orig_pkts":0,"orig_ip_bytes":0,)"
      R"("resp_pkts":1,"resp_ip_bytes":139,"label":"Benign","x":[1,2]})",
      &c);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(*got);
  EXPECT_DOUBLE_EQ(c.ts, 1664462456.755299);
  EXPECT_EQ(c.resp_p, 53);
  EXPECT_EQ(c.service, "dns");
  EXPECT_EQ(c.local_orig, true);
  EXPECT_EQ(*c.resp_ip_bytes, 139u);
  EXPECT_EQ(c.label_kind(), LabelKind::kNormal);
  EXPECT_DOUBLE_EQ(c.end_time(), 1664462457.255299);

  got = parser.ParseLine(
      R"({"ts":"2022-06-17T00:00:07.250000Z","id":{"orig_h":"a","orig_p":1,)"
      R"("resp_h":"b","resp_p":2},"proto":"tcp","conn_state":"S0"})",
      &c);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_DOUBLE_EQ(c.ts, 1655424007.25);
  EXPECT_EQ(c.orig_h, "a");
  EXPECT_EQ(c.resp_p, 2);
  EXPECT_FALSE(c.has_service);  // absent: unset
  EXPECT_FALSE(c.duration.has_value());
  got = parser.ParseLine(
      R"({"ts":"2022-06-17T02:00:07+02:00","id.orig_h":"a","id.orig_p":1,)"
      R"("id.resp_h":"b","id.resp_p":2,"proto":"tcp","conn_state":"S0"})",
      &c);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_DOUBLE_EQ(c.ts, 1655424007.0);
}

TEST(ZeekJsonParserTest, ErrorsNameTheField) {
  ZeekJsonParser parser;
  Connection c;
  EXPECT_EQ(
      parser
          .ParseLine(R"({"ts":1,"id.orig_h":"a","id.orig_p":1,)"
                     R"("id.resp_h":"b","proto":"tcp","conn_state":"S0"})",
                     &c)
          .status()
          .message(),
      "missing required column 'id.resp_p'");
  EXPECT_THAT(parser
                  .ParseLine(R"({"ts":1,"id.orig_h":"a","id.orig_p":-4,)"
                             R"("id.resp_h":"b","id.resp_p":2,"proto":"tcp",)"
                             R"("conn_state":"S0"})",
                             &c)
                  .status()
                  .message(),
              HasSubstr("id.orig_p: "));
  EXPECT_THAT(parser.ParseLine(R"({"ts":"yesterday"})", &c).status().message(),
              HasSubstr("ts: not an ISO 8601 time"));
  EXPECT_THAT(parser.ParseLine(R"({"ts":1,)", &c).status().message(),
              HasSubstr("JSON"));
  EXPECT_THAT(parser.ParseLine("[1,2]", &c).status().message(),
              HasSubstr("not a JSON object"));
  EXPECT_FALSE(*parser.ParseLine("  ", &c));
}

}  // namespace
}  // namespace dwae

namespace dwae {
namespace {

// Every column name maps back to its column (the lookup is a hash table that
// could not hold a name over NameIndex::kMaxNameBytes), and near misses do
// not.
TEST(ZeekColumnTest, EveryNameMapsBackToItsColumn) {
  for (int c = 0; c < kNumZeekColumns; ++c) {
    EXPECT_EQ(ZeekColumnFromName(ZeekColumnName(static_cast<ZeekColumn>(c))),
              c);
  }
  for (const char* other :
       {"", "t", "tss", "id.orig", "id.orig_hh", "ID.ORIG_H", "orig_ip_byte",
        "tunnel_parents", "detailedlabel", "a-name-longer-than-any-column"}) {
    EXPECT_EQ(ZeekColumnFromName(other), -1) << other;
  }
}

}  // namespace
}  // namespace dwae
