#include "core/checkpoint.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/crc32c.h"

namespace dwae {
namespace {

// Version 1 held one model in `rule`: it becomes an ensemble of one.
void MigrateFromVersion1(v1::ModelState* state) {
  if (state->has_rule()) {
    *state->add_members()->mutable_rule() = std::move(*state->mutable_rule());
    state->clear_rule();
  }
  v1::ModelSettings* model = state->mutable_config()->mutable_model();
  if (!model->has_ensemble()) model->set_ensemble("k1");
}

}  // namespace

std::string EncodeCheckpoint(const v1::ModelState& state) {
  v1::CheckpointFile file;
  file.set_magic(kCheckpointMagic);
  file.set_version(kCheckpointVersion);
  std::string* payload = file.mutable_payload();
  state.SerializeToString(payload);
  file.set_payload_crc32c(Crc32c(payload->data(), payload->size()));
  return file.SerializeAsString();
}

absl::StatusOr<v1::ModelState> DecodeCheckpoint(absl::string_view bytes) {
  v1::CheckpointFile file;
  if (bytes.empty()) return absl::DataLossError("empty file");
  if (!file.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      file.magic() != kCheckpointMagic) {
    return absl::DataLossError(
        "not a dwae checkpoint (bad magic or truncated header)");
  }
  if (file.version() == 0 || file.payload().empty()) {
    // Save() never writes an empty payload: the configuration is always set.
    return absl::DataLossError("truncated checkpoint (no version or payload)");
  }
  if (file.version() > kCheckpointVersion ||
      file.version() < kOldestCheckpointVersion) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "checkpoint format version %d is not supported (this build reads "
        "versions %d to %d)",
        file.version(), kOldestCheckpointVersion, kCheckpointVersion));
  }
  const std::string& payload = file.payload();
  const uint32_t crc = Crc32c(payload.data(), payload.size());
  if (crc != file.payload_crc32c()) {
    return absl::DataLossError(absl::StrFormat(
        "checksum mismatch (stored %08x, computed %08x): torn or corrupted",
        file.payload_crc32c(), crc));
  }
  v1::ModelState state;
  if (!state.ParseFromString(payload)) {
    return absl::DataLossError("payload does not parse as a ModelState");
  }
  if (file.version() == 1) MigrateFromVersion1(&state);
  return state;
}

absl::Status WriteCheckpoint(FileSystem* fs, const std::string& path,
                             const v1::ModelState& state) {
  return fs->WriteFileAtomically(path, EncodeCheckpoint(state));
}

absl::StatusOr<v1::ModelState> ReadCheckpoint(FileSystem* fs,
                                              const std::string& path) {
  absl::StatusOr<std::string> bytes = fs->ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<v1::ModelState> state = DecodeCheckpoint(*bytes);
  if (!state.ok()) {
    return absl::Status(state.status().code(),
                        absl::StrCat(path, ": ", state.status().message()));
  }
  return state;
}

}  // namespace dwae
