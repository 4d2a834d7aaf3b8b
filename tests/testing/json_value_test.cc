#include "tests/testing/json_value.h"

#include <cmath>
#include <limits>
#include <string>

#include "client/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dwae {
namespace testutil {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

JsonValue MustParse(absl::string_view text) {
  absl::StatusOr<JsonValue> v = ParseJson(text);
  EXPECT_TRUE(v.ok()) << text << ": " << v.status();
  return v.ok() ? *std::move(v) : JsonValue();
}

TEST(JsonValueTest, ParsesScalars) {
  EXPECT_TRUE(MustParse("null").is_null());
  EXPECT_TRUE(MustParse("true").as_bool());
  EXPECT_TRUE(MustParse("false").is_bool());
  EXPECT_FALSE(MustParse("false").as_bool());
  EXPECT_EQ(MustParse("0").as_number(), 0);
  EXPECT_EQ(MustParse("-0").as_number(), 0);
  EXPECT_EQ(MustParse("42").as_number(), 42);
  EXPECT_EQ(MustParse("-17").as_number(), -17);
  EXPECT_EQ(MustParse("3.25").as_number(), 3.25);
  EXPECT_EQ(MustParse("1e3").as_number(), 1000);
  EXPECT_EQ(MustParse("1E+3").as_number(), 1000);
  EXPECT_EQ(MustParse("2.5e-3").as_number(), 0.0025);
  EXPECT_EQ(MustParse("0.1").as_number(), 0.1);
  EXPECT_EQ(MustParse("1.7976931348623157e308").as_number(),
            std::numeric_limits<double>::max());
  EXPECT_EQ(MustParse("\"hi\"").as_string(), "hi");
  EXPECT_EQ(MustParse("  \t\r\n 7 \n").as_number(), 7);
}

TEST(JsonValueTest, ParsesStringEscapes) {
  EXPECT_EQ(MustParse(R"("a\"b\\c\/d")").as_string(), "a\"b\\c/d");
  EXPECT_EQ(MustParse(R"("\b\f\n\r\t")").as_string(), "\b\f\n\r\t");
  EXPECT_EQ(MustParse(R"("\u0041\u00e9\u20AC")").as_string(),
            "A\xC3\xA9\xE2\x82\xAC");
  EXPECT_EQ(MustParse(R"("\u0000")").as_string(), std::string(1, '\0'));
  // U+1F600 as a surrogate pair.
  EXPECT_EQ(MustParse(R"("\ud83d\ude00")").as_string(), "\xF0\x9F\x98\x80");
  // Raw UTF-8 passes through.
  EXPECT_EQ(MustParse("\"\xC3\xA9\"").as_string(), "\xC3\xA9");
}

TEST(JsonValueTest, ParsesNestedDocument) {
  const JsonValue doc = MustParse(R"({
    "name": "dwae",
    "seeds": [1, 2, 3],
    "empty_object": {},
    "empty_array": [],
    "nested": {"a": {"b": [true, null, {"c": -1.5}]}},
    "z": 0
  })");
  ASSERT_TRUE(doc.is_object());
  EXPECT_THAT(doc.keys(), ElementsAre("name", "seeds", "empty_object",
                                      "empty_array", "nested", "z"));
  EXPECT_EQ(doc.size(), 6u);
  EXPECT_TRUE(doc.has("seeds"));
  EXPECT_FALSE(doc.has("missing"));
  EXPECT_EQ(doc["name"].as_string(), "dwae");
  ASSERT_TRUE(doc["seeds"].is_array());
  ASSERT_EQ(doc["seeds"].items().size(), 3u);
  EXPECT_EQ(doc["seeds"].items()[2].as_number(), 3);
  EXPECT_EQ(doc["seeds"].at(0).as_number(), 1);
  EXPECT_TRUE(doc["seeds"].at(3).is_null());
  EXPECT_TRUE(doc["empty_object"].is_object());
  EXPECT_EQ(doc["empty_object"].size(), 0u);
  EXPECT_TRUE(doc["empty_array"].is_array());
  EXPECT_TRUE(doc["empty_array"].items().empty());
  EXPECT_EQ(doc["nested"]["a"]["b"].at(2)["c"].as_number(), -1.5);
  EXPECT_TRUE(doc["nested"]["a"]["b"].at(1).is_null());
}

TEST(JsonValueTest, MissingKeysAndWrongTypesAreForgiving) {
  const JsonValue doc = MustParse(R"({"a": 1, "s": "x"})");
  EXPECT_TRUE(doc["missing"].is_null());
  EXPECT_TRUE(doc["missing"]["deeper"]["still"].is_null());
  EXPECT_TRUE(doc["a"]["not an object"].is_null());
  EXPECT_TRUE(std::isnan(doc["s"].as_number()));
  EXPECT_EQ(doc["a"].as_string(), "");
  EXPECT_TRUE(doc["a"].keys().empty());
  EXPECT_TRUE(doc.items().empty());
}

TEST(JsonValueTest, EqualityAndToStringRoundTrip) {
  const std::string text =
      R"({"a":[1,2.5,-3e-07],"b":{"c":"q\"\\\n\u0001"},"d":true,"e":null})";
  const JsonValue doc = MustParse(text);
  EXPECT_EQ(MustParse(doc.ToString()), doc);
  EXPECT_NE(MustParse(R"({"a":1})"), MustParse(R"({"a":2})"));
  EXPECT_NE(MustParse(R"({"a":1,"b":2})"), MustParse(R"({"b":2,"a":1})"));
  EXPECT_NE(MustParse("[1]"), MustParse("[1,1]"));
  EXPECT_NE(MustParse("1"), MustParse("\"1\""));
}

void ExpectRejected(absl::string_view text, absl::string_view why) {
  absl::StatusOr<JsonValue> v = ParseJson(text);
  EXPECT_FALSE(v.ok()) << "accepted: " << text;
  if (!v.ok()) {
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(v.status().message(), HasSubstr(why)) << "for: " << text;
  }
}

// The grammar is nlohmann-json's; these pin what the CLI tests rely on: a
// malformed document is an error, never a partial value.
TEST(JsonValueTest, RejectsMalformedDocuments) {
  for (absl::string_view text : {
           "{} x",
           "1 2",
           "[1]]",
           "{}{}",
           "nullx",
           "\"a\"\"b\"",  // trailing
           "",
           "   ",
           "{",
           "[",
           "[1",
           R"({"a":1)",
           R"({"a")",
           R"({"a":})",
           "tru",
           "nul",
           "True",  // truncated
           "\"abc",
           "\"abc\\",
           "\"a\nb\"",
           "\"a\tb\"",
           R"("\x41")",
           R"("\u12")",
           R"("\u12G4")",
           R"("\ud83d")",
           R"("\ude00")",
           "'single'",  // strings
           "01",
           "-01",
           "+1",
           ".5",
           "1.",
           "1e",
           "-",
           "0x10",
           "1.5.2",
           "NaN",
           "Infinity",
           "-Infinity",
           "1e400",  // numbers
           "[1,]",
           "[,1]",
           R"({"a":1,})",
           "{,}",
           R"({"a" 1})",
           R"({a: 1})",
           R"({"a":1 "b":2})",
           "[1}]",
           "[1,2 3]",  // structure
       }) {
    ExpectRejected(text, "bad JSON");
  }
}

TEST(JsonValueTest, RejectsDuplicateKeys) {
  ExpectRejected(R"({"a":1,"a":2})", "duplicate key \"a\"");
  EXPECT_TRUE(ParseJson(R"({"a":{"a":1},"b":[{"a":2}]})").ok());
}

TEST(JsonValueTest, RejectsExcessiveNesting) {
  const int depth = JsonValue::kMaxDepth;
  EXPECT_TRUE(
      ParseJson(std::string(depth, '[') + std::string(depth, ']')).ok());
  ExpectRejected(std::string(depth + 1, '[') + std::string(depth + 1, ']'),
                 "nesting too deep");
  ExpectRejected(std::string(100000, '['), "nesting too deep");
}

TEST(JsonValueTest, ErrorsReportLineAndColumn) {
  absl::StatusOr<JsonValue> v = ParseJson("{\n  \"a\": 1,\n  \"b\": tru\n}");
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(v.status().message(), HasSubstr("line 3, column"));
}

// The CLI's output (client/json.h: nlohmann-json values written by DumpJson)
// parses back, through ParseJson, to what was written.

TEST(DumpJsonRoundTripTest, NestedDocumentKeepsMemberOrder) {
  Json doc;
  doc["name"] = "dwae";
  doc["seeds"] = {1, 2, 3};
  doc["nested"]["empty_array"] = Json::array();
  doc["nested"]["empty_object"] = Json::object();
  doc["nested"]["matrix"] = {{0.5, -2}, {true, false, nullptr}};
  doc["big"] = -9007199254740993LL;
  const std::string text = DumpJson(doc);

  absl::StatusOr<JsonValue> parsed = ParseJson(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << text;
  const JsonValue expected = JsonValue::Object({
      {"name", JsonValue::String("dwae")},
      {"seeds", JsonValue::Array({JsonValue::Number(1), JsonValue::Number(2),
                                  JsonValue::Number(3)})},
      {"nested", JsonValue::Object({
                     {"empty_array", JsonValue::Array({})},
                     {"empty_object", JsonValue::Object({})},
                     {"matrix", JsonValue::Array(
                                    {JsonValue::Array({JsonValue::Number(0.5),
                                                       JsonValue::Number(-2)}),
                                     JsonValue::Array({JsonValue::Bool(true),
                                                       JsonValue::Bool(false),
                                                       JsonValue()})})},
                 })},
      {"big", JsonValue::Number(-9007199254740993.0)},
  });
  EXPECT_EQ(*parsed, expected) << text;
  // Exact integer text, even past 2^53.
  EXPECT_THAT(text, HasSubstr("\"big\":-9007199254740993}"));
  // JsonValue::ToString writes the same compact text back.
  EXPECT_EQ(parsed->ToString(),
            "{\"name\":\"dwae\",\"seeds\":[1,2,3],\"nested\":{\"empty_array\":"
            "[],\"empty_object\":{},\"matrix\":[[0.5,-2],[true,false,null]]},"
            "\"big\":-9007199254740992}");
}

TEST(DumpJsonRoundTripTest, StringsRoundTripAndInvalidUtf8IsReplaced) {
  std::string every_control;
  for (int c = 0; c < 0x20; ++c) every_control.push_back(static_cast<char>(c));
  const std::string cases[] = {
      "",
      "plain",
      "say \"hi\"",
      "back\\slash",
      "line\nbreak\r\ttab",
      every_control,
      std::string("nul\0byte", 8),
      "\x7f del",
      "utf8 \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80",
      "trailing backslash \\",
  };
  for (const std::string& s : cases) {
    Json doc;
    doc[s] = s;  // keys escape the same way
    const std::string text = DumpJson(doc);
    for (char c : text) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << text;
    absl::StatusOr<JsonValue> v = ParseJson(text);
    ASSERT_TRUE(v.ok()) << v.status() << " for " << text;
    ASSERT_EQ(v->keys().size(), 1u);
    EXPECT_EQ(v->keys()[0], s);
    EXPECT_EQ((*v)[s].as_string(), s);
  }
  EXPECT_EQ(QuoteJson("a\"b\\c"), R"("a\"b\\c")");
  // A record's stray byte is no reason to lose the whole output line.
  EXPECT_EQ(QuoteJson("bad \xFF byte"), "\"bad \xEF\xBF\xBD byte\"");
}

TEST(DumpJsonRoundTripTest, NumbersRoundTripExactly) {
  for (double x : {0.0, -0.0, 1.0, -1.0, 0.1, 1e-300, 1e300, 123456789.0,
                   0.8576339603, 2e-15, 4.9e-324, 1.5e308}) {
    absl::StatusOr<JsonValue> v = ParseJson(DumpJson(Json(x)));
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->as_number(), x) << DumpJson(Json(x));
  }
}

TEST(DumpJsonRoundTripTest, NonFiniteNumbersBecomeNull) {
  Json doc;
  doc["nan"] = std::numeric_limits<double>::quiet_NaN();
  doc["inf"] = std::numeric_limits<double>::infinity();
  doc["absent"] = NumberOrNull(false, 3);
  doc["present"] = NumberOrNull(true, 2);
  EXPECT_EQ(DumpJson(doc),
            R"({"nan":null,"inf":null,"absent":null,"present":2.0})");
  absl::StatusOr<JsonValue> v = ParseJson(DumpJson(doc));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE((*v)["nan"].is_null());
  EXPECT_EQ((*v)["present"].as_number(), 2);
}

}  // namespace
}  // namespace testutil
}  // namespace dwae
