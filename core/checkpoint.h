// Checkpoint files: the byte format and reading/writing them safely.
//
// Format (proto/dwae/v1/checkpoint.proto): one serialized CheckpointFile
// holding magic 0x45415744 ("DWAE"), format version 2, the CRC32C of the
// payload, and the payload, a serialized ModelState. Decoding refuses, with
// a message saying which: a file that is not a checkpoint (bad magic or not
// a CheckpointFile at all), an unknown format version, a payload whose
// checksum does not match (torn or corrupted), a payload that does not
// parse.
//
// Versions. 2 keeps the served ensemble's autoencoders in
// ModelState.members. 1 (dwaed before ensembles) kept one model in
// ModelState.rule: decoding migrates it to an ensemble of one (rule moved
// to members[0], config.model.ensemble "k1"), which restores and scores
// exactly as it did (tests/core/checkpoint_migration_test.cc reads a file
// written by version-1 dwaed). Writing goes through
// FileSystem::WriteFileAtomically (temp file, fsync, rename, fsync of the
// directory).
//
// Thread-safety: pure functions; the FileSystem decides the rest.
#ifndef DWAE_CORE_CHECKPOINT_H_
#define DWAE_CORE_CHECKPOINT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/file_system.h"
#include "dwae/v1/checkpoint.pb.h"

namespace dwae {

inline constexpr uint32_t kCheckpointMagic = 0x45415744;  // "DWAE"
inline constexpr uint32_t kCheckpointVersion = 2;
// The oldest format version DecodeCheckpoint reads (and migrates).
inline constexpr uint32_t kOldestCheckpointVersion = 1;
// The checkpoint's name inside a state directory.
inline constexpr char kCheckpointFileName[] = "model.ckpt";

std::string EncodeCheckpoint(const v1::ModelState& state);
absl::StatusOr<v1::ModelState> DecodeCheckpoint(absl::string_view bytes);

// Errors are prefixed with `path`.
absl::Status WriteCheckpoint(FileSystem* fs, const std::string& path,
                             const v1::ModelState& state);
absl::StatusOr<v1::ModelState> ReadCheckpoint(FileSystem* fs,
                                              const std::string& path);

}  // namespace dwae

#endif  // DWAE_CORE_CHECKPOINT_H_
