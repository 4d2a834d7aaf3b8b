// The record parser's fast path against its reference (the oracle): on every
// line of the NSL-KDD files, on number forms in every kind of column, on
// mutated lines and on random bytes, ParseWellFormedLine either declines or
// produces exactly the reference's record (doubles compared bit for bit), and
// ParseRecordLine always returns exactly the reference's answer, errors
// included.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/record.h"
#include "core/record_parse_internal.h"
#include "core/rng.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

using record_internal::ParseRecordLineReference;
using record_internal::ParseWellFormedLine;

constexpr char kNslLine[] =
    "0,tcp,ftp_data,SF,491,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,2,2,0.00,0.00,"
    "0.00,0.00,1.00,0.00,0.00,150,25,0.17,0.03,0.17,0.00,0.00,0.00,0.05,0.00,"
    "normal,20";

bool SameBits(double a, double b) { return std::memcmp(&a, &b, 8) == 0; }

// Empty when equal, else the first difference.
std::string Difference(const Record& a, const Record& b) {
  for (int i = 0; i < kNumFeatures; ++i) {
    if (!SameBits(a.numeric[i], b.numeric[i])) {
      return absl::StrFormat("numeric[%d]: %.17g vs %.17g", i, a.numeric[i],
                             b.numeric[i]);
    }
  }
  for (int i = 0; i < kNumZeekExtras; ++i) {
    if (!SameBits(a.extra[i], b.extra[i])) return absl::StrCat("extra ", i);
  }
  if (a.schema != b.schema) return "schema";
  if (a.protocol_type != b.protocol_type) return "protocol_type";
  if (a.service != b.service) return "service";
  if (a.flag != b.flag) return "flag";
  if (a.label != b.label) return "label";
  if (a.difficulty != b.difficulty) return "difficulty";
  return "";
}

// Checks both halves on `line`; returns whether the fast path took it.
bool CheckAgainstReference(const std::string& line, RecordFormat format) {
  const absl::StatusOr<Record> want = ParseRecordLineReference(line, format);
  const absl::StatusOr<Record> got = ParseRecordLine(line, format);
  EXPECT_EQ(got.status(), want.status()) << line;
  if (got.ok() && want.ok()) {
    EXPECT_EQ(Difference(*got, *want), "") << line;
  }
  // The fast path's contract: only trimmed, non-empty lines within the limit.
  if (line.empty() || line.size() > kMaxLineBytes || line.front() <= ' ' ||
      line.back() <= ' ') {
    return false;
  }
  Record fast;
  if (!ParseWellFormedLine(line, format, &fast)) return false;
  EXPECT_TRUE(want.ok()) << "fast path took a line the reference refuses: "
                         << line << ": " << want.status();
  if (want.ok()) {
    EXPECT_EQ(Difference(fast, *want), "") << line;
  }
  return true;
}

TEST(RecordFastPathTest, TakesEveryDataFileLineExactly) {
  for (const char* name :
       {"KDDTrain+_20Percent.txt", "KDDTest+.txt", "KDDTest-21.txt"}) {
    std::ifstream in(absl::StrCat(DWAE_SOURCE_DIR, "/data/nsl-kdd/", name));
    ASSERT_TRUE(in) << name;
    std::string line;
    int lines = 0, taken = 0;
    while (std::getline(in, line)) {
      ++lines;
      taken += CheckAgainstReference(line, RecordFormat::kNslKdd);
    }
    EXPECT_GT(lines, 10000) << name;
    EXPECT_EQ(taken, lines) << name << ": the fast path declined some lines";
  }
}

// kNslLine with feature `column` (1-based) replaced by `value`, and the
// label and difficulty dropped when `bare`.
std::string LineWith(int column, const std::string& value, bool bare) {
  std::vector<std::string> fields = absl::StrSplit(kNslLine, ',');
  fields[column - 1] = value;
  if (bare) fields.resize(kNumFeatures);
  return absl::StrJoin(fields, ",");
}

// Plain decimals of every length and the forms around them, in a count
// column, a rate column and the last column (with and without what follows).
TEST(RecordFastPathTest, NumberFormsInEveryKindOfColumn) {
  Rng rng(13);
  std::vector<std::string> texts = {"0",
                                    "9",
                                    "10",
                                    "0.00",
                                    "1.00",
                                    "9.99",
                                    "0.5",
                                    "0.05",
                                    "0.055",
                                    "1.",
                                    ".5",
                                    ".",
                                    "00",
                                    "00.70",
                                    "-0",
                                    "+1",
                                    "1e3",
                                    "0x10",
                                    "1.2.3",
                                    "",
                                    " 1",
                                    "1 ",
                                    "nan",
                                    "inf",
                                    "1e400",
                                    "1e-400",
                                    "a.bc",
                                    "1.a0",
                                    "0.0a",
                                    "9.9,",
                                    "1e15",
                                    "1000000000000000",
                                    "999999999999999",
                                    "0.000000000000001",
                                    "0.0000000000000001",
                                    "123456.789012345"};
  for (int i = 0; i < 3000; ++i) {
    const int decimals = int(rng.Below(17));
    const double scale = double(uint64_t{1} << rng.Below(50));
    texts.push_back(absl::StrFormat("%.*f", decimals, rng.Uniform() * scale));
  }
  int taken = 0;
  for (const std::string& text : texts) {
    for (int column : {1, 5, 23, 25, 41}) {
      for (bool bare : {false, true}) {
        for (RecordFormat format :
             {RecordFormat::kNslKdd, RecordFormat::kKdd99}) {
          taken += CheckAgainstReference(LineWith(column, text, bare), format);
        }
      }
    }
  }
  EXPECT_GT(taken, 3000 * 5);  // the decimals above are mostly plain
}

// One random edit of `line`: replace, insert or delete a byte drawn mostly
// from the characters that matter to the parser.
std::string Mutate(std::string line, Rng& rng) {
  static constexpr char kBytes[] = "0123456789.,,,-+eE \t\r\nax";
  const char byte = rng.Below(8) == 0 ? char(rng.Below(256))
                                      : kBytes[rng.Below(sizeof(kBytes) - 1)];
  const size_t at = rng.Below(line.size() + 1);
  switch (rng.Below(3)) {
    case 0:
      if (at < line.size()) line[at] = byte;
      break;
    case 1:
      line.insert(line.begin() + at, byte);
      break;
    default:
      if (at < line.size()) line.erase(at, 1);
  }
  return line;
}

TEST(RecordFastPathTest, MutatedLines) {
  Rng rng(14);
  const std::vector<std::string> seeds = {
      kNslLine, LineWith(5, "491", true),
      "0,tcp,http,SF,181,5450,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,8,8,0.00,0.00,"
      "0.00,0.00,1.00,0.00,0.00,9,9,1.00,0.00,0.11,0.00,0.00,0.00,0.00,0.00,"
      "normal."};
  int taken = 0, tried = 0;
  for (const std::string& seed : seeds) {
    for (int i = 0; i < 6000; ++i) {
      std::string line = seed;
      const int edits = 1 + int(rng.Below(3));
      for (int e = 0; e < edits; ++e) line = Mutate(line, rng);
      for (RecordFormat format :
           {RecordFormat::kNslKdd, RecordFormat::kKdd99}) {
        taken += CheckAgainstReference(line, format);
        ++tried;
      }
    }
  }
  // Both outcomes must be exercised for the comparison to mean anything.
  EXPECT_GT(taken, tried / 10);
  EXPECT_LT(taken, tried * 9 / 10);
}

TEST(RecordFastPathTest, RandomBytes) {
  Rng rng(15);
  for (int i = 0; i < 20000; ++i) {
    std::string line(rng.Below(200), '\0');
    for (char& c : line) c = char(rng.Below(256));
    CheckAgainstReference(line, RecordFormat::kNslKdd);
    CheckAgainstReference(line, RecordFormat::kKdd99);
  }
}

}  // namespace
}  // namespace dwae
