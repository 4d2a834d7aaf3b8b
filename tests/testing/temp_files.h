// Small file helpers for tests: fresh temporary directories and whole-file
// reads and writes.
#ifndef DWAE_TESTS_TESTING_TEMP_FILES_H_
#define DWAE_TESTS_TESTING_TEMP_FILES_H_

#include <string>

#include "absl/strings/string_view.h"

namespace dwae::testutil {

// A new, empty directory under ::testing::TempDir(), named after `prefix`.
std::string MakeTempDir(absl::string_view prefix);
// The file's content, or "" when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);
// Replaces the file's content; false on failure.
bool WriteFile(const std::string& path, absl::string_view content);

}  // namespace dwae::testutil

#endif  // DWAE_TESTS_TESTING_TEMP_FILES_H_
