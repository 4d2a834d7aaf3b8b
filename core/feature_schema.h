// Feature schemas: which input layout a model was trained on.
//
// A model (Detector, ScoringModel, checkpoint) learns from exactly one
// schema, and a Record (record.h) says which schema its features are in:
//   kKdd   the 41 NSL-KDD / KDD Cup 99 features (NSL-KDD and KDD99 files,
//          the wire's dwae.v1.Record); encoder layout: encoder.h.
//   kZeek  the flow features a ZeekFeatureExtractor (zeek_features.h)
//          computes from Zeek conn.log entries; encoder layout: encoder.h.
// Checkpoints written before schemas existed are kKdd.
//
// Thread-safety: pure functions.
#ifndef DWAE_CORE_FEATURE_SCHEMA_H_
#define DWAE_CORE_FEATURE_SCHEMA_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dwae {

enum class FeatureSchema {
  kKdd,
  kZeek,
};

// "kdd" or "zeek".
const char* FeatureSchemaName(FeatureSchema schema);
// Parses "kdd" or "zeek" (case-insensitive).
absl::StatusOr<FeatureSchema> ParseFeatureSchema(absl::string_view name);

// The label-free adaptive threshold's bounds (threshold.h: quantiles of the
// held-out normal scores) that each schema's models use unless configured:
// kdd [0.80, 0.99]; zeek [0.995, 0.999], chosen on validation rows of the
// training days only (docs/zeek.md).
struct AdaptiveQuantiles {
  double lower;
  double upper;
};
AdaptiveQuantiles DefaultAdaptiveQuantiles(FeatureSchema schema);

// FailedPrecondition "record has feature schema 'zeek' but the model was
// trained on schema 'kdd'"; OK when they are equal.
absl::Status CheckSchema(FeatureSchema model, FeatureSchema record);

}  // namespace dwae

#endif  // DWAE_CORE_FEATURE_SCHEMA_H_
