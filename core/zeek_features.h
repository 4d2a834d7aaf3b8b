// ZeekFeatureExtractor: one sensor's Zeek connections -> model feature rows
// (Record with schema kZeek). The exact definitions, with references, are in
// docs/zeek.md; in short:
//
// Per connection: duration (unset: 0), protocol_type = proto, service =
// KddServiceName() (Zeek's service when it names a KDD service, else the
// responder port's KDD name, else "private" for ports >= 1024 and "other"
// below), flag = conn_state as Zeek writes it (all 13 states, RSTRH and SHR
// included, UDP and ICMP keep theirs: the zeek schema has its own flag
// vocabulary), src_bytes = orig_bytes, dst_bytes = resp_bytes (unset: 0),
// land. Payload features 9-21 are not computed (left 0, never encoded).
//
// Windows are keyed on the END time (ts + duration), because Zeek writes a
// line when a connection ends or expires. Each sensor keeps the connections
// it has seen sorted by end time. For a connection ending at e:
//   time window (features 23-31): connections ending in (e - 2 s, e],
//   host window (features 32-41): the 100 connections ending last at or
//     before e,
// both including the connection itself (so count >= 1) and only among the
// connections already seen. "Same host" compares id.resp_h, "same service"
// the KDD service name; a SYN error is a TCP connection in S0, S1, S2, S3,
// RSTOS0 or SH, a REJ error a TCP connection in REJ. count and srv_count are
// capped at 511 as in KDD.
//
// Lateness: the watermark W is the largest end time seen. A connection that
// ends before W - lateness_seconds is late: counted (late()), still
// extracted and added, never refused. State older than W - 2 s -
// lateness_seconds is forgotten (keeping at least the host window), and at
// most max_window_connections are kept per sensor (memory bound; the oldest
// go first).
//
// Zeek extras (Record::extra, ZeekExtra): orig_pkts, resp_pkts,
// orig_ip_bytes, resp_ip_bytes, missed_bytes (unset: 0), local_orig and
// local_resp (1 when T), one presence bit per history letter
// (kZeekHistoryLetters: upper case = originator, lower case = responder,
// '^' = direction flipped), and the responder port class (well-known
// < 1024, registered < 49152, dynamic; all 0 for ICMP and other protocols).
//
// Thread-safety: not thread-safe; one extractor per sensor, used by one
// thread at a time (ZeekSensorSet locks around it).
#ifndef DWAE_CORE_ZEEK_FEATURES_H_
#define DWAE_CORE_ZEEK_FEATURES_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/connection.h"
#include "core/record.h"

namespace dwae {

// History letters with a presence bit each, in Record::extra order.
inline constexpr char kZeekHistoryLetters[] = "SsHhAaDdFfRrCcGgTtWwIiQq^";
inline constexpr int kNumHistoryLetters = sizeof(kZeekHistoryLetters) - 1;

// Indices into Record::extra.
enum ZeekExtra : int {
  kExtraOrigPkts = 0,
  kExtraRespPkts,
  kExtraOrigIpBytes,
  kExtraRespIpBytes,
  kExtraMissedBytes,
  kExtraLocalOrig,
  kExtraLocalResp,
  kExtraHistoryFirst,  // kNumHistoryLetters bits
  kExtraPortWellKnown = kExtraHistoryFirst + kNumHistoryLetters,
  kExtraPortRegistered,
  kExtraPortDynamic,
  kExtraCount,
};
static_assert(kExtraCount == kNumZeekExtras);

// Name of extra `index`, e.g. "orig_pkts", "history_S", "resp_port_dynamic".
const char* ZeekExtraName(int index);

// The KDD service name of a connection (see above); a string literal.
const char* KddServiceName(const Connection& c);
// Its index in the NSL-KDD vocabulary (KddServiceNameAt, encoder.h).
int KddServiceIndexOf(const Connection& c);

struct ZeekFeatureOptions {
  double time_window_seconds = 2.0;
  int host_window_connections = 100;
  // Zeek expires idle TCP connections after 5 minutes and then logs them,
  // so lines arrive up to ~300 s after their end: keep that much context.
  double lateness_seconds = 360.0;
  // Memory bound per sensor (about 24 bytes each).
  size_t max_window_connections = 16384;

  // Errors name the option.
  absl::Status Validate() const;
};

class ZeekFeatureExtractor {
 public:
  explicit ZeekFeatureExtractor(const ZeekFeatureOptions& options = {});

  // Fills `out` (schema kZeek, label copied) with the features of `c` and
  // adds `c` to the windows. `c` should be valid (ValidateConnection).
  // Returns true when `c` was late.
  bool Extract(const Connection& c, Record* out);

  uint64_t connections() const { return connections_; }
  uint64_t late() const { return late_; }
  // Connections forgotten because of max_window_connections.
  uint64_t overflowed() const { return overflowed_; }
  size_t window_size() const { return size() - head_; }
  double watermark() const { return watermark_; }

 private:
  // One connection in the window, split into parallel arrays (structure of
  // arrays) so that the window scans vectorize.
  struct Entry {
    double end;
    uint32_t host;    // 32-bit hash of id.resp_h
    uint16_t port;    // id.orig_p
    uint8_t service;  // index of the KDD service name
    uint8_t serror;
    uint8_t rerror;
  };
  // Counts over a range of the window, relative to one connection.
  struct Tally {
    int host = 0, host_same_srv = 0, host_same_port = 0, host_serror = 0,
        host_rerror = 0;
    int srv = 0, srv_diff_host = 0, srv_serror = 0, srv_rerror = 0;
  };
  // Inserts `e` in end-time order; returns its position.
  size_t Insert(const Entry& e);
  void Evict();
  Tally Count(size_t first, size_t pos) const;
  void TimeFeatures(size_t pos, Record* out) const;
  void HostFeatures(size_t pos, Record* out) const;
  size_t size() const { return end_.size(); }

  ZeekFeatureOptions options_;
  // The window, sorted by end time: positions [head_, size()) of the
  // parallel arrays. Evicted entries are dropped from the front in batches.
  std::vector<double> end_;
  std::vector<uint32_t> host_;
  std::vector<uint16_t> port_;
  std::vector<uint8_t> service_;
  std::vector<uint8_t> serror_;
  std::vector<uint8_t> rerror_;
  size_t head_ = 0;
  double watermark_ = 0;
  uint64_t connections_ = 0;
  uint64_t late_ = 0;
  uint64_t overflowed_ = 0;
};

}  // namespace dwae

#endif  // DWAE_CORE_ZEEK_FEATURES_H_
