// Placeholder until the implementation lands.
#include "client/tail_command.h"

namespace dwae {

absl::Status TailCommandOptions::Validate() const { return absl::OkStatus(); }
absl::Status RunTailCommand(const TailCommandOptions&) {
  return absl::UnimplementedError("tail: not implemented yet");
}

}  // namespace dwae
