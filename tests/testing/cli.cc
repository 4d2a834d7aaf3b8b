#include "tests/testing/cli.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_join.h"
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
