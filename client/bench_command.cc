// Placeholder until the implementation lands.
#include "client/bench_command.h"

namespace dwae {

absl::Status BenchCommandOptions::Validate() const { return absl::OkStatus(); }
absl::Status RunBenchCommand(const BenchCommandOptions&) {
  return absl::UnimplementedError("bench: not implemented yet");
}

}  // namespace dwae
