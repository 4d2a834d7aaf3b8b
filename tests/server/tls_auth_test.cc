// End-to-end tests of dwaed's access control: TLS, mutual TLS and the admin
// token, with real dwaed processes (DWAED_PATH) and real `dwae` runs
// (DWAE_PATH).
//
// At suite start the openssl CLI makes throwaway certificates in a temp dir:
// a CA, a server certificate for 127.0.0.1/localhost (subjectAltName), a
// client certificate signed by the CA, and a "rogue" CA with a client
// certificate of its own. Two daemons serve the whole suite:
//   tls_:  --tls_cert/--tls_key and --admin_token_file (plus a state dir, so
//          Checkpoint works);
//   mtls_: the same certificate and --tls_client_ca (client certificates
//          required and verified).
#include <signal.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/json_value.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_files.h"

namespace dwae {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testutil::Subprocess;
using testutil::SubprocessResult;

constexpr char kToken[] = "s3cr3t-admin-token-0123456789abcdef";

// Runs openssl with `args` in `dir`; fails the test on a non-zero exit.
void OpenSsl(const std::string& dir, std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  testutil::SubprocessOptions options;
  options.working_dir = dir;
  absl::StatusOr<SubprocessResult> r = testutil::RunSubprocess(args, options);
  ASSERT_TRUE(r.ok()) << r.status() << " (is openssl installed?)";
  ASSERT_EQ(r->exit_code, 0) << r->Describe();
}

// A self-signed CA: NAME.pem, NAME.key.
void MakeCa(const std::string& dir, const std::string& name) {
  OpenSsl(dir,
          {"req", "-x509", "-newkey", "ec", "-pkeyopt",
           "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", name + ".key",
           "-out", name + ".pem", "-days", "2", "-subj", "/CN=" + name});
}

// A certificate NAME.pem (key NAME.key) signed by CA.pem/CA.key; `san` is
// its subjectAltName ("" for none).
void MakeCert(const std::string& dir, const std::string& name,
              const std::string& ca, const std::string& san) {
  OpenSsl(dir, {"req", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name});
  std::vector<std::string> sign = {
      "x509",        "-req",   "-in",       name + ".csr",     "-CA",
      ca + ".pem",   "-CAkey", ca + ".key", "-CAcreateserial", "-out",
      name + ".pem", "-days",  "2"};
  if (!san.empty()) {
    const std::string ext = dir + "/" + name + ".ext";
    ASSERT_TRUE(testutil::WriteFile(ext, "subjectAltName=" + san + "\n"));
    sign.insert(sign.end(), {"-extfile", ext});
  }
  OpenSsl(dir, sign);
}

// One dwaed for the suite: started, its port parsed from "(port N)".
struct Daemon {
  std::unique_ptr<Subprocess> process;
  int port = 0;

  std::string ServerFlag() const {
    return absl::StrCat("--server=127.0.0.1:", port);
  }
};

void StartDaemon(const std::vector<std::string>& extra, Daemon* d) {
  std::vector<std::string> argv = {
      DWAED_PATH, "--listen=127.0.0.1:0",
      "--metrics_listen=", "--checkpoint_interval=0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  absl::StatusOr<std::unique_ptr<Subprocess>> started = Subprocess::Start(argv);
  ASSERT_TRUE(started.ok()) << started.status();
  d->process = *std::move(started);
  ASSERT_TRUE(d->process->WaitForOutput("dwaed: state in", absl::Seconds(20)))
      << "stdout: " << d->process->stdout_so_far()
      << "\nstderr: " << d->process->stderr_so_far();
  const std::string out = d->process->stdout_so_far();
  const size_t at = out.find("(port ");
  ASSERT_NE(at, std::string::npos) << out;
  absl::string_view rest = absl::string_view(out).substr(at + 6);
  rest = rest.substr(0, rest.find(')'));
  ASSERT_TRUE(absl::SimpleAtoi(rest, &d->port)) << out;
  ASSERT_GT(d->port, 0) << out;
}

void StopDaemon(Daemon* d) {
  if (d->process == nullptr) return;
  d->process->Signal(SIGKILL);
  d->process->Wait(absl::Seconds(10));
  d->process.reset();
}

class TlsAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testutil::MakeTempDir("dwae_tls_auth"));
    const std::string& d = *dir_;
    ASSERT_NO_FATAL_FAILURE(MakeCa(d, "ca"));
    ASSERT_NO_FATAL_FAILURE(
        MakeCert(d, "server", "ca", "IP:127.0.0.1,DNS:localhost"));
    ASSERT_NO_FATAL_FAILURE(MakeCert(d, "client", "ca", ""));
    ASSERT_NO_FATAL_FAILURE(MakeCa(d, "rogue_ca"));
    ASSERT_NO_FATAL_FAILURE(MakeCert(d, "rogue_client", "rogue_ca", ""));
    // A rogue server certificate with the right names, signed by the rogue
    // CA: what a client trusting only `ca` must refuse.
    ASSERT_NO_FATAL_FAILURE(
        MakeCert(d, "rogue_server", "rogue_ca", "IP:127.0.0.1,DNS:localhost"));
    ASSERT_TRUE(testutil::WriteFile(Path("token"), absl::StrCat(kToken, "\n")));
    ASSERT_EQ(chmod(Path("token").c_str(), 0600), 0);
    ASSERT_TRUE(testutil::WriteFile(Path("wrong_token"), "not-the-token\n"));
    ASSERT_EQ(chmod(Path("wrong_token").c_str(), 0600), 0);

    tls_ = new Daemon;
    ASSERT_NO_FATAL_FAILURE(StartDaemon(
        {"--tls_cert=" + Path("server.pem"), "--tls_key=" + Path("server.key"),
         "--admin_token_file=" + Path("token"), "--state_dir=" + Path("state")},
        tls_));
    mtls_ = new Daemon;
    ASSERT_NO_FATAL_FAILURE(StartDaemon(
        {"--tls_cert=" + Path("server.pem"), "--tls_key=" + Path("server.key"),
         "--tls_client_ca=" + Path("ca.pem")},
        mtls_));
  }

  static void TearDownTestSuite() {
    for (Daemon* d : {tls_, mtls_}) {
      if (d != nullptr) StopDaemon(d);
      delete d;
    }
    tls_ = mtls_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(tls_, nullptr);
    ASSERT_GT(tls_->port, 0) << "the TLS dwaed did not start";
    ASSERT_NE(mtls_, nullptr);
    ASSERT_GT(mtls_->port, 0) << "the mTLS dwaed did not start";
  }

  static std::string Path(const std::string& name) {
    return *dir_ + "/" + name;
  }
  static std::string Flag(const std::string& flag, const std::string& file) {
    return absl::StrCat("--", flag, "=", Path(file));
  }

  static SubprocessResult Run(const std::string& program,
                              const std::vector<std::string>& args,
                              absl::Duration timeout = absl::Seconds(30)) {
    std::vector<std::string> argv = {program};
    argv.insert(argv.end(), args.begin(), args.end());
    testutil::SubprocessOptions options;
    options.working_dir = DWAE_SOURCE_DIR;
    options.timeout = timeout;
    absl::StatusOr<SubprocessResult> r = testutil::RunSubprocess(argv, options);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *std::move(r) : SubprocessResult();
  }

  // dwae COMMAND ... against `d` with `--timeout=timeout`. A call expected
  // to succeed (or to be refused by the daemon) gets a generous deadline: it
  // returns as soon as it is answered, and on a loaded machine (this test
  // failed once in a -j2 run beside other builds) a TLS handshake plus the
  // call may take more than the 3 s all calls had before. A call expected to
  // fail its handshake waits out its deadline ("cannot reach"), so those
  // pass kHandshakeFails.
  static SubprocessResult Dwae(const Daemon& d, std::vector<std::string> args,
                               absl::Duration timeout = absl::Seconds(20)) {
    args.insert(
        args.begin() + 1,
        {d.ServerFlag(),
         absl::StrCat("--timeout=", absl::ToInt64Seconds(timeout), "s")});
    return Run(DWAE_PATH, args);
  }
  static constexpr absl::Duration kHandshakeFails = absl::Seconds(3);

  // `dwae status --json` against tls_ (read path: no token).
  static testutil::JsonValue Status() {
    const SubprocessResult r =
        Dwae(*tls_, {"status", "--json", Flag("tls_ca", "ca.pem")});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    absl::StatusOr<testutil::JsonValue> doc =
        testutil::ParseJson(r.stdout_text);
    EXPECT_TRUE(doc.ok()) << doc.status() << "\n" << r.stdout_text;
    return doc.ok() ? *std::move(doc) : testutil::JsonValue();
  }

  static std::string* dir_;
  static Daemon* tls_;
  static Daemon* mtls_;
};

std::string* TlsAuthTest::dir_ = nullptr;
Daemon* TlsAuthTest::tls_ = nullptr;
Daemon* TlsAuthTest::mtls_ = nullptr;

// ---- (a) TLS ----------------------------------------------------------------

TEST_F(TlsAuthTest, TlsStatusWithTheRightCa) {
  const SubprocessResult r = Dwae(*tls_, {"status", Flag("tls_ca", "ca.pem")});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.stdout_text, HasSubstr("dwaed at 127.0.0.1:"));
}

TEST_F(TlsAuthTest, TlsHealthByHostNameAndNameOverride) {
  SubprocessResult r =
      Run(DWAE_PATH, {"health", absl::StrCat("--server=localhost:", tls_->port),
                      Flag("tls_ca", "ca.pem"), "--timeout=20s"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.stdout_text, HasSubstr("SERVING"));
  // The certificate names 127.0.0.1 and localhost: another name fails, the
  // right one given explicitly works.
  r = Dwae(
      *tls_,
      {"health", Flag("tls_ca", "ca.pem"), "--tls_server_name=other.example"},
      kHandshakeFails);
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  r = Dwae(*tls_,
           {"health", Flag("tls_ca", "ca.pem"), "--tls_server_name=localhost"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
}

TEST_F(TlsAuthTest, PlaintextClientCannotTalkToTlsDaemon) {
  const SubprocessResult r = Dwae(*tls_, {"status"}, kHandshakeFails);
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr("cannot reach"));
  EXPECT_THAT(r.stdout_text, Not(HasSubstr("dwaed at")));
}

TEST_F(TlsAuthTest, RogueCaIsNotTrusted) {
  const SubprocessResult r =
      Dwae(*tls_, {"status", Flag("tls_ca", "rogue_ca.pem")}, kHandshakeFails);
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr("cannot reach"));
  EXPECT_THAT(r.stdout_text, Not(HasSubstr("dwaed at")));
}

TEST_F(TlsAuthTest, ClientRefusesAServerCertificateFromAnotherCa) {
  Daemon rogue;
  ASSERT_NO_FATAL_FAILURE(StartDaemon({Flag("tls_cert", "rogue_server.pem"),
                                       Flag("tls_key", "rogue_server.key")},
                                      &rogue));
  SubprocessResult r =
      Dwae(rogue, {"status", Flag("tls_ca", "ca.pem")}, kHandshakeFails);
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  r = Dwae(rogue, {"status", Flag("tls_ca", "rogue_ca.pem")});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  StopDaemon(&rogue);
}

TEST_F(TlsAuthTest, UnreadableClientFilesNameTheFlag) {
  SubprocessResult r = Dwae(*tls_, {"status", Flag("tls_ca", "missing.pem")});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr("--tls_ca"));
  EXPECT_THAT(r.stderr_text, HasSubstr("missing.pem"));
  r = Dwae(*tls_, {"status", Flag("tls_ca", "ca.pem"),
                   Flag("tls_cert", "client.pem")});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr("--tls_key"));
}

// ---- (b) mutual TLS ---------------------------------------------------------

TEST_F(TlsAuthTest, MtlsWithAValidClientCertificate) {
  const SubprocessResult r = Dwae(
      *mtls_, {"status", Flag("tls_ca", "ca.pem"),
               Flag("tls_cert", "client.pem"), Flag("tls_key", "client.key")});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.stdout_text, HasSubstr("dwaed at 127.0.0.1:"));
}

TEST_F(TlsAuthTest, MtlsWithoutAClientCertificateFails) {
  const SubprocessResult r =
      Dwae(*mtls_, {"status", Flag("tls_ca", "ca.pem")}, kHandshakeFails);
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stdout_text, Not(HasSubstr("dwaed at")));
}

TEST_F(TlsAuthTest, MtlsWithARogueClientCertificateFails) {
  const SubprocessResult r = Dwae(
      *mtls_,
      {"status", Flag("tls_ca", "ca.pem"), Flag("tls_cert", "rogue_client.pem"),
       Flag("tls_key", "rogue_client.key")},
      kHandshakeFails);
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stdout_text, Not(HasSubstr("dwaed at")));
}

TEST_F(TlsAuthTest, MtlsStreamsReplayWithAClientCertificate) {
  // replay goes through ShardedStream: the same credentials apply.
  const std::string rows = Path("rows.txt");
  std::string text;
  {
    const std::string all = testutil::ReadFileOrEmpty(
        absl::StrCat(DWAE_SOURCE_DIR, "/data/nsl-kdd/KDDTest+.txt"));
    std::vector<absl::string_view> lines =
        absl::StrSplit(all, '\n', absl::SkipEmpty());
    ASSERT_GE(lines.size(), 20u);
    for (size_t i = 0; i < 20; ++i) absl::StrAppend(&text, lines[i], "\n");
  }
  ASSERT_TRUE(testutil::WriteFile(rows, text));
  SubprocessResult r =
      Dwae(*mtls_, {"replay", "--json", "--progress=never",
                    Flag("tls_ca", "ca.pem"), Flag("tls_cert", "client.pem"),
                    Flag("tls_key", "client.key"), rows});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  r = Dwae(*mtls_,
           {"replay", "--progress=never", Flag("tls_ca", "ca.pem"), rows},
           kHandshakeFails);
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
}

// ---- (c) admin token --------------------------------------------------------

TEST_F(TlsAuthTest, AdminWithoutTokenIsUnauthenticated) {
  const SubprocessResult r =
      Dwae(*tls_, {"admin", Flag("tls_ca", "ca.pem"), "checkpoint"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr("unauthenticated"));
}

TEST_F(TlsAuthTest, AdminWithAWrongTokenIsPermissionDenied) {
  const SubprocessResult r =
      Dwae(*tls_, {"admin", Flag("tls_ca", "ca.pem"),
                   Flag("token_file", "wrong_token"), "checkpoint"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr("permission denied"));
}

TEST_F(TlsAuthTest, AdminWithTheRightTokenWorks) {
  const SubprocessResult r =
      Dwae(*tls_, {"admin", Flag("tls_ca", "ca.pem"),
                   Flag("token_file", "token"), "checkpoint"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
}

TEST_F(TlsAuthTest, ClientWithoutTokenCannotChangeTheModel) {
  const testutil::JsonValue before = Status();
  const std::string source = before["threshold_source"].as_string();
  ASSERT_FALSE(source.empty()) << "no threshold_source in status";
  const double version = before["model_version"].as_number();

  SubprocessResult r =
      Dwae(*tls_, {"admin", Flag("tls_ca", "ca.pem"), "threshold", "1e-9"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  r = Dwae(*tls_, {"admin", Flag("tls_ca", "ca.pem"),
                   Flag("token_file", "wrong_token"), "threshold", "1e-9"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  r = Dwae(*tls_, {"admin", Flag("tls_ca", "ca.pem"), "reset", "--yes"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  r = Dwae(*tls_, {"admin", Flag("tls_ca", "ca.pem"), "learning", "off"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();

  const testutil::JsonValue after = Status();
  EXPECT_EQ(after["threshold_source"].as_string(), source);
  EXPECT_NE(after["threshold"].as_number(), 1e-9);
  EXPECT_EQ(after["model_version"].as_number(), version);

  // The same change with the token goes through: the refusal above was the
  // token check, not the request.
  r = Dwae(*tls_, {"admin", Flag("tls_ca", "ca.pem"),
                   Flag("token_file", "token"), "threshold", "0.25"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(Status()["threshold"].as_number(), 0.25);
  r = Dwae(*tls_, {"admin", Flag("tls_ca", "ca.pem"),
                   Flag("token_file", "token"), "threshold", "auto"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
}

TEST_F(TlsAuthTest, ReadPathNeedsNoToken) {
  const std::string all = testutil::ReadFileOrEmpty(
      absl::StrCat(DWAE_SOURCE_DIR, "/data/nsl-kdd/KDDTest+.txt"));
  const std::string line = all.substr(0, all.find('\n'));
  ASSERT_FALSE(line.empty());
  SubprocessResult r =
      Dwae(*tls_, {"score", "--json", Flag("tls_ca", "ca.pem"), "--", line});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  r = Dwae(*tls_, {"anomalies", Flag("tls_ca", "ca.pem")});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  r = Dwae(*tls_, {"status", Flag("tls_ca", "ca.pem")});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
}

// ---- (d) startup errors -----------------------------------------------------

SubprocessResult StartupFailure(const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {DWAED_PATH, "--listen=127.0.0.1:0",
                                   "--metrics_listen="};
  argv.insert(argv.end(), flags.begin(), flags.end());
  testutil::SubprocessOptions options;
  options.timeout = absl::Seconds(20);
  absl::StatusOr<SubprocessResult> r = testutil::RunSubprocess(argv, options);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *std::move(r) : SubprocessResult();
}

TEST_F(TlsAuthTest, KeyWithoutCertIsAStartupError) {
  const SubprocessResult r = StartupFailure({Flag("tls_key", "server.key")});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr("--tls_key"));
  EXPECT_THAT(r.stderr_text, HasSubstr("--tls_cert"));
}

TEST_F(TlsAuthTest, MissingCertFileIsAStartupError) {
  const SubprocessResult r = StartupFailure(
      {Flag("tls_cert", "nope.pem"), Flag("tls_key", "server.key")});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr("--tls_cert"));
  EXPECT_THAT(r.stderr_text, HasSubstr("nope.pem"));
}

TEST_F(TlsAuthTest, ClientCaWithoutCertIsAStartupError) {
  const SubprocessResult r = StartupFailure({Flag("tls_client_ca", "ca.pem")});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr("--tls_client_ca"));
}

TEST_F(TlsAuthTest, UnreadableTokenFileIsAStartupError) {
  const SubprocessResult r =
      StartupFailure({Flag("admin_token_file", "no_such_token")});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr("--admin_token_file"));
  EXPECT_THAT(r.stderr_text, HasSubstr("no_such_token"));
}

TEST_F(TlsAuthTest, EmptyTokenFileIsAStartupError) {
  ASSERT_TRUE(testutil::WriteFile(Path("empty_token"), "\n"));
  ASSERT_EQ(chmod(Path("empty_token").c_str(), 0600), 0);
  const SubprocessResult r =
      StartupFailure({Flag("admin_token_file", "empty_token")});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_THAT(r.stderr_text, HasSubstr("--admin_token_file"));
  EXPECT_THAT(r.stderr_text, HasSubstr("empty"));
}

TEST_F(TlsAuthTest, WorldReadableTokenFileIsAWarning) {
  ASSERT_TRUE(testutil::WriteFile(Path("open_token"), "abc\n"));
  ASSERT_EQ(chmod(Path("open_token").c_str(), 0644), 0);
  Daemon d;
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon({Flag("admin_token_file", "open_token")}, &d));
  EXPECT_THAT(d.process->stderr_so_far(), HasSubstr("readable by group"));
  StopDaemon(&d);
}

}  // namespace
}  // namespace dwae
