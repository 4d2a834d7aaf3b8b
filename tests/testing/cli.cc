#include "tests/testing/cli.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace dwae {
namespace testutil {

SubprocessResult RunArgvFromSourceDir(const std::vector<std::string>& argv,
                                      absl::Duration timeout) {
  SubprocessOptions options;
  options.working_dir = DWAE_SOURCE_DIR;
  options.timeout = timeout;
  absl::StatusOr<SubprocessResult> r = RunSubprocess(argv, options);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return SubprocessResult();
  EXPECT_FALSE(r->timed_out) << absl::StrJoin(argv, " ") << "\n"
                             << r->Describe();
  return *std::move(r);
}

SubprocessResult RunCli(const std::string& binary,
                        const std::vector<std::string>& args,
                        absl::Duration timeout) {
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunArgvFromSourceDir(argv, timeout);
}

std::unique_ptr<Subprocess> StartCli(const std::string& binary,
                                     const std::vector<std::string>& args) {
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), args.begin(), args.end());
  SubprocessOptions options;
  options.working_dir = DWAE_SOURCE_DIR;
  absl::StatusOr<std::unique_ptr<Subprocess>> p =
      Subprocess::Start(argv, options);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : nullptr;
}

bool WaitForStdoutLines(const Subprocess& p, size_t n, absl::Duration timeout) {
  const absl::Time until = absl::Now() + timeout;
  while (absl::Now() < until) {
    const std::string out = p.stdout_so_far();
    if (size_t(std::count(out.begin(), out.end(), '\n')) >= n) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

std::vector<JsonValue> JsonLines(absl::string_view text) {
  std::vector<JsonValue> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    absl::StatusOr<JsonValue> v = ParseJson(line);
    EXPECT_TRUE(v.ok()) << v.status() << "\n" << line;
    if (v.ok()) out.push_back(*std::move(v));
  }
  return out;
}

int ClosedLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  return ntohs(addr.sin_port);
}

std::optional<JsonValue> ParseJsonStdout(const SubprocessResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  // Exactly one line: the JSON object.
  EXPECT_EQ(std::count(r.stdout_text.begin(), r.stdout_text.end(), '\n'), 1)
      << r.Describe();
  absl::StatusOr<JsonValue> doc = ParseJson(r.stdout_text);
  EXPECT_TRUE(doc.ok()) << doc.status() << "\n" << r.Describe();
  if (!doc.ok()) return std::nullopt;
  EXPECT_TRUE(doc->is_object()) << r.stdout_text;
  return *std::move(doc);
}

}  // namespace testutil
}  // namespace dwae
