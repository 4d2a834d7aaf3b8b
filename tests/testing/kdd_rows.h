// The shipped NSL-KDD files (data/nsl-kdd/) as core records, for tests.
#ifndef DWAE_TESTS_TESTING_KDD_ROWS_H_
#define DWAE_TESTS_TESTING_KDD_ROWS_H_

#include <string>
#include <vector>

#include "core/record.h"

namespace dwae::testutil {

// Every row of data/nsl-kdd/`name` (e.g. "KDDTest+.txt") in the source tree;
// on a load error, a test failure naming it and no rows.
std::vector<Record> LoadKddRows(const std::string& name);

}  // namespace dwae::testutil

#endif  // DWAE_TESTS_TESTING_KDD_ROWS_H_
