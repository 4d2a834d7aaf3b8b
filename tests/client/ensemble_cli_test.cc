// End to end: dwaed serving an ensemble (--ensemble / model.ensemble), its
// checkpoints, and checkpoints of other format versions. Real dwaed
// processes over loopback gRPC, driven by the real dwae binary:
//   - a grouped ensemble (k2-g32) serves one autoencoder during the warm-up
//     and every group's members after it; `dwae status` and /metrics show
//     it; a restart restores the same ensemble and the same scores;
//   - a version-1 checkpoint (tests/testdata, written before ensembles) is
//     migrated: the daemon starts, serves an ensemble of one and scores as
//     the version-1 daemon did;
//   - a corrupted checkpoint or one of an unknown version stops dwaed with
//     a message naming the file and the reason, instead of serving an empty
//     model.
// No sleeps: `dwae replay` syncs, and `dwae sync` waits for the learner.
#include <sys/stat.h>

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/checkpoint.h"
#include "dwae/v1/checkpoint.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/http_get.h"
#include "tests/testdata/checkpoint_v1_fixture.h"
#include "tests/testing/cli.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/json_value.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_files.h"

namespace dwae {
namespace {

using ::testing::HasSubstr;
using testutil::JsonValue;
using testutil::SubprocessResult;
using testutil::TestDaemon;

constexpr char kTrainPath[] = "data/nsl-kdd/KDDTrain+_20Percent.txt";
// A small warm-up keeps the suite fast.
constexpr char kConfig[] =
    "learning { warmup_records: 300 warmup_epochs: 2 }\n";
using testdata::kVersion1File;
using testdata::kVersion1Row1;
using testdata::kVersion1Row2;
constexpr double kVersion1Scores[] = {testdata::kVersion1Score1,
                                      testdata::kVersion1Score2};

class EnsembleCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testutil::MakeTempDir("ensemble_cli");
    state_dir_ = dir_ + "/state";
  }
  void TearDown() override {
    if (daemon_.process != nullptr) Stop();
  }

  void Start(std::vector<std::string> extra) {
    extra.push_back("--state_dir=" + state_dir_);
    absl::StatusOr<TestDaemon> d =
        testutil::StartTestDaemon(DWAED_PATH, kConfig, extra);
    ASSERT_TRUE(d.ok()) << d.status();
    daemon_ = *std::move(d);
  }
  void Stop() {
    const SubprocessResult r = testutil::StopTestDaemon(&daemon_);
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
  }
  SubprocessResult Dwae(std::vector<std::string> args) {
    args.insert(args.begin() + 1, "--server=" + daemon_.address());
    return testutil::RunCli(DWAE_CLI_PATH, args, absl::Seconds(120));
  }
  JsonValue Status() {
    const SubprocessResult r = Dwae({"status", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    std::optional<JsonValue> doc = testutil::ParseJsonStdout(r);
    return doc.has_value() ? *doc : JsonValue();
  }
  // `dwae score --json` of the two test rows: their scores.
  std::vector<double> ScoreTestRows() {
    const SubprocessResult r =
        Dwae({"score", "--json", kVersion1Row1, kVersion1Row2});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    std::vector<double> scores;
    for (const JsonValue& v : testutil::JsonLines(r.stdout_text)) {
      scores.push_back(v["score"].as_number());
    }
    return scores;
  }
  // The first `n` normal rows of the training file, written to a file.
  std::string NormalRows(int n) {
    const std::string path = absl::StrCat(dir_, "/normal-", n, ".txt");
    std::ifstream in(std::string(DWAE_SOURCE_DIR) + "/" + kTrainPath);
    std::ofstream out(path);
    std::string line;
    for (int kept = 0; kept < n && std::getline(in, line);) {
      if (line.find(",normal,") == std::string::npos) continue;
      out << line << "\n";
      ++kept;
    }
    return path;
  }

  std::string dir_, state_dir_;
  TestDaemon daemon_;
};

TEST_F(EnsembleCliTest, GroupedEnsembleServesAndSurvivesARestart) {
  Start({"--ensemble=k2-g32", "--metrics_listen=127.0.0.1:0"});
  JsonValue status = Status();
  // Warm-up: one full-width autoencoder until the groups are formed.
  EXPECT_EQ(status["ensemble"]["spec"].as_string(), "k2-g32");
  EXPECT_EQ(status["ensemble"]["members"].as_number(), 1);
  EXPECT_EQ(status["config"]["model"]["ensemble"].as_string(), "k2-g32")
      << status.ToString();

  const SubprocessResult warmup = Dwae(
      {"replay", "--learn=all", "--progress=never", "--json", NormalRows(600)});
  ASSERT_EQ(warmup.exit_code, 0) << warmup.Describe();
  status = Status();
  EXPECT_FALSE(status["warming_up"].as_bool());
  const JsonValue& e = status["ensemble"];
  const double groups = e["groups"].as_number();
  EXPECT_GE(groups, 4);  // 125 dimensions in groups of at most 32
  EXPECT_EQ(e["members"].as_number(), 2 * groups) << status.ToString();
  EXPECT_EQ(e["integer_members"].as_number(), e["members"].as_number());
  double covered = 0;
  for (const JsonValue& d : e["group_dims"].items()) {
    EXPECT_LE(d.as_number(), 32);
    covered += d.as_number();
  }
  EXPECT_EQ(covered, 125);
  EXPECT_THAT(status["shape"].as_string(), HasSubstr("k2 x ("));

  const std::string metrics =
      testutil::HttpBody(testutil::HttpGet(daemon_.metrics_port, "/metrics"));
  const testutil::MetricsScrape scrape = testutil::ParseMetricsText(metrics);
  ASSERT_TRUE(scrape.samples.count("dwae_model_ensemble_members")) << metrics;
  EXPECT_EQ(scrape.samples.at("dwae_model_ensemble_members"),
            e["members"].as_number());

  const std::vector<double> before = ScoreTestRows();
  ASSERT_EQ(before.size(), 2u);
  Stop();

  // Restarted without the flag: the checkpoint's ensemble is in force.
  Start({});
  const JsonValue again = Status();
  EXPECT_EQ(again["ensemble"]["spec"].as_string(), "k2-g32");
  EXPECT_EQ(again["ensemble"]["members"].as_number(), e["members"].as_number());
  EXPECT_EQ(again["records_learned"].as_number(),
            status["records_learned"].as_number());
  EXPECT_EQ(ScoreTestRows(), before);
}

TEST_F(EnsembleCliTest, DefaultEnsembleFollowsTheRule) {
  // docs/daemon.md, "Ensembles": k5-g32 for dw-stochastic, k1-l1 for
  // dw-shadow, k1 for float.
  for (const auto& [rule, spec] :
       {std::pair<std::string, std::string>{"dw-stochastic", "k5-g32"},
        {"dw-shadow", "k1-l1"},
        {"float", "k1"}}) {
    absl::StatusOr<TestDaemon> d = testutil::StartTestDaemon(
        DWAED_PATH, absl::StrCat(kConfig, "model { rule: \"", rule, "\" }\n"));
    ASSERT_TRUE(d.ok()) << d.status();
    daemon_ = *std::move(d);
    EXPECT_EQ(Status()["ensemble"]["spec"].as_string(), spec) << rule;
    Stop();
  }
}

TEST_F(EnsembleCliTest, Version1CheckpointIsMigratedToAnEnsembleOfOne) {
  ASSERT_EQ(mkdir(state_dir_.c_str(), 0700), 0);
  ASSERT_TRUE(testutil::WriteFile(
      state_dir_ + "/" + kCheckpointFileName,
      testutil::ReadFileOrEmpty(std::string(DWAE_SOURCE_DIR) + "/" +
                                kVersion1File)));
  Start({});
  const JsonValue status = Status();
  EXPECT_EQ(status["ensemble"]["spec"].as_string(), "k1") << status.ToString();
  EXPECT_EQ(status["ensemble"]["members"].as_number(), 1);
  EXPECT_EQ(status["shape"].as_string(), "125-8-125");
  EXPECT_EQ(status["records_learned"].as_number(), 105);
  const std::vector<double> scores = ScoreTestRows();
  ASSERT_EQ(scores.size(), 2u);
  // Exact where the layered integer path runs, as in the daemon that wrote
  // the file; the fused AVX-512 pass rounds its float epilogue differently,
  // by a few ulp (core/inference_fused.h).
  EXPECT_NEAR(scores[0], kVersion1Scores[0], 1e-6 * kVersion1Scores[0]);
  EXPECT_NEAR(scores[1], kVersion1Scores[1], 1e-6 * kVersion1Scores[1]);
  Stop();
  // Its next checkpoint is written in the current format.
  v1::CheckpointFile file;
  ASSERT_TRUE(file.ParseFromString(
      testutil::ReadFileOrEmpty(state_dir_ + "/" + kCheckpointFileName)));
  EXPECT_EQ(file.version(), kCheckpointVersion);
}

TEST_F(EnsembleCliTest, BadCheckpointsStopTheDaemonWithTheReason) {
  const std::string good = testutil::ReadFileOrEmpty(
      std::string(DWAE_SOURCE_DIR) + "/" + kVersion1File);
  ASSERT_FALSE(good.empty());
  v1::CheckpointFile newer;
  ASSERT_TRUE(newer.ParseFromString(good));
  newer.set_version(kCheckpointVersion + 1);
  std::string corrupted = good;
  corrupted[corrupted.size() / 2] ^= 0x10;
  ASSERT_EQ(mkdir(state_dir_.c_str(), 0700), 0);
  const std::string path = state_dir_ + "/" + kCheckpointFileName;
  for (const auto& [bytes, reason] :
       {std::pair<std::string, std::string>{corrupted, "checksum mismatch"},
        {newer.SerializeAsString(), "version 3 is not supported"}}) {
    ASSERT_TRUE(testutil::WriteFile(path, bytes));
    absl::StatusOr<TestDaemon> d = testutil::StartTestDaemon(
        DWAED_PATH, kConfig, {"--state_dir=" + state_dir_});
    ASSERT_FALSE(d.ok()) << "dwaed served with a bad checkpoint";
    const std::string message(d.status().message());
    EXPECT_THAT(message, HasSubstr("cannot use checkpoint " + path));
    EXPECT_THAT(message, HasSubstr(reason));
    // The file is left for the operator.
    EXPECT_EQ(testutil::ReadFileOrEmpty(path), bytes);
  }
}

}  // namespace
}  // namespace dwae
