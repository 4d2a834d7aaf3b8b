#include "tests/testing/kdd_rows.h"

#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/dataset.h"
#include "gtest/gtest.h"

namespace dwae::testutil {

std::vector<Record> LoadKddRows(const std::string& name) {
  absl::StatusOr<std::vector<Record>> rows =
      LoadRecords(absl::StrCat(DWAE_SOURCE_DIR, "/data/nsl-kdd/", name),
                  RecordFormat::kNslKdd);
  EXPECT_TRUE(rows.ok()) << rows.status();
  return rows.ok() ? *std::move(rows) : std::vector<Record>();
}

}  // namespace dwae::testutil
