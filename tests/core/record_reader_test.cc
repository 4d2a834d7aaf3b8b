#include "core/record_reader.h"

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

using ::testing::HasSubstr;

std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

TEST(RecordReaderTest, DetectsEveryShippedFormat) {
  EXPECT_EQ(*DetectInputFormat(FirstLine("data/nsl-kdd/KDDTest+.txt")),
            InputFormat::kNslKdd);
  EXPECT_EQ(*DetectInputFormat(
                FirstLine("data/zeek/ctu-normal-42-day2.conn.log.labeled")),
            InputFormat::kZeek);
  EXPECT_EQ(*DetectInputFormat(FirstLine("data/zeek/nmap-scans.conn.json.log")),
            InputFormat::kZeekJson);
  std::string kdd99 = FirstLine("data/nsl-kdd/KDDTest+.txt");
  kdd99 = kdd99.substr(0, kdd99.rfind(',')) + ".";
  EXPECT_EQ(*DetectInputFormat(kdd99), InputFormat::kKdd99);
  EXPECT_THAT(DetectInputFormat("hello world").status().message(),
              HasSubstr("cannot detect the record format"));
}

TEST(RecordReaderTest, ParsesFormatNames) {
  EXPECT_EQ(*ParseInputFormat("zeek-json"), InputFormat::kZeekJson);
  EXPECT_EQ(*ParseInputFormat("NSL-KDD"), InputFormat::kNslKdd);
  EXPECT_EQ(std::string(InputFormatName(InputFormat::kKdd99)), "kdd99");
  EXPECT_THAT(ParseInputFormat("csv").status().message(),
              HasSubstr("unknown record format 'csv'"));
  EXPECT_EQ(SchemaOfFormat(InputFormat::kZeek), FeatureSchema::kZeek);
  EXPECT_EQ(SchemaOfFormat(InputFormat::kNslKdd), FeatureSchema::kKdd);
}

// Reads a whole shipped file; returns {entries, errors}.
std::pair<int, int> ReadAll(const std::string& path, InputFormat format,
                            int* normal = nullptr, int* labeled = nullptr) {
  std::ifstream in(path);
  RecordReader reader(format);
  Entry entry;
  std::string line;
  int entries = 0, errors = 0;
  while (std::getline(in, line)) {
    absl::StatusOr<bool> got = reader.Next(line, &entry);
    if (!got.ok()) {
      ++errors;
      ADD_FAILURE() << path << ": " << got.status();
      continue;
    }
    if (!*got) continue;
    ++entries;
    if (normal != nullptr && EntryIsNormal(entry)) ++*normal;
    if (labeled != nullptr && EntryHasLabel(entry)) ++*labeled;
  }
  return {entries, errors};
}

TEST(RecordReaderTest, ReadsTheShippedZeekDaysWithAutoDetection) {
  int normal = 0, labeled = 0;
  EXPECT_EQ(ReadAll("data/zeek/ctu-normal-42-day2.conn.log.labeled",
                    InputFormat::kAuto, &normal, &labeled),
            std::make_pair(5347, 0));
  // README: 1,937 Benign, 3,373 Malicious, 37 Background.
  EXPECT_EQ(normal, 1937);
  EXPECT_EQ(labeled, 1937 + 3373);
  EXPECT_EQ(ReadAll("data/zeek/nmap-scans.conn.json.log", InputFormat::kAuto),
            std::make_pair(4504, 0));
}

TEST(RecordReaderTest, KddLinesBecomeRecordsAndErrorsDoNotStopTheReader) {
  RecordReader reader;
  Entry entry;
  const std::string line = FirstLine("data/nsl-kdd/KDDTest+.txt");
  ASSERT_TRUE(*reader.Next(line, &entry));
  EXPECT_EQ(reader.format(), InputFormat::kNslKdd);
  ASSERT_TRUE(std::holds_alternative<Record>(entry));
  EXPECT_THAT(reader.Next("1,2,3", &entry).status().message(),
              HasSubstr("fields"));
  EXPECT_FALSE(*reader.Next("", &entry));
  EXPECT_TRUE(*reader.Next(line, &entry));
}

TEST(RecordReaderTest, ReusesTheConnectionAcrossLines) {
  RecordReader reader(InputFormat::kZeekJson);
  Entry entry;
  const char* line =
      R"({"ts":1,"id.orig_h":"a","id.orig_p":1,"id.resp_h":"b",)"
      R"("id.resp_p":2,"proto":"tcp","conn_state":"S0","label":"Background"})";
  ASSERT_TRUE(*reader.Next(line, &entry));
  const Connection* first = &std::get<Connection>(entry);
  ASSERT_TRUE(*reader.Next(line, &entry));
  EXPECT_EQ(first, &std::get<Connection>(entry));
  EXPECT_FALSE(EntryHasLabel(entry));
  EXPECT_FALSE(EntryIsNormal(entry));
}

}  // namespace
}  // namespace dwae
