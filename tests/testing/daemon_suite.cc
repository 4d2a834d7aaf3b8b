#include "tests/testing/daemon_suite.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/testing/cli.h"
#include "tests/testing/temp_files.h"

namespace dwae::testutil {
namespace {

// The running suite's state (one suite at a time per binary).
struct SuiteState {
  SharedDaemonOptions options;
  std::string dir;
  std::vector<std::unique_ptr<TestDaemon>> daemons;
};
SuiteState* suite = nullptr;

}  // namespace

void SharedDaemonSuite::StartDaemons(const SharedDaemonOptions& options) {
  delete suite;
  suite = new SuiteState{options, MakeTempDir(options.dir_prefix), {}};
  for (int i = 0; i < options.replicas; ++i) {
    std::vector<std::string> flags;
    if (options.state_in_dir) {
      flags.push_back(absl::StrCat("--state_dir=", suite->dir, "/state", i));
    }
    absl::StatusOr<TestDaemon> d =
        StartTestDaemon(options.dwaed, options.config, flags);
    ASSERT_TRUE(d.ok()) << d.status();
    suite->daemons.push_back(std::make_unique<TestDaemon>(*std::move(d)));
  }
}

void SharedDaemonSuite::TearDownTestSuite() {
  if (suite == nullptr) return;
  for (std::unique_ptr<TestDaemon>& d : suite->daemons) {
    const SubprocessResult r = StopTestDaemon(d.get());
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
  }
  delete suite;
  suite = nullptr;
}

void SharedDaemonSuite::SetUp() {
  ASSERT_NE(suite, nullptr) << "StartDaemons was not called";
  ASSERT_EQ(int(suite->daemons.size()), suite->options.replicas)
      << "dwaed did not start";
  for (const std::unique_ptr<TestDaemon>& d : suite->daemons) {
    ASSERT_GT(d->port, 0);
  }
}

TestDaemon& SharedDaemonSuite::daemon(int i) { return *suite->daemons.at(i); }

const std::string& SharedDaemonSuite::dir() { return suite->dir; }

const SharedDaemonOptions& SharedDaemonSuite::options() {
  return suite->options;
}

std::string SharedDaemonSuite::WriteLines(
    const std::string& name, const std::vector<std::string>& lines) {
  const std::string path = absl::StrCat(suite->dir, "/", name);
  EXPECT_TRUE(WriteFile(path, absl::StrJoin(lines, "\n") + "\n"));
  return path;
}

SubprocessResult SharedDaemonSuite::RunDwae(
    const std::vector<std::string>& args) {
  return RunCli(suite->options.cli, args, suite->options.cli_timeout);
}

}  // namespace dwae::testutil
