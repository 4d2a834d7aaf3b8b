// libFuzzer target: the input as a serialized dwae.v1.Record.
//
// If it parses and RecordFromProto accepts it, checks that every numeric
// feature is finite, >= 0 and <= 1e15, and that FeatureEncoder::Encode (both
// unfitted and fitted on the record itself and on a fixed real row) yields
// values in [0, 1].
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "absl/status/statusor.h"
#include "core/encoder.h"
#include "core/record.h"
#include "core/record_proto.h"
#include "dwae/v1/record.pb.h"

namespace {

constexpr char kFixedLine[] =
    "0,tcp,http,SF,215,45076,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,1,1,0.00,0.00,"
    "0.00,0.00,1.00,0.00,0.00,0,0,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,"
    "normal,21";

void CheckEncoded(const dwae::FeatureEncoder& encoder,
                  const dwae::Record& record) {
  float out[dwae::kInputDim];
  encoder.Encode(record, out);
  for (float v : out) {
    // NaN fails both comparisons' negation below.
    if (!(v >= 0.0f && v <= 1.0f)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dwae::v1::Record proto;
  if (!proto.ParseFromArray(data, static_cast<int>(size))) return 0;
  absl::StatusOr<dwae::Record> record = dwae::RecordFromProto(proto);
  if (!record.ok()) return 0;

  for (int i = 0; i < dwae::kNumFeatures; ++i) {
    const double v = record->numeric[i];
    if (!std::isfinite(v) || v < 0 || v > 1e15) std::abort();
  }

  static const dwae::Record* const fixed = [] {
    absl::StatusOr<dwae::Record> r =
        dwae::ParseRecordLine(kFixedLine, dwae::RecordFormat::kNslKdd);
    if (!r.ok()) std::abort();
    return new dwae::Record(*std::move(r));
  }();

  dwae::FeatureEncoder unfitted;
  CheckEncoded(unfitted, *record);

  dwae::FeatureEncoder fitted_on_fixed;
  fitted_on_fixed.Fit({*fixed});
  CheckEncoded(fitted_on_fixed, *record);

  dwae::FeatureEncoder fitted_on_both;
  fitted_on_both.Fit({*fixed, *record});
  CheckEncoded(fitted_on_both, *record);
  CheckEncoded(fitted_on_both, *fixed);

  dwae::FeatureEncoder online;
  online.Update(*record);
  online.Update(*fixed);
  CheckEncoded(online, *record);
  return 0;
}
