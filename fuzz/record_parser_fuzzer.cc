// libFuzzer target: ParseRecordLine on arbitrary bytes, in both formats.
//
// Checks that a line the parser accepts satisfies Record's documented
// invariants (every numeric feature finite, >= 0 and <= 1e15, categorical
// strings non-empty, so ValidateRecord agrees) and that no field keeps a
// separator, surrounding whitespace or the line's '\r'. (A KDD99 label
// "normal.." legitimately becomes "normal.": exactly one '.' is removed.)
// It is also differential: ParseRecordLine (fast path first) must return
// exactly what the reference parser returns, status or record, every double
// bit for bit (record_parse_internal.h).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "core/record.h"
#include "core/record_parse_internal.h"

namespace {

void CheckRecord(const dwae::Record& record) {
  for (int i = 0; i < dwae::kNumFeatures; ++i) {
    const double v = record.numeric[i];
    if (!std::isfinite(v) || v < 0 || v > 1e15) std::abort();
    if (dwae::IsCategorical(i) && v != 0) std::abort();
  }
  if (record.protocol_type.empty() || record.service.empty() ||
      record.flag.empty()) {
    std::abort();
  }
  if (!dwae::ValidateRecord(record).ok()) std::abort();
  if (record.label.find(',') != std::string::npos) std::abort();
  for (const std::string* s :
       {&record.protocol_type, &record.service, &record.flag, &record.label}) {
    if (s->find(',') != std::string::npos) std::abort();
    if (!s->empty() &&
        (absl::ascii_isspace(static_cast<unsigned char>(s->front())) ||
         absl::ascii_isspace(static_cast<unsigned char>(s->back())))) {
      std::abort();
    }
  }
}

bool SameRecord(const dwae::Record& a, const dwae::Record& b) {
  return std::memcmp(a.numeric.data(), b.numeric.data(), sizeof(a.numeric)) ==
             0 &&
         std::memcmp(a.extra.data(), b.extra.data(), sizeof(a.extra)) == 0 &&
         a.schema == b.schema && a.protocol_type == b.protocol_type &&
         a.service == b.service && a.flag == b.flag && a.label == b.label &&
         a.difficulty == b.difficulty;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view line(reinterpret_cast<const char*>(data), size);
  for (dwae::RecordFormat format :
       {dwae::RecordFormat::kNslKdd, dwae::RecordFormat::kKdd99}) {
    absl::StatusOr<dwae::Record> record = dwae::ParseRecordLine(line, format);
    if (record.ok()) CheckRecord(*record);
    const absl::StatusOr<dwae::Record> reference =
        dwae::record_internal::ParseRecordLineReference(line, format);
    if (record.status() != reference.status()) std::abort();
    if (record.ok() && !SameRecord(*record, *reference)) std::abort();
  }
  return 0;
}
