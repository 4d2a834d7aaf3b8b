#include "core/encoder.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/record.h"

namespace dwae {
namespace {

// First input dimension of each block.
constexpr int kProtocolOffset = kNumNumeric;
constexpr int kServiceOffset = kProtocolOffset + kNumProtocols + 1;
constexpr int kFlagOffset = kServiceOffset + kNumServices + 1;
static_assert(kFlagOffset + kNumFlags + 1 == kInputDim);

constexpr const char* kProtocols[kNumProtocols] = {"tcp", "udp", "icmp"};

// The 70 NSL-KDD services in ASCII order. 67 of them occur in
// KDDTrain+_20Percent, KDDTest+ and KDDTest-21; aol, harvest and http_2784
// occur only in the full KDDTrain+.
constexpr const char* kServices[kNumServices] = {
    "IRC",       "X11",        "Z39_50",      "aol",        "auth",
    "bgp",       "courier",    "csnet_ns",    "ctf",        "daytime",
    "discard",   "domain",     "domain_u",    "echo",       "eco_i",
    "ecr_i",     "efs",        "exec",        "finger",     "ftp",
    "ftp_data",  "gopher",     "harvest",     "hostnames",  "http",
    "http_2784", "http_443",   "http_8001",   "imap4",      "iso_tsap",
    "klogin",    "kshell",     "ldap",        "link",       "login",
    "mtp",       "name",       "netbios_dgm", "netbios_ns", "netbios_ssn",
    "netstat",   "nnsp",       "nntp",        "ntp_u",      "other",
    "pm_dump",   "pop_2",      "pop_3",       "printer",    "private",
    "red_i",     "remote_job", "rje",         "shell",      "smtp",
    "sql_net",   "ssh",        "sunrpc",      "supdup",     "systat",
    "telnet",    "tftp_u",     "tim_i",       "time",       "urh_i",
    "urp_i",     "uucp",       "uucp_path",   "vmnet",      "whois",
};

constexpr const char* kFlags[kNumFlags] = {
    "OTH", "REJ", "RSTO", "RSTOS0", "RSTR", "S0", "S1", "S2", "S3", "SF", "SH",
};

// Feature index of numeric column j: duration is feature 0, the other 37
// follow the three categorical features.
constexpr int NumericFeature(int j) { return j == 0 ? 0 : j + 3; }

// True for the heavy-tailed columns that go through log1p.
constexpr bool UsesLog1p(int feature) {
  switch (feature) {
    case 0:   // duration
    case 4:   // src_bytes
    case 5:   // dst_bytes
    case 7:   // wrong_fragment
    case 8:   // urgent
    case 9:   // hot
    case 10:  // num_failed_logins
    case 12:  // num_compromised
    case 15:  // num_root
    case 16:  // num_file_creations
    case 17:  // num_shells
    case 18:  // num_access_files
    case 22:  // count
    case 23:  // srv_count
    case 31:  // dst_host_count
    case 32:  // dst_host_srv_count
      return true;
    default:
      return false;
  }
}

struct ColumnTable {
  int feature[kNumNumeric];
  bool log1p[kNumNumeric];
};

constexpr ColumnTable MakeColumnTable() {
  ColumnTable table{};
  for (int j = 0; j < kNumNumeric; ++j) {
    table.feature[j] = NumericFeature(j);
    table.log1p[j] = UsesLog1p(NumericFeature(j));
  }
  return table;
}

constexpr ColumnTable kColumns = MakeColumnTable();

// Numeric column j of `record` in transformed units.
inline double Transformed(const Record& record, int j) {
  const double x = record.numeric[kColumns.feature[j]];
  return kColumns.log1p[j] ? std::log1p(x) : x;
}

using IndexMap = absl::flat_hash_map<absl::string_view, int>;

template <int N>
const IndexMap* BuildIndex(const char* const (&names)[N]) {
  auto* map = new IndexMap();
  map->reserve(N);
  for (int i = 0; i < N; ++i) map->emplace(names[i], i);
  return map;
}

// Index into kServices, or kNumServices (the <unknown> slot).
int ServiceIndex(absl::string_view value) {
  static const IndexMap* const kIndex = BuildIndex(kServices);
  const auto it = kIndex->find(value);
  return it == kIndex->end() ? kNumServices : it->second;
}

// Index into kFlags, or kNumFlags (the <unknown> slot).
int FlagIndex(absl::string_view value) {
  static const IndexMap* const kIndex = BuildIndex(kFlags);
  const auto it = kIndex->find(value);
  return it == kIndex->end() ? kNumFlags : it->second;
}

// Index into kProtocols, or kNumProtocols (the <unknown> slot).
int ProtocolIndex(absl::string_view value) {
  if (value == "tcp") return 0;
  if (value == "udp") return 1;
  if (value == "icmp") return 2;
  return kNumProtocols;
}

}  // namespace

const char* KddServiceNameAt(int index) {
  return index >= 0 && index < kNumServices ? kServices[index] : "?";
}

int KddServiceIndex(absl::string_view name) { return ServiceIndex(name); }

FeatureEncoder::FeatureEncoder() {
  min_.fill(0.0);
  max_.fill(0.0);
  inv_range_.fill(0.0);
}

void FeatureEncoder::UpdateInvRange(int j) {
  const double range = max_[j] - min_[j];
  const double inv = range > 0 ? 1.0 / range : 0.0;
  inv_range_[j] = std::isfinite(inv) ? inv : 0.0;
}

void FeatureEncoder::Fit(const std::vector<Record>& rows) {
  min_.fill(0.0);
  max_.fill(0.0);
  std::array<bool, kNumNumeric> seen{};
  for (const Record& row : rows) {
    for (int j = 0; j < kNumNumeric; ++j) {
      const double t = Transformed(row, j);
      if (!std::isfinite(t)) continue;
      if (!seen[j]) {
        min_[j] = max_[j] = t;
        seen[j] = true;
      } else {
        min_[j] = std::min(min_[j], t);
        max_[j] = std::max(max_[j], t);
      }
    }
  }
  for (int j = 0; j < kNumNumeric; ++j) UpdateInvRange(j);
  rows_seen_ = static_cast<int64_t>(rows.size());
}

void FeatureEncoder::Update(const Record& row) {
  const bool first = rows_seen_ == 0;
  for (int j = 0; j < kNumNumeric; ++j) {
    const double t = Transformed(row, j);
    if (!std::isfinite(t)) continue;
    if (first) {
      min_[j] = t;
      max_[j] = t;
    } else {
      min_[j] = std::min(min_[j], t);
      max_[j] = std::max(max_[j], t);
    }
    UpdateInvRange(j);
  }
  ++rows_seen_;
}

void FeatureEncoder::Encode(const Record& record, float* out) const {
  for (int j = 0; j < kNumNumeric; ++j) {
    double v = (Transformed(record, j) - min_[j]) * inv_range_[j];
    // Written so that NaN (and an empty range) maps to 0.
    if (!(v > 0.0)) {
      v = 0.0;
    } else if (v > 1.0) {
      v = 1.0;
    }
    out[j] = static_cast<float>(v);
  }
  std::fill(out + kNumNumeric, out + kInputDim, 0.0f);
  out[kProtocolOffset + ProtocolIndex(record.protocol_type)] = 1.0f;
  out[kServiceOffset + ServiceIndex(record.service)] = 1.0f;
  out[kFlagOffset + FlagIndex(record.flag)] = 1.0f;
}

int FeatureEncoder::FeatureOfDimension(int d) {
  if (d < 0 || d >= kInputDim) return -1;
  if (d < kProtocolOffset) return NumericFeature(d);
  if (d < kServiceOffset) return kProtocolTypeIndex;
  if (d < kFlagOffset) return kServiceIndex;
  return kFlagIndex;
}

namespace {

std::string BuildDimensionName(int d) {
  if (d < kProtocolOffset) return FeatureName(NumericFeature(d));
  const char* feature = FeatureName(FeatureEncoder::FeatureOfDimension(d));
  const char* value = "<unknown>";
  if (d < kServiceOffset) {
    const int i = d - kProtocolOffset;
    if (i < kNumProtocols) value = kProtocols[i];
  } else if (d < kFlagOffset) {
    const int i = d - kServiceOffset;
    if (i < kNumServices) value = kServices[i];
  } else {
    const int i = d - kFlagOffset;
    if (i < kNumFlags) value = kFlags[i];
  }
  return absl::StrCat(feature, "=", value);
}

}  // namespace

const std::string& FeatureEncoder::DimensionName(int d) {
  // Built once: explanations ask for names on the scoring path.
  static const std::vector<std::string>* const kNames = [] {
    auto* names = new std::vector<std::string>();
    for (int i = 0; i < kInputDim; ++i) names->push_back(BuildDimensionName(i));
    names->push_back("?");
    return names;
  }();
  return (*kNames)[d >= 0 && d < kInputDim ? d : kInputDim];
}

bool FeatureEncoder::IsUnknownProtocol(const std::string& value) {
  return ProtocolIndex(value) == kNumProtocols;
}

bool FeatureEncoder::IsUnknownService(const std::string& value) {
  return ServiceIndex(value) == kNumServices;
}

bool FeatureEncoder::IsUnknownFlag(const std::string& value) {
  return FlagIndex(value) == kNumFlags;
}

absl::Status FeatureEncoder::Restore(const std::vector<double>& mins,
                                     const std::vector<double>& maxs) {
  if (mins.size() != kNumNumeric || maxs.size() != kNumNumeric) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected ", kNumNumeric, " mins and ", kNumNumeric,
                     " maxs, got ", mins.size(), " and ", maxs.size()));
  }
  for (int j = 0; j < kNumNumeric; ++j) {
    const std::string column =
        absl::StrCat("column ", j, " (", FeatureName(NumericFeature(j)), ")");
    if (!std::isfinite(mins[j])) {
      return absl::InvalidArgumentError(
          absl::StrCat(column, ": min is not finite: ", mins[j]));
    }
    if (!std::isfinite(maxs[j])) {
      return absl::InvalidArgumentError(
          absl::StrCat(column, ": max is not finite: ", maxs[j]));
    }
    if (mins[j] > maxs[j]) {
      return absl::InvalidArgumentError(absl::StrCat(
          column, ": min ", mins[j], " is greater than max ", maxs[j]));
    }
  }
  for (int j = 0; j < kNumNumeric; ++j) {
    min_[j] = mins[j];
    max_[j] = maxs[j];
    UpdateInvRange(j);
  }
  rows_seen_ = 1;
  return absl::OkStatus();
}

}  // namespace dwae
