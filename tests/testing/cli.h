// Helpers for tests that run a command-line binary (such as dwae) as a child
// process from the source tree root and check its output.
//
// The binary's path is a parameter: DWAE_CLI_PATH is a compile definition of
// each test target, not of this library, so suites pass it in:
//
//   SubprocessResult r = testutil::RunCli(DWAE_CLI_PATH, {"eval", "--json"});
#ifndef DWAE_TESTS_TESTING_CLI_H_
#define DWAE_TESTS_TESTING_CLI_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tests/testing/json_value.h"
#include "tests/testing/subprocess.h"

namespace dwae {
namespace testutil {

// Runs `argv` (argv[0] is the program) from the source tree root with
// `timeout`. Adds a test failure if it cannot be started (and returns a
// default SubprocessResult) or if it timed out.
SubprocessResult RunArgvFromSourceDir(const std::vector<std::string>& argv,
                                      absl::Duration timeout);

// RunArgvFromSourceDir of `binary` followed by `args`.
SubprocessResult RunCli(const std::string& binary,
                        const std::vector<std::string>& args,
                        absl::Duration timeout = absl::Seconds(30));

// A loopback TCP port nothing listens on: bound once, then released.
int ClosedLoopbackPort();

// Expects `r` to have exited 0 with exactly one stdout line holding a JSON
// object (adding test failures otherwise); returns the parsed value, or
// nullopt if stdout is not valid JSON.
std::optional<JsonValue> ParseJsonStdout(const SubprocessResult& r);

}  // namespace testutil
}  // namespace dwae

#endif  // DWAE_TESTS_TESTING_CLI_H_
