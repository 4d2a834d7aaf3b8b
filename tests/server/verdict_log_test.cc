// VerdictLog: ids map to their latest verdict while it is in the window,
// and leave it with the verdict (the index is keyed by the ids' hashes).
#include "server/verdict_log.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace dwae::server {
namespace {

void Append(VerdictLog& log, const std::vector<std::string>& ids,
            double score) {
  const std::string sensor = "s";
  std::vector<VerdictRow> rows(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    rows[i].id = &ids[i];
    rows[i].sensor_id = &sensor;
    rows[i].score = score;
  }
  log.Append(rows.data(), rows.size(), FeatureSchema::kKdd, absl::Now());
}

std::vector<double> Find(const VerdictLog& log,
                         const std::vector<std::string>& ids) {
  google::protobuf::RepeatedPtrField<std::string> query(ids.begin(), ids.end());
  google::protobuf::RepeatedPtrField<v1::Verdict> found;
  log.FindByIds(query, &found);
  std::vector<double> scores;
  for (const v1::Verdict& v : found) scores.push_back(v.score());
  return scores;
}

TEST(VerdictLogTest, IdsFindTheirLatestVerdictWhileInTheWindow) {
  VerdictLog log(4);
  Append(log, {"a", "b", ""}, 1);
  Append(log, {"a"}, 2);  // "a" again: the newer verdict answers
  EXPECT_EQ(Find(log, {"a", "b", "c"}), (std::vector<double>{2, 1}));
  EXPECT_EQ(log.last_sequence(), 4u);
  // Sequence 5 overwrites the slot of the first "a" (sequence 1): the
  // index keeps pointing at the newer "a".
  Append(log, {"c"}, 3);
  EXPECT_EQ(Find(log, {"a", "b", "c"}), (std::vector<double>{2, 1, 3}));
  // Three more push out "b" (sequence 2) and the second "a" (sequence 4).
  Append(log, {"d", "e", "f"}, 4);
  EXPECT_EQ(Find(log, {"a", "b", "c", "d", "e", "f"}),
            (std::vector<double>{3, 4, 4, 4}));
}

TEST(VerdictLogTest, ManyIdsCycleThroughAFullWindow) {
  VerdictLog log(100);
  for (int round = 0; round < 5; ++round) {
    std::vector<std::string> ids;
    for (int i = 0; i < 150; ++i) ids.push_back(absl::StrCat("id-", i));
    Append(log, ids, round);
  }
  // The last 100 of the last round are in the window, the first 50 not.
  EXPECT_EQ(Find(log, {"id-0", "id-49"}).size(), 0u);
  EXPECT_EQ(Find(log, {"id-50", "id-149"}), (std::vector<double>{4, 4}));
}

}  // namespace
}  // namespace dwae::server
