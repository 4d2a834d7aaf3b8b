// libFuzzer target: the input as a checkpoint file.
//
// DecodeCheckpoint; if it accepts the bytes, Detector::Restore; if that
// accepts the state, Publish() and score one fixed record. Nothing may
// crash, and the score must be finite or NaN (a NaN score from a restored
// model with absurd weights is tolerated, but +/-inf is not expected; see
// below), and the top-k list must be well-formed.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/checkpoint.h"
#include "core/detector.h"
#include "core/encoder.h"
#include "core/record.h"
#include "dwae/v1/checkpoint.pb.h"

namespace {

constexpr char kFixedLine[] =
    "0,tcp,http,SF,215,45076,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,1,1,0.00,0.00,"
    "0.00,0.00,1.00,0.00,0.00,0,0,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,"
    "normal,21";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<dwae::v1::ModelState> state = dwae::DecodeCheckpoint(bytes);
  if (!state.ok()) return 0;
  absl::StatusOr<std::unique_ptr<dwae::Detector>> detector =
      dwae::Detector::Restore(*state);
  if (!detector.ok()) return 0;

  static const dwae::Record* const fixed = [] {
    absl::StatusOr<dwae::Record> r =
        dwae::ParseRecordLine(kFixedLine, dwae::RecordFormat::kNslKdd);
    if (!r.ok()) std::abort();
    return new dwae::Record(*std::move(r));
  }();

  std::shared_ptr<const dwae::ScoringModel> model = (*detector)->Publish();
  if (model == nullptr) std::abort();
  dwae::ScoringScratch scratch = model->MakeScratch();
  dwae::ScoreResult result;
  model->Score(*fixed, dwae::kMaxTopK, &scratch, &result);
  // The score is a mean of squared errors of values in [0, 1] against the
  // network's output: finite, or NaN if the restored weights produce NaN.
  if (std::isinf(result.score)) std::abort();
  if (!std::isnan(result.score) && result.score < 0) std::abort();
  if (result.num_top < 0 || result.num_top > dwae::kMaxTopK) std::abort();
  for (int i = 0; i < result.num_top; ++i) {
    const int d = result.top[i].dimension;
    if (d < 0 || d >= dwae::kInputDim) std::abort();
  }
  return 0;
}
