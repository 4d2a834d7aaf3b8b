// Starting a real dwaed for an end-to-end test suite: a fresh temporary
// directory holding its config file, the daemon listening on a free loopback
// port (no /metrics), its port read back from the "serving gRPC ... (port N)"
// line, and a SIGTERM stop.
//
//   absl::StatusOr<TestDaemon> d = StartTestDaemon(
//       DWAED_PATH, "learning { warmup_records: 300 }\n");
//   ASSERT_TRUE(d.ok()) << d.status();
//   ... run dwae --server=<d->address()> ...
//   const SubprocessResult r = StopTestDaemon(&*d);
//   EXPECT_EQ(r.exit_code, 0) << r.Describe();
//
// Thread-safety: none beyond Subprocess's; use a TestDaemon from one thread
// at a time (typically SetUpTestSuite/TearDownTestSuite).
#ifndef DWAE_TESTS_TESTING_DAEMON_PROCESS_H_
#define DWAE_TESTS_TESTING_DAEMON_PROCESS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/testing/subprocess.h"

namespace dwae::testutil {

struct TestDaemon {
  // The running dwaed; null once stopped.
  std::unique_ptr<Subprocess> process;
  // Its gRPC port on 127.0.0.1.
  int port = 0;
  // Its /metrics port when extra_args enabled the listener (e.g.
  // --metrics_listen=127.0.0.1:0), else 0.
  int metrics_port = 0;
  // The fresh temporary directory holding its config (dwaed.textproto). Not
  // the daemon's --state_dir unless the caller passed that in extra_args.
  std::string dir;

  // "127.0.0.1:<port>".
  std::string address() const;
};

// Writes `config_text` to a new temporary directory and starts `dwaed_path`
// from DWAE_SOURCE_DIR with --listen=127.0.0.1:0 --metrics_listen=
// --config=<that file> followed by `extra_args`, then waits up to 15 s for
// "serving gRPC" and parses the port. Fails (with both output streams in the
// message; the child is killed) if any step does.
absl::StatusOr<TestDaemon> StartTestDaemon(
    const std::string& dwaed_path, const std::string& config_text,
    const std::vector<std::string>& extra_args = {});

// Sends SIGTERM, waits up to 15 s and returns the result (exit_code and both
// streams). Resets daemon->process; a no-op result (exit_code -1) if it was
// already stopped.
SubprocessResult StopTestDaemon(TestDaemon* daemon);

}  // namespace dwae::testutil

#endif  // DWAE_TESTS_TESTING_DAEMON_PROCESS_H_
