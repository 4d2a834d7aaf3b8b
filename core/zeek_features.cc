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

  const int service = KddServiceIndexOf(c);
  ConnectionFeatures(c, KddServiceNameAt(service), out);
  const bool tcp = c.proto == "tcp";
  const Entry entry{
      end,
      static_cast<uint32_t>(absl::Hash<absl::string_view>{}(c.resp_h)),
      static_cast<uint16_t>(c.orig_p),
      static_cast<uint8_t>(service),
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
  size_t pos = size();
  if (pos > head_ && e.end < end_.back()) {
    // After every connection with the same end time: ties keep arrival
    // order.
    pos = static_cast<size_t>(
        std::upper_bound(end_.begin() + static_cast<ptrdiff_t>(head_),
                         end_.end(), e.end) -
        end_.begin());
  }
  const auto at = [pos](auto& v) {
    return v.begin() + static_cast<ptrdiff_t>(pos);
  };
  end_.insert(at(end_), e.end);
  host_.insert(at(host_), e.host);
  port_.insert(at(port_), e.port);
  service_.insert(at(service_), e.service);
  serror_.insert(at(serror_), e.serror);
  rerror_.insert(at(rerror_), e.rerror);
  return pos;
}

void ZeekFeatureExtractor::Evict() {
  const double horizon =
      watermark_ - options_.time_window_seconds - options_.lateness_seconds;
  const size_t keep = static_cast<size_t>(options_.host_window_connections);
  if (size() - head_ > options_.max_window_connections) {
    const size_t drop = size() - head_ - options_.max_window_connections;
    head_ += drop;
    overflowed_ += drop;
  }
  while (size() - head_ > keep && end_[head_] <= horizon) ++head_;
  // Compact once the dead prefix is as large as the live part.
  if (head_ > 64 && head_ >= size() - head_) {
    const auto drop = [this](auto& v) {
      v.erase(v.begin(), v.begin() + static_cast<ptrdiff_t>(head_));
    };
    drop(end_);
    drop(host_);
    drop(port_);
    drop(service_);
    drop(serror_);
    drop(rerror_);
    head_ = 0;
  }
}

ZeekFeatureExtractor::Tally ZeekFeatureExtractor::Count(size_t first,
                                                        size_t pos) const {
  const uint32_t host = host_[pos];
  const uint16_t port = port_[pos];
  const uint8_t service = service_[pos];
  Tally t;
  // Branch-free sums over plain arrays: the loop extraction spends most
  // of its time in, and one the compiler vectorizes.
  for (size_t i = first; i <= pos; ++i) {
    const int same_host = host_[i] == host;
    const int same_srv = service_[i] == service;
    t.host += same_host;
    t.host_same_srv += same_host & same_srv;
    t.host_same_port += same_host & (port_[i] == port);
    t.host_serror += same_host & serror_[i];
    t.host_rerror += same_host & rerror_[i];
    t.srv += same_srv;
    t.srv_diff_host += same_srv & (1 - same_host);
    t.srv_serror += same_srv & serror_[i];
    t.srv_rerror += same_srv & rerror_[i];
  }
  return t;
}

void ZeekFeatureExtractor::TimeFeatures(size_t pos, Record* out) const {
  const double from = end_[pos] - options_.time_window_seconds;
  const size_t first = static_cast<size_t>(
      std::upper_bound(end_.begin() + static_cast<ptrdiff_t>(head_),
                       end_.begin() + static_cast<ptrdiff_t>(pos), from) -
      end_.begin());
  const Tally t = Count(first, pos);
  double* f = out->numeric.data();
  f[22] = std::min<double>(t.host, kMaxTimeCount);  // count
  f[23] = std::min<double>(t.srv, kMaxTimeCount);   // srv_count
  f[24] = Rate(t.host_serror, t.host);              // serror_rate
  f[25] = Rate(t.srv_serror, t.srv);                // srv_serror_rate
  f[26] = Rate(t.host_rerror, t.host);              // rerror_rate
  f[27] = Rate(t.srv_rerror, t.srv);                // srv_rerror_rate
  f[28] = Rate(t.host_same_srv, t.host);            // same_srv_rate
  f[29] = Rate(t.host - t.host_same_srv, t.host);   // diff_srv_rate
  f[30] = Rate(t.srv_diff_host, t.srv);             // srv_diff_host_rate
}

void ZeekFeatureExtractor::HostFeatures(size_t pos, Record* out) const {
  const size_t n = static_cast<size_t>(options_.host_window_connections);
  const Tally t = Count(pos + 1 >= head_ + n ? pos + 1 - n : head_, pos);
  double* f = out->numeric.data();
  f[31] = t.host;                                  // dst_host_count
  f[32] = t.srv;                                   // dst_host_srv_count
  f[33] = Rate(t.host_same_srv, t.host);           // dst_host_same_srv_rate
  f[34] = Rate(t.host - t.host_same_srv, t.host);  // dst_host_diff_srv_rate
  f[35] = Rate(t.host_same_port, t.host);  // dst_host_same_src_port_rate
  f[36] = Rate(t.srv_diff_host, t.srv);    // dst_host_srv_diff_host_rate
  f[37] = Rate(t.host_serror, t.host);     // dst_host_serror_rate
  f[38] = Rate(t.srv_serror, t.srv);       // dst_host_srv_serror_rate
  f[39] = Rate(t.host_rerror, t.host);     // dst_host_rerror_rate
  f[40] = Rate(t.srv_rerror, t.srv);       // dst_host_srv_rerror_rate
}

}  // namespace dwae
