#include "tests/testing/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

extern char** environ;

namespace dwae {
namespace testutil {
namespace {

// How often the reader thread rechecks its stop flag.
constexpr int kPollMillis = 50;

void CloseIfOpen(int& fd) {
  if (fd >= 0) {
    close(fd);
    fd = -1;
  }
}

std::string Truncated(const std::string& s, size_t limit) {
  if (s.size() <= limit) return s;
  return absl::StrCat(s.substr(0, limit), "\n...[", s.size() - limit,
                      " more bytes]");
}

// Writes all of `data` to `fd`, from the child: async-signal-safe.
void WriteAllRaw(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    size -= static_cast<size_t>(n);
  }
}

std::vector<std::string> MergedEnvironment(
    const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    env.emplace_back(*e);
  }
  for (const std::string& entry : overrides) {
    const size_t eq = entry.find('=');
    const std::string name = entry.substr(0, eq);
    env.erase(std::remove_if(env.begin(), env.end(),
                             [&](const std::string& existing) {
                               return existing.compare(0, name.size(), name) ==
                                          0 &&
                                      existing.size() > name.size() &&
                                      existing[name.size()] == '=';
                             }),
              env.end());
    env.push_back(entry);
  }
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string SubprocessResult::Describe() const {
  std::string status;
  if (timed_out) {
    status = absl::StrCat("timed out after ", absl::FormatDuration(elapsed),
                          " and was killed");
  } else if (term_signal != 0) {
    status = absl::StrCat("killed by signal ", term_signal, " (",
                          strsignal(term_signal), ")");
  } else {
    status = absl::StrCat("exit code ", exit_code);
  }
  return absl::StrCat(status, " after ", absl::FormatDuration(elapsed),
                      "\n--- stdout ---\n", Truncated(stdout_text, 4000),
                      "\n--- stderr ---\n", Truncated(stderr_text, 4000));
}

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    const std::vector<std::string>& argv, const SubprocessOptions& options) {
  if (argv.empty() || argv[0].empty()) {
    return absl::InvalidArgumentError("subprocess: empty argv");
  }
  // Everything the child needs is prepared before fork(): between fork and
  // exec only async-signal-safe calls are allowed (other test threads may
  // hold the malloc lock).
  std::vector<std::string> args = argv;
  std::vector<char*> c_args = CStrings(args);
  std::vector<std::string> env = MergedEnvironment(options.env);
  std::vector<char*> c_env = CStrings(env);
  const char* working_dir =
      options.working_dir.empty() ? nullptr : options.working_dir.c_str();

  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  int exec_pipe[2] = {-1, -1};  // carries execvp's errno; EOF on success
  int dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  auto close_all = [&] {
    for (int* fd : {&out_pipe[0], &out_pipe[1], &err_pipe[0], &err_pipe[1],
                    &exec_pipe[0], &exec_pipe[1], &dev_null}) {
      CloseIfOpen(*fd);
    }
  };
  if (dev_null < 0 || pipe2(out_pipe, O_CLOEXEC) != 0 ||
      pipe2(err_pipe, O_CLOEXEC) != 0 || pipe2(exec_pipe, O_CLOEXEC) != 0) {
    const int error = errno;
    close_all();
    return absl::InternalError(
        absl::StrCat("subprocess: pipe/open: ", strerror(error)));
  }

  const pid_t pid = fork();
  if (pid < 0) {
    const int error = errno;
    close_all();
    return absl::InternalError(
        absl::StrCat("subprocess: fork: ", strerror(error)));
  }
  if (pid == 0) {
    // Child. dup2 clears O_CLOEXEC on the targets only.
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    if (dup2(dev_null, STDIN_FILENO) < 0 ||
        dup2(out_pipe[1], STDOUT_FILENO) < 0 ||
        dup2(err_pipe[1], STDERR_FILENO) < 0 ||
        (working_dir != nullptr && chdir(working_dir) != 0)) {
      const int error = errno;
      WriteAllRaw(exec_pipe[1], &error, sizeof(error));
      _exit(127);
    }
    execvpe(c_args[0], c_args.data(), c_env.data());
    const int error = errno;
    WriteAllRaw(exec_pipe[1], &error, sizeof(error));
    _exit(127);
  }

  // Parent. Also set the group here so a Signal() right after Start() can
  // never race the child's own setpgid.
  setpgid(pid, pid);
  CloseIfOpen(out_pipe[1]);
  CloseIfOpen(err_pipe[1]);
  CloseIfOpen(exec_pipe[1]);
  CloseIfOpen(dev_null);
  int exec_errno = 0;
  ssize_t n;
  do {
    n = read(exec_pipe[0], &exec_errno, sizeof(exec_errno));
  } while (n < 0 && errno == EINTR);
  CloseIfOpen(exec_pipe[0]);
  if (n > 0) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    close_all();
    return absl::FailedPreconditionError(absl::StrCat(
        "subprocess: cannot run '", argv[0], "': ", strerror(exec_errno),
        working_dir != nullptr
            ? absl::StrCat(" (working directory ", working_dir, ")")
            : ""));
  }

  std::unique_ptr<Subprocess> p(new Subprocess());
  p->pid_ = pid;
  p->start_ = absl::Now();
  const int out_fd = out_pipe[0];
  const int err_fd = err_pipe[0];
  Subprocess* raw = p.get();
  p->reader_ =
      std::thread([raw, out_fd, err_fd] { raw->DrainLoop(out_fd, err_fd); });
  return p;
}

void Subprocess::DrainLoop(int out_fd, int err_fd) {
  int fds[2] = {out_fd, err_fd};
  char buffer[65536];
  while (fds[0] >= 0 || fds[1] >= 0) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_reading_) break;
    }
    pollfd pfds[2];
    for (int i = 0; i < 2; ++i) {
      pfds[i].fd = fds[i];  // negative fds are ignored by poll
      pfds[i].events = POLLIN;
      pfds[i].revents = 0;
    }
    const int ready = poll(pfds, 2, kPollMillis);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i] < 0 || pfds[i].revents == 0) continue;
      const ssize_t got = read(fds[i], buffer, sizeof(buffer));
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) {
        CloseIfOpen(fds[i]);
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      (i == 0 ? stdout_ : stderr_).append(buffer, static_cast<size_t>(got));
      cv_.notify_all();
    }
  }
  CloseIfOpen(fds[0]);
  CloseIfOpen(fds[1]);
  std::lock_guard<std::mutex> lock(mu_);
  streams_closed_ = true;
  cv_.notify_all();
}

void Subprocess::Signal(int signal) {
  if (pid_ <= 0 || reaped_) return;
  if (kill(-pid_, signal) != 0) kill(pid_, signal);
}

namespace {

// User + system CPU seconds in a /proc/.../stat file, and its command name
// (a thread's name for a task's file); -1 if it cannot be read.
double StatCpuSeconds(const std::string& path, std::string* name) {
  std::ifstream in(path);
  const std::string stat((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  // The name is in parentheses and may hold spaces and ')'.
  const size_t open = stat.find('(');
  const size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open ||
      close + 2 >= stat.size()) {
    return -1;
  }
  if (name != nullptr) *name = stat.substr(open + 1, close - open - 1);
  const std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(stat).substr(close + 2), ' ');
  // utime and stime: fields 14 and 15 of the line, in clock ticks.
  uint64_t utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return -1;
  }
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

}  // namespace

double Subprocess::CpuSeconds() const {
  if (pid_ <= 0 || reaped_) return -1;
  return StatCpuSeconds(absl::StrCat("/proc/", pid_, "/stat"), nullptr);
}

std::map<std::string, double> Subprocess::ThreadCpuSeconds() const {
  std::map<std::string, double> threads;
  if (pid_ <= 0 || reaped_) return threads;
  const std::string dir = absl::StrCat("/proc/", pid_, "/task");
  std::error_code error;
  for (const auto& task : std::filesystem::directory_iterator(dir, error)) {
    std::string name;
    const double cpu = StatCpuSeconds(task.path().string() + "/stat", &name);
    if (cpu >= 0) threads[name] += cpu;
  }
  return threads;
}

SubprocessResult Subprocess::Wait(absl::Duration timeout) {
  SubprocessResult result;
  const absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  if (!reaped_) {
    absl::Duration nap = absl::Milliseconds(1);
    while (true) {
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (r < 0 && errno != EINTR) break;  // not our child any more
      const absl::Time now = absl::Now();
      if (now >= deadline) {
        result.timed_out = true;
        Signal(SIGKILL);
        while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        break;
      }
      absl::SleepFor(std::min(nap, deadline - now));
      nap = std::min(nap * 2, absl::Milliseconds(20));
    }
    reaped_ = true;
  }
  result.elapsed = absl::Now() - start_;
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
  }

  // The child is gone; its output is complete once both pipes hit EOF. A
  // grandchild still holding them gets until the deadline (at least 1 s).
  const absl::Time drain_deadline =
      std::max(deadline, absl::Now() + absl::Seconds(1));
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_until(lock, absl::ToChronoTime(drain_deadline),
                   [this] { return streams_closed_; });
    stop_reading_ = true;
  }
  if (reader_.joinable()) reader_.join();
  std::lock_guard<std::mutex> lock(mu_);
  result.stdout_text = stdout_;
  result.stderr_text = stderr_;
  return result;
}

std::string Subprocess::stdout_so_far() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stdout_;
}

std::string Subprocess::stderr_so_far() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stderr_;
}

bool Subprocess::WaitForOutput(absl::string_view needle, absl::Duration timeout,
                               bool on_stderr) const {
  std::unique_lock<std::mutex> lock(mu_);
  const std::string& text = on_stderr ? stderr_ : stdout_;
  cv_.wait_until(lock, absl::ToChronoTime(absl::Now() + timeout), [&] {
    return absl::StrContains(text, needle) || streams_closed_;
  });
  return absl::StrContains(text, needle);
}

Subprocess::~Subprocess() {
  if (!reaped_ && pid_ > 0) {
    Signal(SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_reading_ = true;
  }
  if (reader_.joinable()) reader_.join();
}

absl::StatusOr<SubprocessResult> RunSubprocess(
    const std::vector<std::string>& argv, const SubprocessOptions& options) {
  absl::StatusOr<std::unique_ptr<Subprocess>> process =
      Subprocess::Start(argv, options);
  if (!process.ok()) return process.status();
  return (*process)->Wait(options.timeout);
}

}  // namespace testutil
}  // namespace dwae
