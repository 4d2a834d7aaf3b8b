#include "core/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace dwae {
namespace {

// "<path>: <what>: <strerror(error_number)>", with the errno's status code.
absl::Status PosixError(int error_number, const std::string& path,
                        absl::string_view what) {
  return absl::ErrnoToStatus(error_number, absl::StrCat(path, ": ", what));
}

// The directory holding `path`: "a/b/c" -> "a/b", "/c" -> "/", "c" -> ".".
std::string DirName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Writes all of `data` to `fd`, retrying on EINTR and short writes.
// Returns 0 or an errno value.
int WriteAll(int fd, absl::string_view data) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;  // no progress on a regular file: give up
    p += n;
    left -= static_cast<size_t>(n);
  }
  return 0;
}

// fsync, retried on EINTR. Returns 0 or an errno value.
int FsyncFd(int fd) {
  while (::fsync(fd) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

// Opens and fsyncs directory `dir`. Returns 0 or an errno value.
int FsyncDir(const std::string& dir) {
  int fd;
  do {
    fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno;
  const int err = FsyncFd(fd);
  ::close(fd);
  return err;
}

// The atomic write sequence. If `fault_errno` != 0 the system call of
// `fault_step` is not made and fails with `fault_errno` instead.
absl::Status PosixWriteFileAtomically(const std::string& path,
                                      absl::string_view data,
                                      WriteStep fault_step, int fault_errno) {
  static std::atomic<uint64_t> counter{0};
  const auto injected = [&](WriteStep step) {
    return fault_errno != 0 && step == fault_step;
  };
  const std::string tmp =
      absl::StrCat(path, ".tmp-", static_cast<int64_t>(::getpid()), "-",
                   counter.fetch_add(1, std::memory_order_relaxed));

  int fd = -1;
  if (injected(WriteStep::kOpen)) {
    errno = fault_errno;
  } else {
    do {
      fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    } while (fd < 0 && errno == EINTR);
  }
  if (fd < 0) {
    return PosixError(errno, path, absl::StrCat("open ", tmp));
  }

  // Removes the temp file (after closing it, if still open) and returns the
  // error for `step`.
  const auto fail = [&](WriteStep step, int error_number) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    return PosixError(error_number, path,
                      absl::StrCat(WriteStepName(step), " ", tmp));
  };

  int err = injected(WriteStep::kWrite) ? fault_errno : WriteAll(fd, data);
  if (err != 0) return fail(WriteStep::kWrite, err);
  err = injected(WriteStep::kFsync) ? fault_errno : FsyncFd(fd);
  if (err != 0) return fail(WriteStep::kFsync, err);
  if (injected(WriteStep::kClose)) {
    err = fault_errno;
  } else {
    // On Linux the descriptor is released even when close fails, and EINTR
    // after a successful fsync loses nothing.
    if (::close(fd) != 0 && errno != EINTR) err = errno;
    fd = -1;
  }
  if (err != 0) return fail(WriteStep::kClose, err);

  if (injected(WriteStep::kRename)) {
    err = fault_errno;
  } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
  }
  if (err != 0) return fail(WriteStep::kRename, err);

  // The new content is in place; this only makes the rename durable.
  const std::string dir = DirName(path);
  err = injected(WriteStep::kFsyncDir) ? fault_errno : FsyncDir(dir);
  if (err != 0) {
    return PosixError(err, path,
                      absl::StrCat(WriteStepName(WriteStep::kFsyncDir), " ",
                                   dir, " (after rename)"));
  }
  return absl::OkStatus();
}

class PosixFileSystem : public FileSystem {
 public:
  absl::StatusOr<std::string> ReadFile(const std::string& path) override {
    int fd;
    do {
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return PosixError(errno, path, "open");
    std::string contents;
    struct stat st;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      contents.reserve(static_cast<size_t>(st.st_size));
    }
    char buffer[64 * 1024];
    for (;;) {
      const ssize_t n = ::read(fd, buffer, sizeof(buffer));
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::close(fd);
        return PosixError(err, path, "read");
      }
      if (n == 0) break;
      contents.append(buffer, static_cast<size_t>(n));
    }
    ::close(fd);
    return contents;
  }

  absl::Status WriteFileAtomically(const std::string& path,
                                   absl::string_view data) override {
    return PosixWriteFileAtomically(path, data, WriteStep::kOpen,
                                    /*fault_errno=*/0);
  }

  bool Exists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }

  absl::Status CreateDirectories(const std::string& path) override {
    if (path.empty()) {
      return absl::InvalidArgumentError("CreateDirectories: empty path");
    }
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return absl::OkStatus();
    }
    // mkdir each prefix ending before a '/', then the whole path.
    for (size_t end = path.find('/', 1);; end = path.find('/', end + 1)) {
      const std::string prefix =
          end == std::string::npos ? path : path.substr(0, end);
      if (!prefix.empty() && prefix.back() != '/') {
        if (::mkdir(prefix.c_str(), 0750) != 0) {
          int err = errno;
          if (err == EEXIST) {
            // Fine if it is (now) a directory, e.g. made by a racing caller.
            err = ::stat(prefix.c_str(), &st) == 0 && S_ISDIR(st.st_mode)
                      ? 0
                      : ENOTDIR;
          }
          if (err != 0) {
            return PosixError(err, path, absl::StrCat("mkdir ", prefix));
          }
        }
      }
      if (end == std::string::npos) break;
    }
    return absl::OkStatus();
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return PosixError(errno, from, absl::StrCat("rename to ", to));
    }
    const std::string dir = DirName(to);
    if (const int err = FsyncDir(dir); err != 0) {
      return PosixError(
          err, to,
          absl::StrCat("fsync dir ", dir, " (after rename from ", from, ")"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<int> RemoveTemporaryFiles(const std::string& path) override {
    const std::string dir = DirName(path);
    const std::string prefix =
        absl::StrCat(path.substr(path.find_last_of('/') + 1), ".tmp-");
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return PosixError(errno, dir, "opendir");
    int removed = 0;
    while (const dirent* entry = ::readdir(d)) {
      if (!absl::StartsWith(entry->d_name, prefix)) continue;
      const std::string victim = absl::StrCat(dir, "/", entry->d_name);
      if (::unlink(victim.c_str()) == 0) ++removed;
    }
    ::closedir(d);
    return removed;
  }
};

}  // namespace

FileSystem* DefaultFileSystem() {
  static FileSystem* const fs = new PosixFileSystem;
  return fs;
}

const char* WriteStepName(WriteStep step) {
  switch (step) {
    case WriteStep::kOpen:
      return "open";
    case WriteStep::kWrite:
      return "write";
    case WriteStep::kFsync:
      return "fsync";
    case WriteStep::kClose:
      return "close";
    case WriteStep::kRename:
      return "rename";
    case WriteStep::kFsyncDir:
      return "fsync dir";
  }
  return "unknown";
}

// ------------------------------------------------- FaultInjectingFileSystem

void FaultInjectingFileSystem::FailNextWrites(WriteStep step, int error_number,
                                              int count) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_step_ = step;
  fail_errno_ = error_number;
  fail_count_ = error_number != 0 ? std::max(count, 0) : 0;
}

void FaultInjectingFileSystem::TearNextWrites(size_t keep_bytes, int count) {
  std::lock_guard<std::mutex> lock(mu_);
  tear_keep_bytes_ = keep_bytes;
  tear_count_ = std::max(count, 0);
}

void FaultInjectingFileSystem::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  fail_count_ = 0;
  tear_count_ = 0;
}

int FaultInjectingFileSystem::faults_injected() const {
  std::lock_guard<std::mutex> lock(mu_);
  return faults_injected_;
}

absl::StatusOr<std::string> FaultInjectingFileSystem::ReadFile(
    const std::string& path) {
  return base_->ReadFile(path);
}

absl::Status FaultInjectingFileSystem::WriteFileAtomically(
    const std::string& path, absl::string_view data) {
  enum class Action { kForward, kFail, kTear } action = Action::kForward;
  WriteStep step = WriteStep::kOpen;
  int error_number = 0;
  size_t keep = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_count_ > 0) {
      --fail_count_;
      ++faults_injected_;
      action = Action::kFail;
      step = fail_step_;
      error_number = fail_errno_;
    } else if (tear_count_ > 0) {
      --tear_count_;
      ++faults_injected_;
      action = Action::kTear;
      keep = std::min(tear_keep_bytes_, data.size());
    }
  }
  switch (action) {
    case Action::kForward:
      return base_->WriteFileAtomically(path, data);
    case Action::kFail:
      return PosixWriteFileAtomically(path, data, step, error_number);
    case Action::kTear:
      break;
  }
  int fd;
  do {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return PosixError(errno, path, "open (torn write)");
  const int err = WriteAll(fd, data.substr(0, keep));
  ::close(fd);
  if (err != 0) return PosixError(err, path, "write (torn write)");
  return absl::AbortedError(absl::StrCat(path, ": torn write injected: kept ",
                                         keep, " of ", data.size(), " bytes"));
}

bool FaultInjectingFileSystem::Exists(const std::string& path) {
  return base_->Exists(path);
}

absl::Status FaultInjectingFileSystem::CreateDirectories(
    const std::string& path) {
  return base_->CreateDirectories(path);
}

absl::Status FaultInjectingFileSystem::Rename(const std::string& from,
                                              const std::string& to) {
  return base_->Rename(from, to);
}

absl::StatusOr<int> FaultInjectingFileSystem::RemoveTemporaryFiles(
    const std::string& path) {
  return base_->RemoveTemporaryFiles(path);
}

}  // namespace dwae
