#include "core/feature_schema.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace dwae {

const char* FeatureSchemaName(FeatureSchema schema) {
  switch (schema) {
    case FeatureSchema::kKdd:
      return "kdd";
    case FeatureSchema::kZeek:
      return "zeek";
  }
  return "?";
}

absl::StatusOr<FeatureSchema> ParseFeatureSchema(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "kdd") return FeatureSchema::kKdd;
  if (lower == "zeek") return FeatureSchema::kZeek;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown feature schema '", name, "' (expected kdd or zeek)"));
}

AdaptiveQuantiles DefaultAdaptiveQuantiles(FeatureSchema schema) {
  return schema == FeatureSchema::kZeek ? AdaptiveQuantiles{0.995, 0.999}
                                        : AdaptiveQuantiles{0.80, 0.99};
}

absl::Status CheckSchema(FeatureSchema model, FeatureSchema record) {
  if (model == record) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("record has feature schema '", FeatureSchemaName(record),
                   "' but the model was trained on schema '",
                   FeatureSchemaName(model), "'"));
}

}  // namespace dwae
