// Helpers for tests that run a command-line binary (such as dwae) as a child
// process from the source tree root and check its output.
//
// The binary's path is a parameter: DWAE_CLI_PATH is a compile definition of
// each test target, not of this library, so suites pass it in:
//
//   SubprocessResult r = testutil::RunCli(DWAE_CLI_PATH, {"eval", "--json"});
#ifndef DWAE_TESTS_TESTING_CLI_H_
#define DWAE_TESTS_TESTING_CLI_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
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

// Starts `binary` with `args` from the source tree root, running on in the
// background (no timeout). Adds a test failure and returns null if it
// cannot be started.
std::unique_ptr<Subprocess> StartCli(const std::string& binary,
                                     const std::vector<std::string>& args);

// Waits until `p` printed at least `n` lines on stdout; false on timeout.
bool WaitForStdoutLines(const Subprocess& p, size_t n,
                        absl::Duration timeout = absl::Seconds(10));

// Every non-empty line of `text` parsed as JSON; a bad line is a test
// failure and left out.
std::vector<JsonValue> JsonLines(absl::string_view text);

// A loopback TCP port nothing listens on: bound once, then released.
int ClosedLoopbackPort();

// Expects `r` to have exited 0 with exactly one stdout line holding a JSON
// object (adding test failures otherwise); returns the parsed value, or
// nullopt if stdout is not valid JSON.
std::optional<JsonValue> ParseJsonStdout(const SubprocessResult& r);

}  // namespace testutil
}  // namespace dwae

#endif  // DWAE_TESTS_TESTING_CLI_H_
