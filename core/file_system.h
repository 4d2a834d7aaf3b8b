// FileSystem: the narrow interface through which all checkpoint file access
// goes, so that tests can inject failed writes, failed fsyncs, a full disk
// and torn files.
//
// DefaultFileSystem() is the real POSIX implementation. Its
// WriteFileAtomically writes `path` + ".tmp-<pid>-<counter>" in the same
// directory, fsyncs it, renames it over `path` and fsyncs the directory, so a
// reader (or a restart after a crash) sees either the old or the new content,
// never a mix.
//
// FaultInjectingFileSystem wraps another FileSystem and makes chosen steps of
// the next writes fail with a chosen errno, or tears them; see below.
//
// Errors name the path, the failed step and strerror(errno), e.g.
//   "/var/lib/dwae/ckpt: fsync /var/lib/dwae/ckpt.tmp-42-7: No space left on
//   device"
// and carry absl::ErrnoToStatusCode(errno) (ENOENT: NotFound, ENOSPC:
// ResourceExhausted, ...).
//
// Thread-safety: DefaultFileSystem() and FaultInjectingFileSystem are safe to
// use from many threads. Concurrent writers of the same path each write their
// own temp file; the last rename wins.
#ifndef DWAE_CORE_FILE_SYSTEM_H_
#define DWAE_CORE_FILE_SYSTEM_H_

#include <cstddef>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dwae {

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Reads the whole file. NotFound if it does not exist.
  virtual absl::StatusOr<std::string> ReadFile(const std::string& path) = 0;

  // Replaces `path` atomically: writes `path` + ".tmp-<pid>-<counter>" in the
  // same directory, fsyncs it, renames it over `path`, fsyncs the directory.
  // On any failure before the rename the previous file at `path` is untouched
  // and the temp file is removed. If only the final directory fsync fails,
  // `path` already holds the new content but it may not survive a power
  // loss. The Status names the path, the step (open/write/fsync/close/rename/
  // fsync dir) and strerror(errno).
  virtual absl::Status WriteFileAtomically(const std::string& path,
                                           absl::string_view data) = 0;

  // True if `path` names an existing file or directory.
  virtual bool Exists(const std::string& path) = 0;

  // Creates the directory and its parents (like mkdir -p), mode 0750 (less
  // the umask). OK if it already exists as a directory.
  virtual absl::Status CreateDirectories(const std::string& path) = 0;

  // Renames `from` to `to` (replacing `to` if it exists) and fsyncs the
  // directory of `to`.
  virtual absl::Status Rename(const std::string& from,
                              const std::string& to) = 0;
  // Deletes the temporary files a WriteFileAtomically of `path` left behind
  // when its process died mid-write ("<path>.tmp-*"). Returns how many.
  virtual absl::StatusOr<int> RemoveTemporaryFiles(const std::string& path) = 0;
};

// The real POSIX implementation (open/write loop handling EINTR and short
// writes/fsync/rename/fsync of the directory). A process-lifetime singleton;
// never delete it. Thread-safe.
FileSystem* DefaultFileSystem();

// The steps of WriteFileAtomically, in order.
enum class WriteStep {
  kOpen,      // creating the temp file
  kWrite,     // writing the data into it
  kFsync,     // fsync of the temp file
  kClose,     // close of the temp file
  kRename,    // rename of the temp file over the target
  kFsyncDir,  // fsync of the target's directory
};

// "open", "write", "fsync", "close", "rename", "fsync dir".
const char* WriteStepName(WriteStep step);

// A FileSystem for tests that forwards to `base` and fails or tears chosen
// WriteFileAtomically calls:
//
//   FaultInjectingFileSystem fs(DefaultFileSystem());
//   fs.FailNextWrites(WriteStep::kFsync, ENOSPC);  // next write: fsync fails
//   fs.TearNextWrites(10);  // next write leaves only 10 bytes at the path
//
// An injected failure runs the real POSIX write sequence on disk and makes
// the chosen step's system call fail with the chosen errno instead of being
// made (the temp file really is created, written and then removed), so it
// exercises DefaultFileSystem's cleanup; `base` is bypassed for that call.
// A torn write writes only the first `keep_bytes` bytes straight to the
// final path (truncating it, no temp file, no rename, no fsync), simulating
// a crash mid-write by a writer that does not write atomically; it returns
// Aborted, as the crashed writer would never have continued.
// Failures take precedence over tears. Reads, Exists, CreateDirectories and
// Rename always forward to `base`.
//
// Thread-safety: thread-safe; each armed fault is consumed by exactly one
// WriteFileAtomically call.
class FaultInjectingFileSystem : public FileSystem {
 public:
  // Does not take ownership; `base` must outlive this object.
  explicit FaultInjectingFileSystem(FileSystem* base) : base_(base) {}

  // The next `count` WriteFileAtomically calls fail at `step` with
  // `error_number` (e.g. EIO, ENOSPC). Replaces any earlier FailNextWrites.
  void FailNextWrites(WriteStep step, int error_number, int count = 1);

  // The next `count` WriteFileAtomically calls (not failed by
  // FailNextWrites) write only the first `keep_bytes` bytes to the path.
  void TearNextWrites(size_t keep_bytes, int count = 1);

  // Disarms all faults.
  void Clear();

  // Number of WriteFileAtomically calls failed or torn so far.
  int faults_injected() const;

  absl::StatusOr<std::string> ReadFile(const std::string& path) override;
  absl::Status WriteFileAtomically(const std::string& path,
                                   absl::string_view data) override;
  bool Exists(const std::string& path) override;
  absl::Status CreateDirectories(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::StatusOr<int> RemoveTemporaryFiles(const std::string& path) override;

 private:
  FileSystem* const base_;
  mutable std::mutex mu_;
  WriteStep fail_step_ = WriteStep::kWrite;  // guarded by mu_
  int fail_errno_ = 0;                       // guarded by mu_
  int fail_count_ = 0;                       // guarded by mu_
  size_t tear_keep_bytes_ = 0;               // guarded by mu_
  int tear_count_ = 0;                       // guarded by mu_
  int faults_injected_ = 0;                  // guarded by mu_
};

}  // namespace dwae

#endif  // DWAE_CORE_FILE_SYSTEM_H_
