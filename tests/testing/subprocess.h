// Running child processes from tests: fork/execvp with no shell, capturing
// stdout and stderr through pipes, with a timeout that kills the child.
//
//   absl::StatusOr<SubprocessResult> r =
//       RunSubprocess({"/path/to/dwae", "eval", "--json"});
//   ASSERT_TRUE(r.ok()) << r.status();
//   EXPECT_EQ(r->exit_code, 0) << r->Describe();
//
// For long-running children (daemons) use Subprocess directly: Start() it,
// poll its output with stdout_so_far()/WaitForOutput(), then Signal() and
// Wait(). A background thread drains both pipes with poll() for the child's
// whole life, so a chatty child never blocks on a full pipe and reading one
// stream never starves the other.
//
// The child gets stdin from /dev/null, runs in its own process group (a
// timeout or the destructor kills the whole group, so grandchildren go too)
// and inherits no other descriptors of this process (pipes are O_CLOEXEC).
//
// Thread-safety: one Subprocess per thread; the output accessors may be
// called from any thread.
#ifndef DWAE_TESTS_TESTING_SUBPROCESS_H_
#define DWAE_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace dwae {
namespace testutil {

struct SubprocessOptions {
  // Run in this directory (empty: the current one).
  std::string working_dir;
  // "NAME=value" entries added to (or replacing in) the inherited environment.
  std::vector<std::string> env;
  // RunSubprocess: kill the child (SIGKILL to its group) after this long.
  absl::Duration timeout = absl::Seconds(60);
};

struct SubprocessResult {
  // The exit status if the child exited normally, else -1.
  int exit_code = -1;
  // The signal that killed the child, else 0.
  int term_signal = 0;
  // Whether the child was killed because the timeout expired.
  bool timed_out = false;
  std::string stdout_text;
  std::string stderr_text;
  absl::Duration elapsed;

  bool exited_ok() const { return exit_code == 0; }
  // One-line summary plus both streams, for assertion messages.
  std::string Describe() const;
};

class Subprocess {
 public:
  // Starts argv[0] (looked up in PATH if it has no '/'). Fails if the
  // program cannot be executed (the errno of execvp is reported).
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      const std::vector<std::string>& argv,
      const SubprocessOptions& options = {});

  // Kills the child's group if still running and reaps it.
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }

  // Waits for the child to exit, killing its group with SIGKILL if it has
  // not exited within `timeout`; returns the status and all its output.
  // Call at most once.
  SubprocessResult Wait(absl::Duration timeout);

  // Sends `signal` to the child's process group (no-op once reaped).
  void Signal(int signal);

  // User + system CPU seconds the child (not its own children) has used so
  // far, from /proc/PID/stat; -1 once reaped or where /proc cannot tell.
  double CpuSeconds() const;
  // The same per thread name (threads of one name summed); empty once
  // reaped. Threads that ended are not counted.
  std::map<std::string, double> ThreadCpuSeconds() const;

  // Output captured so far.
  std::string stdout_so_far() const;
  std::string stderr_so_far() const;

  // Blocks until `needle` appears on stdout (or stderr if `on_stderr`),
  // both streams close, or `timeout` passes; returns whether it appeared.
  bool WaitForOutput(absl::string_view needle, absl::Duration timeout,
                     bool on_stderr = false) const;

 private:
  Subprocess() = default;
  void DrainLoop(int out_fd, int err_fd);

  pid_t pid_ = -1;
  bool reaped_ = false;
  absl::Time start_;
  std::thread reader_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::string stdout_;           // guarded by mu_
  std::string stderr_;           // guarded by mu_
  bool streams_closed_ = false;  // guarded by mu_
  bool stop_reading_ = false;    // guarded by mu_
};

// Starts argv, waits up to options.timeout and returns the result. The
// status is an error only if the child could not be started.
absl::StatusOr<SubprocessResult> RunSubprocess(
    const std::vector<std::string>& argv,
    const SubprocessOptions& options = {});

}  // namespace testutil
}  // namespace dwae

#endif  // DWAE_TESTS_TESTING_SUBPROCESS_H_
