// Loading record files (NSL-KDD, KDD Cup 99, Zeek conn.log) into memory.
//
// Thread-safety: pure functions.
#ifndef DWAE_CORE_DATASET_H_
#define DWAE_CORE_DATASET_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/record.h"
#include "core/record_reader.h"
#include "core/zeek_features.h"

namespace dwae {

// Reads every line of `path`. Blank lines are skipped; the first bad line
// fails the load with "PATH:LINE: <parser message>".
absl::StatusOr<std::vector<Record>> LoadRecords(const std::string& path,
                                                RecordFormat format);

// Reads every entry of `path` in `format` (kAuto: detected from the first
// line; the format used is stored in `*used` when not null) as model rows:
// KDD lines as they are (schema kdd), Zeek connections through one
// ZeekFeatureExtractor in file order, as one sensor (schema zeek). The first
// bad line fails the load with "PATH:LINE: <parser message>".
absl::StatusOr<std::vector<Record>> LoadFeatureRows(
    const std::string& path, InputFormat format,
    const ZeekFeatureOptions& zeek = {}, InputFormat* used = nullptr);

// The rows whose label is "normal".
std::vector<Record> NormalRows(const std::vector<Record>& rows);

}  // namespace dwae

#endif  // DWAE_CORE_DATASET_H_
