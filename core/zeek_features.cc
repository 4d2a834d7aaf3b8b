#include "core/zeek_features.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "core/encoder.h"

namespace dwae {
namespace {

// KDD's caps on the time-window counts.
constexpr double kMaxTimeCount = 511;

// extra index of each history letter, -1 for other bytes.
struct HistoryTable {
  std::array<int8_t, 256> index;
  constexpr HistoryTable() : index() {
    for (int i = 0; i < 256; ++i) index[i] = -1;
    for (int i = 0; i < kNumHistoryLetters; ++i) {
      index[static_cast<unsigned char>(kZeekHistoryLetters[i])] =
          static_cast<int8_t>(kExtraHistoryFirst + i);
    }
  }
};
constexpr HistoryTable kHistory;

bool IsSynError(const std::string& state) {
  return state == "S0" || state == "S1" || state == "S2" || state == "S3" ||
         state == "RSTOS0" || state == "SH";
}

double Rate(int part, int whole) {
  return whole > 0 ? static_cast<double>(part) / whole : 0.0;
}

void ConnectionFeatures(const Connection& c, const char* service, Record* out) {
  out->schema = FeatureSchema::kZeek;
  out->numeric.fill(0.0);
  out->extra.fill(0.0);
  out->difficulty = -1;
  out->numeric[0] = c.duration.value_or(0.0);
  out->numeric[4] = static_cast<double>(c.orig_bytes.value_or(0));
  out->numeric[5] = static_cast<double>(c.resp_bytes.value_or(0));
  out->numeric[6] = c.orig_h == c.resp_h && c.orig_p == c.resp_p ? 1.0 : 0.0;
  out->protocol_type.assign(c.proto);
  out->service.assign(service);
  out->flag.assign(c.conn_state);
  auto count = [](const std::optional<uint64_t>& v) {
    return static_cast<double>(v.value_or(0));
  };
  out->extra[kExtraOrigPkts] = count(c.orig_pkts);
  out->extra[kExtraRespPkts] = count(c.resp_pkts);
  out->extra[kExtraOrigIpBytes] = count(c.orig_ip_bytes);
  out->extra[kExtraRespIpBytes] = count(c.resp_ip_bytes);
  out->extra[kExtraMissedBytes] = count(c.missed_bytes);
  out->extra[kExtraLocalOrig] = c.local_orig.value_or(false) ? 1.0 : 0.0;
  out->extra[kExtraLocalResp] = c.local_resp.value_or(false) ? 1.0 : 0.0;
  for (const char ch : c.history) {
    const int i = kHistory.index[static_cast<unsigned char>(ch)];
    if (i >= 0) out->extra[i] = 1.0;
  }
  if (c.proto == "tcp" || c.proto == "udp") {
    out->extra[c.resp_p < 1024    ? kExtraPortWellKnown
               : c.resp_p < 49152 ? kExtraPortRegistered
                                  : kExtraPortDynamic] = 1.0;
  }
  if (c.has_label) {
    out->label.assign(c.label);
  } else {
    out->label.clear();
  }
}

}  // namespace

const char* ZeekExtraName(int index) {
  static const std::vector<std::string>* const kNames = [] {
    auto* names = new std::vector<std::string>{
        "orig_pkts",    "resp_pkts",  "orig_ip_bytes", "resp_ip_bytes",
        "missed_bytes", "local_orig", "local_resp"};
    for (int i = 0; i < kNumHistoryLetters; ++i) {
      names->push_back(
          absl::StrCat("history_", std::string(1, kZeekHistoryLetters[i])));
    }
    names->push_back("resp_port_well_known");
    names->push_back("resp_port_registered");
    names->push_back("resp_port_dynamic");
    return names;
  }();
  return index >= 0 && index < kNumZeekExtras ? (*kNames)[index].c_str() : "?";
}

absl::Status ZeekFeatureOptions::Validate() const {
  if (!(time_window_seconds > 0 && time_window_seconds <= 3600)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "time_window_seconds: ", time_window_seconds, " is outside (0, 3600]"));
  }
  if (host_window_connections < 1 || host_window_connections > 100000) {
    return absl::InvalidArgumentError(
        absl::StrCat("host_window_connections: ", host_window_connections,
                     " is outside [1, 100000]"));
  }
  if (!(lateness_seconds >= 0 && lateness_seconds <= 86400)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "lateness_seconds: ", lateness_seconds, " is outside [0, 86400]"));
  }
  if (max_window_connections < static_cast<size_t>(host_window_connections)) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_window_connections: ", max_window_connections,
                     " is below host_window_connections"));
  }
  return absl::OkStatus();
}

ZeekFeatureExtractor::ZeekFeatureExtractor(const ZeekFeatureOptions& options)
    : options_(options) {}

bool ZeekFeatureExtractor::Extract(const Connection& c, Record* out) {
  const double end = c.end_time();
  const bool late =
      connections_ > 0 && end < watermark_ - options_.lateness_seconds;
  if (connections_ == 0 || end > watermark_) watermark_ = end;
  ++connections_;
  if (late) ++late_;

  const char* service = KddServiceName(c);
  ConnectionFeatures(c, service, out);
  const bool tcp = c.proto == "tcp";
  const Entry entry{
      end,
      absl::Hash<absl::string_view>{}(c.resp_h),
      static_cast<uint16_t>(KddServiceIndex(service)),
      static_cast<uint16_t>(c.orig_p),
      static_cast<uint8_t>(tcp && IsSynError(c.conn_state)),
      static_cast<uint8_t>(tcp && c.conn_state == "REJ"),
  };
  const size_t pos = Insert(entry);
  TimeFeatures(pos, out);
  HostFeatures(pos, out);
  Evict();
  return late;
}

size_t ZeekFeatureExtractor::Insert(const Entry& e) {
  if (window_.empty() || e.end >= window_.back().end) {
    window_.push_back(e);
    return window_.size() - 1;
  }
  // After every connection with the same end time: ties keep arrival order.
  const auto at =
      std::upper_bound(window_.begin(), window_.end(), e.end,
                       [](double end, const Entry& x) { return end < x.end; });
  const size_t pos = static_cast<size_t>(at - window_.begin());
  window_.insert(at, e);
  return pos;
}

void ZeekFeatureExtractor::Evict() {
  const double horizon =
      watermark_ - options_.time_window_seconds - options_.lateness_seconds;
  const size_t keep = static_cast<size_t>(options_.host_window_connections);
  while (window_.size() > options_.max_window_connections) {
    window_.pop_front();
    ++overflowed_;
  }
  while (window_.size() > keep && window_.front().end <= horizon) {
    window_.pop_front();
  }
}

void ZeekFeatureExtractor::TimeFeatures(size_t pos, Record* out) const {
  const Entry& self = window_[pos];
  const double from = self.end - options_.time_window_seconds;
  const auto first = std::upper_bound(
      window_.begin(), window_.begin() + static_cast<ptrdiff_t>(pos), from,
      [](double t, const Entry& x) { return t < x.end; });
  int host = 0, host_serror = 0, host_rerror = 0, host_same_srv = 0;
  int srv = 0, srv_serror = 0, srv_rerror = 0, srv_diff_host = 0;
  for (auto it = first; it != window_.begin() + static_cast<ptrdiff_t>(pos) + 1;
       ++it) {
    const bool same_host = it->host == self.host;
    const bool same_srv = it->service == self.service;
    if (same_host) {
      ++host;
      host_serror += it->serror;
      host_rerror += it->rerror;
      host_same_srv += same_srv;
    }
    if (same_srv) {
      ++srv;
      srv_serror += it->serror;
      srv_rerror += it->rerror;
      srv_diff_host += !same_host;
    }
  }
  double* f = out->numeric.data();
  f[22] = std::min<double>(host, kMaxTimeCount);  // count
  f[23] = std::min<double>(srv, kMaxTimeCount);   // srv_count
  f[24] = Rate(host_serror, host);                // serror_rate
  f[25] = Rate(srv_serror, srv);                  // srv_serror_rate
  f[26] = Rate(host_rerror, host);                // rerror_rate
  f[27] = Rate(srv_rerror, srv);                  // srv_rerror_rate
  f[28] = Rate(host_same_srv, host);              // same_srv_rate
  f[29] = Rate(host - host_same_srv, host);       // diff_srv_rate
  f[30] = Rate(srv_diff_host, srv);               // srv_diff_host_rate
}

void ZeekFeatureExtractor::HostFeatures(size_t pos, Record* out) const {
  const Entry& self = window_[pos];
  const size_t n = static_cast<size_t>(options_.host_window_connections);
  const size_t first = pos + 1 >= n ? pos + 1 - n : 0;
  int host = 0, host_same_srv = 0, host_same_port = 0, host_serror = 0,
      host_rerror = 0;
  int srv = 0, srv_diff_host = 0, srv_serror = 0, srv_rerror = 0;
  for (size_t j = first; j <= pos; ++j) {
    const Entry& x = window_[j];
    const bool same_host = x.host == self.host;
    const bool same_srv = x.service == self.service;
    if (same_host) {
      ++host;
      host_same_srv += same_srv;
      host_same_port += x.src_port == self.src_port;
      host_serror += x.serror;
      host_rerror += x.rerror;
    }
    if (same_srv) {
      ++srv;
      srv_diff_host += !same_host;
      srv_serror += x.serror;
      srv_rerror += x.rerror;
    }
  }
  double* f = out->numeric.data();
  f[31] = host;                              // dst_host_count
  f[32] = srv;                               // dst_host_srv_count
  f[33] = Rate(host_same_srv, host);         // dst_host_same_srv_rate
  f[34] = Rate(host - host_same_srv, host);  // dst_host_diff_srv_rate
  f[35] = Rate(host_same_port, host);        // dst_host_same_src_port_rate
  f[36] = Rate(srv_diff_host, srv);          // dst_host_srv_diff_host_rate
  f[37] = Rate(host_serror, host);           // dst_host_serror_rate
  f[38] = Rate(srv_serror, srv);             // dst_host_srv_serror_rate
  f[39] = Rate(host_rerror, host);           // dst_host_rerror_rate
  f[40] = Rate(srv_rerror, srv);             // dst_host_srv_rerror_rate
}

}  // namespace dwae
