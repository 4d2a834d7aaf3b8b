// Loading record files (NSL-KDD or KDD Cup 99 text) into memory.
//
// Thread-safety: pure functions.
#ifndef DWAE_CORE_DATASET_H_
#define DWAE_CORE_DATASET_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/record.h"

namespace dwae {

// Reads every line of `path`. Blank lines are skipped; the first bad line
// fails the load with "PATH:LINE: <parser message>".
absl::StatusOr<std::vector<Record>> LoadRecords(const std::string& path,
                                                RecordFormat format);

// The rows whose label is "normal".
std::vector<Record> NormalRows(const std::vector<Record>& rows);

}  // namespace dwae

#endif  // DWAE_CORE_DATASET_H_
