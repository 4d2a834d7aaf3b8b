// libFuzzer target: a Zeek conn.log (TSV or JSON lines) through the whole
// connection path the daemon and the CLI share: RecordReader ->
// ValidateConnection -> ZeekFeatureExtractor -> FeatureEncoder.
//
// The first input byte picks the reader's format (auto, zeek, zeek-json);
// the rest is split into lines, so header blocks, rotations and bad lines
// mix in one input. Checks:
//   - a reader error never stops the next lines from being read (the reader
//     is used for every line regardless);
//   - an entry from a Zeek format is a Connection, and a valid one becomes a
//     Record of schema kZeek that ValidateRecord accepts, with finite,
//     non-negative extras;
//   - the encoder, fitted online on those rows, writes finite values in
//     [0, 1] (the schema's documented range);
//   - the extractor's counters stay consistent (late <= connections).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/connection.h"
#include "core/encoder.h"
#include "core/record.h"
#include "core/record_reader.h"
#include "core/zeek_features.h"

namespace {

constexpr dwae::InputFormat kFormats[] = {dwae::InputFormat::kAuto,
                                          dwae::InputFormat::kZeek,
                                          dwae::InputFormat::kZeekJson};

void CheckRow(const dwae::Record& row) {
  if (row.schema != dwae::FeatureSchema::kZeek) std::abort();
  if (!dwae::ValidateRecord(row).ok()) std::abort();
  for (double v : row.extra) {
    if (!std::isfinite(v) || v < 0) std::abort();
  }
}

void CheckEncoded(const dwae::FeatureEncoder& encoder,
                  const dwae::Record& row) {
  std::vector<float> out(encoder.input_dim());
  encoder.Encode(row, out.data());
  for (float v : out) {
    if (!(v >= 0.0f && v <= 1.0f)) std::abort();  // NaN fails too
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  dwae::RecordReader reader(kFormats[data[0] % 3]);
  const absl::string_view text(reinterpret_cast<const char*>(data) + 1,
                               size - 1);
  dwae::ZeekFeatureExtractor extractor;
  dwae::FeatureEncoder encoder(dwae::FeatureSchema::kZeek);
  dwae::Entry entry;
  dwae::Record row;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == absl::string_view::npos) end = text.size();
    const absl::string_view line = text.substr(start, end - start);
    start = end + 1;
    absl::StatusOr<bool> got = reader.Next(line, &entry);
    if (!got.ok() || !*got) continue;
    const auto* connection = std::get_if<dwae::Connection>(&entry);
    if (connection == nullptr) {
      // Only auto may decide the input is KDD text.
      if (reader.format() == dwae::InputFormat::kZeek ||
          reader.format() == dwae::InputFormat::kZeekJson) {
        std::abort();
      }
      continue;
    }
    if (!dwae::ValidateConnection(*connection).ok()) continue;
    extractor.Extract(*connection, &row);
    CheckRow(row);
    encoder.Update(row);
    CheckEncoded(encoder, row);
  }
  if (extractor.late() > extractor.connections()) std::abort();
  return 0;
}
