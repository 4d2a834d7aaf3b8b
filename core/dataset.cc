#include "core/dataset.h"

#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace dwae {

absl::StatusOr<std::vector<Record>> LoadRecords(const std::string& path,
                                                RecordFormat format) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::vector<Record> rows;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    absl::StatusOr<Record> record = ParseRecordLine(line, format);
    if (!record.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number, ": ", record.status().message()));
    }
    rows.push_back(*std::move(record));
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read error"));
  return rows;
}

std::vector<Record> NormalRows(const std::vector<Record>& rows) {
  std::vector<Record> normal;
  for (const Record& r : rows) {
    if (r.is_normal()) normal.push_back(r);
  }
  return normal;
}

}  // namespace dwae
