// SharedDaemonSuite: the base of gtest fixtures whose tests all run the dwae
// CLI against the same real dwaed processes, started once per suite.
//
//   class ReplayCliTest : public testutil::SharedDaemonSuite {
//    protected:
//     static void SetUpTestSuite() {
//       StartDaemons(CliSuiteOptions(DWAED_PATH, DWAE_CLI_PATH,
//                                    "dwae_replay_cli"));
//     }
//   };
//   TEST_F(ReplayCliTest, X) { RunDwae({"replay", ServerFlag(), path}); }
//
// TearDownTestSuite (inherited) stops every daemon with SIGTERM and expects
// exit code 0; SetUp (inherited) fails a test at once when a daemon did not
// start. A suite that overrides SetUp must call SharedDaemonSuite::SetUp.
//
// Because the daemons are shared, CMake registers such a binary as one ctest
// test, not one process per TEST. One suite at a time per binary (gtest runs
// suites one after another): the state below is static.
#ifndef DWAE_TESTS_TESTING_DAEMON_SUITE_H_
#define DWAE_TESTS_TESTING_DAEMON_SUITE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/subprocess.h"

namespace dwae::testutil {

// The short warm-up most CLI suites use: 300 records, 2 epochs.
inline constexpr char kQuickWarmupConfig[] =
    "learning { warmup_records: 300 warmup_epochs: 2 }\n";

struct SharedDaemonOptions {
  std::string dwaed;       // the dwaed binary (DWAED_PATH)
  std::string cli;         // the dwae binary (DWAE_CLI_PATH)
  std::string dir_prefix;  // of the suite's temporary directory
  std::string config = kQuickWarmupConfig;  // text DaemonConfig
  int replicas = 1;
  // Each daemon's --state_dir is <dir>/state<i> (else dwaed's default under
  // its config directory).
  bool state_in_dir = false;
  absl::Duration cli_timeout = absl::Seconds(30);
};

// Options with the three required fields set and the rest at defaults.
inline SharedDaemonOptions CliSuiteOptions(std::string dwaed, std::string cli,
                                           std::string dir_prefix) {
  SharedDaemonOptions o;
  o.dwaed = std::move(dwaed);
  o.cli = std::move(cli);
  o.dir_prefix = std::move(dir_prefix);
  return o;
}

class SharedDaemonSuite : public ::testing::Test {
 protected:
  // Makes the suite's temporary directory and starts the daemons; a failure
  // is a fatal test failure (the tests then fail in SetUp).
  static void StartDaemons(const SharedDaemonOptions& options);
  static void TearDownTestSuite();
  void SetUp() override;

  static TestDaemon& daemon(int i = 0);
  static int port(int i = 0) { return daemon(i).port; }
  // "127.0.0.1:<port>" and "--server=127.0.0.1:<port>".
  static std::string Address(int i = 0) { return daemon(i).address(); }
  static std::string ServerFlag(int i = 0) { return "--server=" + Address(i); }
  // The suite's temporary directory.
  static const std::string& dir();

  // Writes `lines` (newline-terminated) to dir()/name; returns the path.
  static std::string WriteLines(const std::string& name,
                                const std::vector<std::string>& lines);
  // Runs the CLI with `args` from the source tree root (RunCli).
  static SubprocessResult RunDwae(const std::vector<std::string>& args);
  static const SharedDaemonOptions& options();
};

}  // namespace dwae::testutil

#endif  // DWAE_TESTS_TESTING_DAEMON_SUITE_H_
