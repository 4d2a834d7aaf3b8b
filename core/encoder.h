// FeatureEncoder turns a Record into the model's input vector in [0, 1].
// Each feature schema (feature_schema.h) has its own layout; an encoder is
// built for one schema and encodes only records of it (callers check with
// CheckSchema).
//
// Layout of the kdd schema, kInputDim = 125 dimensions:
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
// Layout of the zeek schema, kZeekInputDim = 147 dimensions:
//   [0, 58)     numeric: the 23 flow-measurable KDD features (duration,
//               src_bytes, dst_bytes, land, 22-40), then the 35 Zeek extras
//               (zeek_features.h: packets, IP bytes, missed bytes,
//               local_orig/local_resp, 25 history letters, 3 responder port
//               classes)
//   [58, 62)    protocol_type one-hot: tcp, udp, icmp, <unknown>
//   [62, 133)   service one-hot: the 70 NSL-KDD services, <unknown>
//   [133, 147)  flag one-hot: Zeek's 13 conn_states, <unknown>
// Numeric transform: log1p for durations, bytes, packets and counts. Only
// duration, src_bytes, dst_bytes, the packet and IP-byte counts are scaled
// with fitted min/max; everything else has a FIXED scale (rates and bits
// [0, 1]; count and srv_count [0, log1p(511)]; dst_host_count and
// dst_host_srv_count [0, log1p(100)]; missed_bytes [0, log1p(2^32)]), so
// that a value the normal training rows never showed (a SYN-error rate of
// 1, a history letter) still reaches the model instead of collapsing into
// an empty fitted range.
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
#include "absl/types/span.h"
#include "core/feature_schema.h"
#include "core/record.h"

namespace dwae {

inline constexpr int kNumNumeric = 38;
inline constexpr int kNumProtocols = 3;
inline constexpr int kNumServices = 70;
inline constexpr int kNumFlags = 11;
inline constexpr int kInputDim =
    kNumNumeric + (kNumProtocols + 1) + (kNumServices + 1) + (kNumFlags + 1);
// The zeek schema.
inline constexpr int kZeekNumNumeric = 23 + kNumZeekExtras;
inline constexpr int kNumZeekFlags = 13;
inline constexpr int kZeekInputDim = kZeekNumNumeric + (kNumProtocols + 1) +
                                     (kNumServices + 1) + (kNumZeekFlags + 1);
inline constexpr int kMaxNumeric = kZeekNumNumeric;

// Input dimension of a schema's layout.
int InputDim(FeatureSchema schema);

// The NSL-KDD service vocabulary: name of service `index` in [0,
// kNumServices), and the index of a name (kNumServices when unknown).
const char* KddServiceNameAt(int index);
int KddServiceIndex(absl::string_view name);

class FeatureEncoder {
 public:
  // An unfitted encoder: every fitted numeric column has min = max = 0.
  explicit FeatureEncoder(FeatureSchema schema = FeatureSchema::kKdd);

  FeatureSchema schema() const { return schema_; }
  int input_dim() const { return InputDim(schema_); }
  int num_numeric() const { return num_numeric_; }

  // Sets min/max of every fitted numeric column from `rows` (after the
  // transform). Every row must be of this encoder's schema.
  void Fit(const std::vector<Record>& rows);
  // Widens min/max with one more row (online fitting).
  void Update(const Record& row);

  // Writes input_dim() floats to `out`. `record` must be of schema().
  void Encode(const Record& record, float* out) const;
  // Bytes EncodeQuantized writes: input_dim() rounded up to 64.
  int quantized_size() const;
  // Encode(), and each float v (in [0, 1]) as the integer inference
  // quantizes it (InferenceNetwork::ForwardQuantized): quantized[c] =
  // (uint8)(v_c * 255 + 0.5) rounded once, then zeros up to
  // quantized_size(). On AVX-512 CPUs the kdd layout is built in registers
  // and stored whole (encoder_kernels.h), which the integer pass then
  // reads without waiting for the stores.
  void EncodeQuantized(const Record& record, float* out,
                       uint8_t* quantized) const;

  // A hint, no effect on results: asks the CPU to fetch the lines of
  // `record` that Encode and EncodeQuantized read. A batch's encoding loop
  // calls it kPrefetchAhead records ahead: a record of a large batch
  // (over 700 bytes) is mostly out of the L1 and L2 caches by the time it is
  // encoded, and the encoder's long dependency chains leave the CPU no room
  // to reach ahead by itself (BM_ScoreBatch/1024 about 1.3x, 2026-12-04).
  static void PrefetchForEncoding(const Record& record) {
    const char* first = reinterpret_cast<const char*>(&record);
    const char* last = reinterpret_cast<const char*>(&record.flag + 1);
    for (const char* p = first; p < last; p += 64) __builtin_prefetch(p);
  }
  static constexpr int kPrefetchAhead = 4;

  // kdd schema: input dimension d's source feature (0-based feature index).
  static int FeatureOfDimension(int d);
  // Human-readable name: "src_bytes", "service=http", "flag=<unknown>",
  // "history_S". (A reference into a table built once; "?" out of range.)
  static const std::string& DimensionName(FeatureSchema schema, int d);
  // The kdd schema's names.
  static const std::string& DimensionName(int d) {
    return DimensionName(FeatureSchema::kKdd, d);
  }
  // True when the categorical value is outside the NSL-KDD vocabulary.
  static bool IsUnknownProtocol(const std::string& value);
  static bool IsUnknownService(const std::string& value);
  static bool IsUnknownFlag(const std::string& value);

  // Statistics, one entry per numeric column (in transformed units; the
  // fixed columns' constants included), for checkpoints.
  absl::Span<const double> mins() const {
    return {min_.data(), size_t(num_numeric_)};
  }
  absl::Span<const double> maxs() const {
    return {max_.data(), size_t(num_numeric_)};
  }
  absl::Status Restore(const std::vector<double>& mins,
                       const std::vector<double>& maxs);

 private:
  // Encode() by the portable loops, and by EncodeKddAvx512.
  void EncodeScalar(const Record& record, float* out) const;
  // The portable loops' num_numeric() numeric columns.
  void EncodeNumericScalar(const Record& record, float* out) const;
  void EncodeKddVector(const Record& record, float* out,
                       uint8_t* quantized) const;
  // Recomputes inv_range_[j] from min_[j] and max_[j].
  void UpdateInvRange(int j);

  FeatureSchema schema_;
  int num_numeric_;
  std::array<double, kMaxNumeric> min_;
  std::array<double, kMaxNumeric> max_;
  // Precomputed 1 / (max - min), 0 for an empty range. Double, so that a
  // value at the fitted max encodes to exactly 1.0f.
  std::array<double, kMaxNumeric> inv_range_;
  // Rows the statistics were computed from: 0 for an unfitted encoder (the
  // next Update starts from its row), the row count after Fit, 1 after
  // Restore.
  int64_t rows_seen_ = 0;
};

}  // namespace dwae

#endif  // DWAE_CORE_ENCODER_H_
