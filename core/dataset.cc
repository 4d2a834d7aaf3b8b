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

absl::StatusOr<std::vector<Record>> LoadFeatureRows(
    const std::string& path, InputFormat format, const ZeekFeatureOptions& zeek,
    InputFormat* used) {
  if (absl::Status s = zeek.Validate(); !s.ok()) return s;
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  RecordReader reader(format);
  ZeekFeatureExtractor extractor(zeek);
  std::vector<Record> rows;
  Entry entry;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    absl::StatusOr<bool> got = reader.Next(line, &entry);
    absl::Status status = got.status();
    if (status.ok() && *got) {
      if (Record* record = std::get_if<Record>(&entry)) {
        rows.push_back(std::move(*record));
      } else {
        const Connection& c = std::get<Connection>(entry);
        status = ValidateConnection(c);
        if (status.ok()) extractor.Extract(c, &rows.emplace_back());
      }
    }
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number, ": ", status.message()));
    }
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read error"));
  if (used != nullptr) *used = reader.format();
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
