#include "tests/testing/daemon_process.h"

#include <signal.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/testing/temp_files.h"

#ifndef DWAE_SOURCE_DIR
#error "DWAE_SOURCE_DIR must name the source tree"
#endif

namespace dwae::testutil {
namespace {

// N of the first "(port N)" after `marker` in `out`; 0 when there is none.
int PortAfter(const std::string& out, const char* marker) {
  const size_t start = out.find(marker);
  if (start == std::string::npos) return 0;
  const size_t at = out.find("(port ", start);
  if (at == std::string::npos) return 0;
  absl::string_view rest = absl::string_view(out).substr(at + 6);
  rest = rest.substr(0, rest.find(')'));
  int port = 0;
  return absl::SimpleAtoi(rest, &port) ? port : 0;
}

}  // namespace

std::string TestDaemon::address() const {
  return absl::StrCat("127.0.0.1:", port);
}

absl::StatusOr<TestDaemon> StartTestDaemon(
    const std::string& dwaed_path, const std::string& config_text,
    const std::vector<std::string>& extra_args) {
  TestDaemon daemon;
  daemon.dir = MakeTempDir("dwaed");
  const std::string config = daemon.dir + "/dwaed.textproto";
  if (!WriteFile(config, config_text)) {
    return absl::InternalError(absl::StrCat("cannot write ", config));
  }
  std::vector<std::string> argv = {
      dwaed_path, "--listen=127.0.0.1:0",
      "--metrics_listen=", absl::StrCat("--config=", config)};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  SubprocessOptions options;
  options.working_dir = DWAE_SOURCE_DIR;
  absl::StatusOr<std::unique_ptr<Subprocess>> started =
      Subprocess::Start(argv, options);
  if (!started.ok()) return started.status();
  daemon.process = *std::move(started);
  const Subprocess& p = *daemon.process;
  if (!p.WaitForOutput("serving gRPC", absl::Seconds(15))) {
    return absl::DeadlineExceededError(absl::StrCat(
        "dwaed did not print \"serving gRPC\"\nstdout: ", p.stdout_so_far(),
        "\nstderr: ", p.stderr_so_far()));
  }
  const std::string out = p.stdout_so_far();
  daemon.port = PortAfter(out, "serving gRPC");
  if (daemon.port <= 0) {
    return absl::InternalError(
        absl::StrCat("no \"(port N)\" after \"serving gRPC\" in: ", out));
  }
  // Printed before "serving gRPC" is flushed, when there is a listener.
  daemon.metrics_port = PortAfter(out, "metrics on");
  return daemon;
}

SubprocessResult StopTestDaemon(TestDaemon* daemon) {
  if (daemon->process == nullptr) return SubprocessResult();
  daemon->process->Signal(SIGTERM);
  SubprocessResult r = daemon->process->Wait(absl::Seconds(15));
  daemon->process.reset();
  return r;
}

}  // namespace dwae::testutil
