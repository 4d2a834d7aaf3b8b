#include "core/file_system.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dwae {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class FileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info =
        ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = absl::StrCat(::testing::TempDir(), "/dwae_fs_", info->name(), "_",
                        ::getpid());
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(std::filesystem::create_directories(dir_));
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(dir_, ec);
  }

  std::string Path(const std::string& name) const {
    return absl::StrCat(dir_, "/", name);
  }

  // Names of the entries in `dir` (default: the test directory), sorted.
  std::vector<std::string> List(std::string dir = "") const {
    std::vector<std::string> names;
    for (const auto& entry :
         std::filesystem::directory_iterator(dir.empty() ? dir_ : dir)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  std::string Read(const std::string& path) {
    absl::StatusOr<std::string> data = fs_->ReadFile(path);
    EXPECT_TRUE(data.ok()) << data.status();
    return data.ok() ? *data : "";
  }

  FileSystem* fs_ = DefaultFileSystem();
  std::string dir_;
};

// -------------------------------------------------------- DefaultFileSystem

TEST_F(FileSystemTest, DefaultIsASingleton) {
  EXPECT_EQ(DefaultFileSystem(), DefaultFileSystem());
}

TEST_F(FileSystemTest, RoundTrip) {
  const std::string path = Path("ckpt");
  const std::string data("binary\0data\xff\n", 13);
  ASSERT_TRUE(fs_->WriteFileAtomically(path, data).ok());
  EXPECT_EQ(Read(path), data);

  ASSERT_TRUE(fs_->WriteFileAtomically(Path("empty"), "").ok());
  EXPECT_EQ(Read(Path("empty")), "");

  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31);
  ASSERT_TRUE(fs_->WriteFileAtomically(Path("big"), big).ok());
  EXPECT_EQ(Read(Path("big")), big);
}

TEST_F(FileSystemTest, OverwriteKeepsOnlyNewContent) {
  const std::string path = Path("ckpt");
  ASSERT_TRUE(fs_->WriteFileAtomically(path, std::string(1000, 'a')).ok());
  ASSERT_TRUE(fs_->WriteFileAtomically(path, "short").ok());
  EXPECT_EQ(Read(path), "short");
}

TEST_F(FileSystemTest, NoTempFilesAfterSuccess) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(fs_->WriteFileAtomically(Path("ckpt"), absl::StrCat(i)).ok());
  }
  ASSERT_TRUE(fs_->WriteFileAtomically(Path("other"), "x").ok());
  EXPECT_THAT(List(), ElementsAre("ckpt", "other"));
}

TEST_F(FileSystemTest, WrittenFileIsNotWorldReadable) {
  ASSERT_TRUE(fs_->WriteFileAtomically(Path("ckpt"), "x").ok());
  struct stat st;
  ASSERT_EQ(::stat(Path("ckpt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & S_IRWXO, 0u);
}

TEST_F(FileSystemTest, ReadFileNotFound) {
  const std::string path = Path("missing");
  absl::StatusOr<std::string> data = fs_->ReadFile(path);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(data.status().message(), HasSubstr(path));
}

TEST_F(FileSystemTest, UnwritableDirectoryNamesPathAndStep) {
  // Root ignores directory permissions, so there use a path under a regular
  // file, which fails with ENOTDIR instead of EACCES.
  std::string path;
  int expected_errno;
  if (::geteuid() == 0) {
    ASSERT_TRUE(fs_->WriteFileAtomically(Path("file"), "x").ok());
    path = Path("file/ckpt");
    expected_errno = ENOTDIR;
  } else {
    ASSERT_TRUE(fs_->CreateDirectories(Path("ro")).ok());
    ASSERT_EQ(::chmod(Path("ro").c_str(), 0500), 0);
    path = Path("ro/ckpt");
    expected_errno = EACCES;
  }
  const absl::Status status = fs_->WriteFileAtomically(path, "data");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr(path));
  EXPECT_THAT(status.message(), HasSubstr(": open "));
  EXPECT_THAT(status.message(), HasSubstr(std::strerror(expected_errno)));
  EXPECT_FALSE(fs_->Exists(path));
}

TEST_F(FileSystemTest, Exists) {
  EXPECT_TRUE(fs_->Exists(dir_));
  EXPECT_FALSE(fs_->Exists(Path("f")));
  ASSERT_TRUE(fs_->WriteFileAtomically(Path("f"), "x").ok());
  EXPECT_TRUE(fs_->Exists(Path("f")));
}

TEST_F(FileSystemTest, CreateDirectoriesNested) {
  const std::string nested = Path("a/b//c/");
  ASSERT_TRUE(fs_->CreateDirectories(nested).ok());
  EXPECT_TRUE(std::filesystem::is_directory(Path("a/b/c")));
  // Idempotent, and usable.
  EXPECT_TRUE(fs_->CreateDirectories(nested).ok());
  EXPECT_TRUE(fs_->CreateDirectories(Path("a/b")).ok());
  ASSERT_TRUE(fs_->WriteFileAtomically(Path("a/b/c/ckpt"), "x").ok());
  EXPECT_EQ(Read(Path("a/b/c/ckpt")), "x");

  struct stat st;
  ASSERT_EQ(::stat(Path("a/b/c").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & S_IRWXO, 0u);
  EXPECT_EQ(st.st_mode & S_IRWXU, static_cast<mode_t>(S_IRWXU));
}

TEST_F(FileSystemTest, CreateDirectoriesOverAFileFails) {
  ASSERT_TRUE(fs_->WriteFileAtomically(Path("file"), "x").ok());
  for (const std::string& path : {Path("file"), Path("file/sub")}) {
    const absl::Status status = fs_->CreateDirectories(path);
    ASSERT_FALSE(status.ok()) << path;
    EXPECT_THAT(status.message(), HasSubstr(path));
    EXPECT_THAT(status.message(), HasSubstr("mkdir"));
  }
  EXPECT_EQ(fs_->CreateDirectories("").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(FileSystemTest, Rename) {
  ASSERT_TRUE(fs_->WriteFileAtomically(Path("from"), "new").ok());
  ASSERT_TRUE(fs_->WriteFileAtomically(Path("to"), "old").ok());
  ASSERT_TRUE(fs_->Rename(Path("from"), Path("to")).ok());
  EXPECT_FALSE(fs_->Exists(Path("from")));
  EXPECT_EQ(Read(Path("to")), "new");

  const absl::Status status = fs_->Rename(Path("nope"), Path("to"));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr(Path("nope")));
  EXPECT_THAT(status.message(), HasSubstr("rename"));
  EXPECT_EQ(Read(Path("to")), "new");
}

TEST_F(FileSystemTest, ConcurrentWritersLeaveOneCompleteVersion) {
  const std::string path = Path("ckpt");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::string data(10000 + t, static_cast<char>('a' + t));
      for (int i = 0; i < 20; ++i) {
        EXPECT_TRUE(fs_->WriteFileAtomically(path, data).ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::string data = Read(path);
  ASSERT_GE(data.size(), 10000u);
  const int t = static_cast<int>(data.size()) - 10000;
  ASSERT_LT(t, 4);
  EXPECT_EQ(data, std::string(10000 + t, static_cast<char>('a' + t)));
  EXPECT_THAT(List(), ElementsAre("ckpt"));
}

// ------------------------------------------------ FaultInjectingFileSystem

class FaultInjectionTest : public FileSystemTest {
 protected:
  void SetUp() override {
    FileSystemTest::SetUp();
    ASSERT_TRUE(faulty_.WriteFileAtomically(Path("ckpt"), "old").ok());
  }

  FaultInjectingFileSystem faulty_{DefaultFileSystem()};
};

TEST_F(FaultInjectionTest, FailedFsyncKeepsOldContent) {
  faulty_.FailNextWrites(WriteStep::kFsync, EIO);
  const absl::Status status = faulty_.WriteFileAtomically(Path("ckpt"), "new");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr(Path("ckpt")));
  EXPECT_THAT(status.message(), HasSubstr(": fsync "));
  EXPECT_THAT(status.message(), HasSubstr(std::strerror(EIO)));
  EXPECT_EQ(Read(Path("ckpt")), "old");
  EXPECT_THAT(List(), ElementsAre("ckpt"));
  EXPECT_EQ(faulty_.faults_injected(), 1);

  // The fault is consumed: the next write goes through.
  ASSERT_TRUE(faulty_.WriteFileAtomically(Path("ckpt"), "new").ok());
  EXPECT_EQ(Read(Path("ckpt")), "new");
  EXPECT_EQ(faulty_.faults_injected(), 1);
}

TEST_F(FaultInjectionTest, DiskFullOnWriteKeepsOldContent) {
  faulty_.FailNextWrites(WriteStep::kWrite, ENOSPC);
  const absl::Status status =
      faulty_.WriteFileAtomically(Path("ckpt"), std::string(5000, 'n'));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr(Path("ckpt")));
  EXPECT_THAT(status.message(), HasSubstr(": write "));
  EXPECT_THAT(status.message(), HasSubstr(std::strerror(ENOSPC)));
  EXPECT_EQ(Read(Path("ckpt")), "old");
  EXPECT_THAT(List(), ElementsAre("ckpt"));
}

TEST_F(FaultInjectionTest, EveryStepBeforeRenameKeepsOldContent) {
  for (WriteStep step : {WriteStep::kOpen, WriteStep::kWrite, WriteStep::kFsync,
                         WriteStep::kClose, WriteStep::kRename}) {
    SCOPED_TRACE(WriteStepName(step));
    faulty_.FailNextWrites(step, EIO);
    const absl::Status status =
        faulty_.WriteFileAtomically(Path("ckpt"), "new");
    ASSERT_FALSE(status.ok());
    EXPECT_THAT(status.message(),
                HasSubstr(absl::StrCat(": ", WriteStepName(step), " ")));
    EXPECT_EQ(Read(Path("ckpt")), "old");
    EXPECT_THAT(List(), ElementsAre("ckpt"));
  }
}

TEST_F(FaultInjectionTest, FailedDirectoryFsyncReportsButContentIsNew) {
  faulty_.FailNextWrites(WriteStep::kFsyncDir, EIO);
  const absl::Status status = faulty_.WriteFileAtomically(Path("ckpt"), "new");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("fsync dir"));
  EXPECT_THAT(status.message(), HasSubstr(std::strerror(EIO)));
  EXPECT_EQ(Read(Path("ckpt")), "new");
  EXPECT_THAT(List(), ElementsAre("ckpt"));
}

TEST_F(FaultInjectionTest, FailsExactlyCountWrites) {
  faulty_.FailNextWrites(WriteStep::kRename, EIO, /*count=*/2);
  EXPECT_FALSE(faulty_.WriteFileAtomically(Path("ckpt"), "1").ok());
  EXPECT_FALSE(faulty_.WriteFileAtomically(Path("ckpt"), "2").ok());
  EXPECT_TRUE(faulty_.WriteFileAtomically(Path("ckpt"), "3").ok());
  EXPECT_EQ(Read(Path("ckpt")), "3");
  EXPECT_EQ(faulty_.faults_injected(), 2);

  faulty_.FailNextWrites(WriteStep::kRename, EIO, /*count=*/5);
  faulty_.Clear();
  EXPECT_TRUE(faulty_.WriteFileAtomically(Path("ckpt"), "4").ok());
}

TEST_F(FaultInjectionTest, TornWriteLeavesTruncatedFile) {
  faulty_.TearNextWrites(/*keep_bytes=*/4);
  const absl::Status status =
      faulty_.WriteFileAtomically(Path("ckpt"), "0123456789");
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(status.message(), HasSubstr(Path("ckpt")));
  EXPECT_EQ(Read(Path("ckpt")), "0123");
  EXPECT_THAT(List(), ElementsAre("ckpt"));

  // keep_bytes beyond the data keeps all of it; the next write is normal.
  faulty_.TearNextWrites(100);
  EXPECT_FALSE(faulty_.WriteFileAtomically(Path("ckpt"), "abc").ok());
  EXPECT_EQ(Read(Path("ckpt")), "abc");
  EXPECT_TRUE(faulty_.WriteFileAtomically(Path("ckpt"), "whole").ok());
  EXPECT_EQ(Read(Path("ckpt")), "whole");
  EXPECT_EQ(faulty_.faults_injected(), 2);
}

TEST_F(FaultInjectionTest, ForwardsOtherCalls) {
  EXPECT_TRUE(faulty_.Exists(Path("ckpt")));
  EXPECT_EQ(*faulty_.ReadFile(Path("ckpt")), "old");
  EXPECT_EQ(faulty_.ReadFile(Path("missing")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(faulty_.CreateDirectories(Path("d/e")).ok());
  EXPECT_TRUE(faulty_.Rename(Path("ckpt"), Path("d/e/ckpt")).ok());
  EXPECT_EQ(Read(Path("d/e/ckpt")), "old");
  EXPECT_THAT(List(Path("d/e")), ElementsAre("ckpt"));
}

}  // namespace
}  // namespace dwae
