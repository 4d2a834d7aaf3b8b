// Featurizer::RefuseDuplicateIds against a quadratic reference: every
// entry from `first` on whose non-empty id repeats an earlier one of the
// batch refers to the earliest entry with that id.
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/featurizer.h"

namespace dwae::server {
namespace {

// The reference: the error each entry should end with ("" for OK).
std::vector<std::string> Reference(const std::vector<std::string>& ids,
                                   const std::vector<bool>& bad, size_t first) {
  std::vector<std::string> out(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (bad[i]) out[i] = "bad";
    if (i < first || bad[i] || ids[i].empty()) continue;
    for (size_t j = first; j < i; ++j) {
      if (ids[j] == ids[i]) {
        out[i] = absl::StrCat("id: duplicate of record ", j - first,
                              " in this batch");
        break;
      }
    }
  }
  return out;
}

TEST(RefuseDuplicateIdsTest, MatchesTheQuadraticReference) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    SCOPED_TRACE(trial);
    const size_t n = rng() % 600;
    const size_t first = n == 0 ? 0 : rng() % (n + 1);
    // Few distinct ids: many repeats; some empty, some entries invalid.
    const size_t distinct = 1 + rng() % (n + 1);
    std::vector<std::string> ids(n);
    std::vector<bool> bad(n);
    for (size_t i = 0; i < n; ++i) {
      const size_t k = rng() % distinct;
      ids[i] = k % 7 == 0 ? "" : absl::StrCat("KDDTest+.txt:", k, "#0");
      bad[i] = rng() % 10 == 0;
    }
    std::vector<BatchEntry> entries(n);
    for (size_t i = 0; i < n; ++i) {
      entries[i].id = &ids[i];
      if (bad[i]) entries[i].status = absl::InvalidArgumentError("bad");
    }
    Featurizer::RefuseDuplicateIds(&entries, first);
    const std::vector<std::string> expected = Reference(ids, bad, first);
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ(std::string(entries[i].status.message()), expected[i]) << i;
    }
  }
}

}  // namespace
}  // namespace dwae::server
