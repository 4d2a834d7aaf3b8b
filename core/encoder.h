// FeatureEncoder turns a Record into the model's input vector in [0, 1].
//
// Layout of the kInputDim = 125 dimensions:
//   [0, 38)     the 38 numeric features in feature order (transformed, scaled)
//   [38, 42)    protocol_type one-hot: tcp, udp, icmp, <unknown>
//   [42, 113)   service one-hot: the 70 NSL-KDD services, <unknown>
//   [113, 125)  flag one-hot: the 11 NSL-KDD flags, <unknown>
// Numeric transform: log1p for the heavy-tailed counts (duration, src_bytes,
// dst_bytes, wrong_fragment, urgent, hot, num_failed_logins, num_compromised,
// num_root, num_file_creations, num_shells, num_access_files, count,
// srv_count, dst_host_count, dst_host_srv_count), identity for rates and
// flags; then min-max scaling with statistics fitted on training rows, then
// clipping to [0, 1]. A column whose fitted range is empty maps to 0.
//
// Thread-safety: const methods may be called from any number of threads;
// Fit/Update/Restore need exclusive access.
#ifndef DWAE_CORE_ENCODER_H_
#define DWAE_CORE_ENCODER_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/record.h"

namespace dwae {

inline constexpr int kNumNumeric = 38;
inline constexpr int kNumProtocols = 3;
inline constexpr int kNumServices = 70;
inline constexpr int kNumFlags = 11;
inline constexpr int kInputDim =
    kNumNumeric + (kNumProtocols + 1) + (kNumServices + 1) + (kNumFlags + 1);

// The NSL-KDD service vocabulary: name of service `index` in [0,
// kNumServices), and the index of a name (kNumServices when unknown).
const char* KddServiceNameAt(int index);
int KddServiceIndex(absl::string_view name);

class FeatureEncoder {
 public:
  // An unfitted encoder: every numeric column has min = max = 0.
  FeatureEncoder();

  // Sets min/max of every numeric column from `rows` (after the transform).
  void Fit(const std::vector<Record>& rows);
  // Widens min/max with one more row (online fitting).
  void Update(const Record& row);

  // Writes kInputDim floats to `out`.
  void Encode(const Record& record, float* out) const;

  // Input dimension d's source feature (0-based feature index).
  static int FeatureOfDimension(int d);
  // Human-readable name: "src_bytes", "service=http", "flag=<unknown>".
  // (A reference into a table built once; "?" out of range.)
  static const std::string& DimensionName(int d);
  // True when the categorical value is outside the NSL-KDD vocabulary.
  static bool IsUnknownProtocol(const std::string& value);
  static bool IsUnknownService(const std::string& value);
  static bool IsUnknownFlag(const std::string& value);

  // Fitted statistics, one entry per numeric column (in transformed units),
  // for checkpoints.
  const std::array<double, kNumNumeric>& mins() const { return min_; }
  const std::array<double, kNumNumeric>& maxs() const { return max_; }
  absl::Status Restore(const std::vector<double>& mins,
                       const std::vector<double>& maxs);

 private:
  // Recomputes inv_range_[j] from min_[j] and max_[j].
  void UpdateInvRange(int j);

  std::array<double, kNumNumeric> min_;
  std::array<double, kNumNumeric> max_;
  // Precomputed 1 / (max - min), 0 for an empty range. Double, so that a
  // value at the fitted max encodes to exactly 1.0f.
  std::array<double, kNumNumeric> inv_range_;
  // Rows the statistics were computed from: 0 for an unfitted encoder (the
  // next Update starts from its row), the row count after Fit, 1 after
  // Restore.
  int64_t rows_seen_ = 0;
};

}  // namespace dwae

#endif  // DWAE_CORE_ENCODER_H_
