// Checkpoint format versions: a version-1 file written by dwaed before
// ensembles (tests/testdata/checkpoint_v1_dw_shadow.ckpt, see its README)
// is migrated to an ensemble of one that restores and scores exactly as the
// version-1 daemon did; versions this build does not know are refused.
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "core/checkpoint.h"
#include "core/detector.h"
#include "core/file_system.h"
#include "core/record.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testdata/checkpoint_v1_fixture.h"

namespace dwae {
namespace {

using ::testing::HasSubstr;

constexpr char kVersion1File[] =
    DWAE_SOURCE_DIR "/tests/testdata/checkpoint_v1_dw_shadow.ckpt";
constexpr const char* kRow1 = testdata::kVersion1Row1;
constexpr const char* kRow2 = testdata::kVersion1Row2;
constexpr float kScore1 = testdata::kVersion1Score1;
constexpr float kScore2 = testdata::kVersion1Score2;
constexpr double kThreshold = testdata::kVersion1Threshold;

absl::StatusOr<std::string> ReadVersion1File() {
  return DefaultFileSystem()->ReadFile(kVersion1File);
}

TEST(CheckpointMigrationTest, Version1FileIsAVersion1Checkpoint) {
  absl::StatusOr<std::string> bytes = ReadVersion1File();
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  v1::CheckpointFile file;
  ASSERT_TRUE(file.ParseFromString(*bytes));
  EXPECT_EQ(file.version(), 1u);
  EXPECT_LT(file.version(), kCheckpointVersion);
}

TEST(CheckpointMigrationTest, Version1BecomesAnEnsembleOfOne) {
  absl::StatusOr<std::string> bytes = ReadVersion1File();
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  absl::StatusOr<v1::ModelState> state = DecodeCheckpoint(*bytes);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_FALSE(state->has_rule());
  ASSERT_EQ(state->members_size(), 1);
  EXPECT_TRUE(state->members(0).dims().empty());
  EXPECT_EQ(state->members(0).rule().rule(), "dw-shadow");
  EXPECT_EQ(state->config().model().ensemble(), "k1");
  EXPECT_EQ(state->records_learned(), 105u);
}

TEST(CheckpointMigrationTest, MigratedModelScoresAsTheVersion1DaemonDid) {
  absl::StatusOr<v1::ModelState> state =
      ReadCheckpoint(DefaultFileSystem(), kVersion1File);
  ASSERT_TRUE(state.ok()) << state.status();
  absl::StatusOr<std::unique_ptr<Detector>> d = Detector::Restore(*state);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE((*d)->warming_up());
  EXPECT_EQ((*d)->model().num_members(), 1);
  std::shared_ptr<const ScoringModel> model = (*d)->Publish();
  EXPECT_EQ(model->threshold(), kThreshold);
  ScoringScratch scratch = model->MakeScratch();
  ScoreResult result;
  for (const auto& [line, expected] :
       {std::pair<const char*, float>{kRow1, kScore1}, {kRow2, kScore2}}) {
    absl::StatusOr<Record> r = ParseRecordLine(line, RecordFormat::kNslKdd);
    ASSERT_TRUE(r.ok()) << r.status();
    model->Score(*r, 3, &scratch, &result);
    // Exact where the layered integer path runs, as in the daemon that wrote
    // the file; the fused AVX-512 pass rounds its float epilogue (sigmoid,
    // sum of squares) differently, by a few ulp (inference_fused.h).
    EXPECT_NEAR(result.score, expected, 1e-6f * expected) << line;
    EXPECT_TRUE(result.anomalous);
  }
  // Saved again, it is a version-2 checkpoint that restores the same.
  v1::ModelState again;
  (*d)->Save(&again);
  absl::StatusOr<v1::ModelState> decoded =
      DecodeCheckpoint(EncodeCheckpoint(again));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->members_size(), 1);
  EXPECT_TRUE(Detector::Restore(*decoded).ok());
}

TEST(CheckpointMigrationTest, UnknownVersionsAreRefusedByNumber) {
  absl::StatusOr<std::string> bytes = ReadVersion1File();
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  v1::CheckpointFile file;
  ASSERT_TRUE(file.ParseFromString(*bytes));
  file.set_version(kCheckpointVersion + 1);
  absl::StatusOr<v1::ModelState> r = DecodeCheckpoint(file.SerializeAsString());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("version 3 is not supported"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("versions 1 to 2"));
}

TEST(CheckpointMigrationTest, Version2WithoutMembersIsRefused) {
  // A version-2 file holding a version-1 payload is not migrated: the
  // model is missing, and Restore says so instead of starting empty.
  absl::StatusOr<std::string> bytes = ReadVersion1File();
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  v1::CheckpointFile file;
  ASSERT_TRUE(file.ParseFromString(*bytes));
  v1::ModelState payload;
  ASSERT_TRUE(payload.ParseFromString(file.payload()));
  absl::StatusOr<v1::ModelState> state =
      DecodeCheckpoint(EncodeCheckpoint(payload));
  ASSERT_TRUE(state.ok()) << state.status();
  absl::StatusOr<std::unique_ptr<Detector>> d = Detector::Restore(*state);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(std::string(d.status().message()),
              HasSubstr("members: none, and a version-1 rule"));
}

}  // namespace
}  // namespace dwae
