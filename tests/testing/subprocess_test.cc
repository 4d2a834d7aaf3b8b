#include "tests/testing/subprocess.h"

#include <signal.h>

#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dwae {
namespace testutil {
namespace {

using ::testing::HasSubstr;

SubprocessOptions WithTimeout(absl::Duration timeout) {
  SubprocessOptions options;
  options.timeout = timeout;
  return options;
}

SubprocessResult MustRun(const std::vector<std::string>& argv,
                         const SubprocessOptions& options = {}) {
  absl::StatusOr<SubprocessResult> r = RunSubprocess(argv, options);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *std::move(r) : SubprocessResult();
}

TEST(SubprocessTest, CapturesStdoutStderrAndExitCode) {
  const SubprocessResult r =
      MustRun({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_EQ(r.term_signal, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.stdout_text, "out\n");
  EXPECT_EQ(r.stderr_text, "err\n");
  EXPECT_FALSE(r.exited_ok());
}

TEST(SubprocessTest, ArgumentsAreNotInterpretedByAShell) {
  const SubprocessResult r =
      MustRun({"printf", "%s|", "a b", "$HOME", "*", "'q'", ""});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.stdout_text, "a b|$HOME|*|'q'||");
}

TEST(SubprocessTest, LargeOutputOnBothStreamsDoesNotDeadlock) {
  // 4 MB on each stream, interleaved, far beyond a pipe's 64 KB buffer.
  const SubprocessResult r =
      MustRun({"/bin/sh", "-c",
               "head -c 4000000 /dev/zero | tr '\\0' o & "
               "head -c 4000000 /dev/zero | tr '\\0' e >&2; wait"},
              WithTimeout(absl::Seconds(30)));
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.stdout_text, std::string(4000000, 'o'));
  EXPECT_EQ(r.stderr_text, std::string(4000000, 'e'));
}

TEST(SubprocessTest, TimeoutKillsTheChildAndItsChildren) {
  const absl::Time start = absl::Now();
  const SubprocessResult r =
      MustRun({"/bin/sh", "-c", "echo started; sleep 30 & sleep 30; wait"},
              WithTimeout(absl::Milliseconds(300)));
  const absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(r.timed_out) << r.Describe();
  EXPECT_EQ(r.term_signal, SIGKILL);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_EQ(r.stdout_text, "started\n");
  // The background sleep held the pipes too; killing the group closed them.
  EXPECT_LT(took, absl::Seconds(5));
  EXPECT_THAT(r.Describe(), HasSubstr("timed out"));
}

TEST(SubprocessTest, ReportsTerminatingSignal) {
  const SubprocessResult r = MustRun({"/bin/sh", "-c", "kill -TERM $$"});
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.term_signal, SIGTERM) << r.Describe();
  EXPECT_EQ(r.exit_code, -1);
}

TEST(SubprocessTest, MissingProgramIsAnError) {
  absl::StatusOr<SubprocessResult> r =
      RunSubprocess({"/nonexistent/dwae-no-such-binary", "x"});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("dwae-no-such-binary"));
  EXPECT_THAT(r.status().message(), HasSubstr("No such file"));
  EXPECT_FALSE(RunSubprocess({}).ok());
}

TEST(SubprocessTest, WorkingDirectoryAndEnvironment) {
  SubprocessOptions options;
  options.working_dir = "/";
  options.env = {"DWAE_SUBPROCESS_TEST=hello world", "HOME=/nowhere"};
  const SubprocessResult r = MustRun(
      {"/bin/sh", "-c", "pwd; echo \"$DWAE_SUBPROCESS_TEST\"; echo $HOME"},
      options);
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.stdout_text, "/\nhello world\n/nowhere\n");

  options.working_dir = "/nonexistent-dir-for-dwae";
  EXPECT_FALSE(RunSubprocess({"/bin/true"}, options).ok());
}

TEST(SubprocessTest, StdinIsEmpty) {
  const SubprocessResult r = MustRun({"/bin/cat"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.stdout_text, "");
}

TEST(SubprocessTest, LongRunningChildCanBeObservedAndStopped) {
  absl::StatusOr<std::unique_ptr<Subprocess>> p =
      Subprocess::Start({"/bin/sh", "-c",
                         "trap 'echo stopping; exit 0' TERM; echo ready; "
                         "while true; do sleep 0.05; done"});
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE((*p)->WaitForOutput("ready", absl::Seconds(10)))
      << (*p)->stdout_so_far();
  EXPECT_FALSE((*p)->WaitForOutput("never printed", absl::Milliseconds(50)));
  EXPECT_EQ((*p)->stdout_so_far(), "ready\n");
  (*p)->Signal(SIGTERM);
  const SubprocessResult r = (*p)->Wait(absl::Seconds(10));
  EXPECT_FALSE(r.timed_out) << r.Describe();
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.stdout_text, "ready\nstopping\n");
}

TEST(SubprocessTest, DestructorKillsARunningChild) {
  pid_t pid = -1;
  {
    absl::StatusOr<std::unique_ptr<Subprocess>> p =
        Subprocess::Start({"/bin/sleep", "30"});
    ASSERT_TRUE(p.ok()) << p.status();
    pid = (*p)->pid();
    ASSERT_GT(pid, 0);
  }
  // Reaped: the pid is no longer our child.
  EXPECT_NE(kill(pid, 0), 0);
}

}  // namespace
}  // namespace testutil
}  // namespace dwae
