// Connection: one Zeek conn.log entry, independent of sensor and transport.
//
// The fields are Zeek's conn.log columns (names in comments). Zeek leaves a
// field unset ("-" in TSV, absent in JSON) when it has no value; that is
// kept apart from a set-but-empty string ("(empty)" in TSV, "" in JSON)
// wherever the difference carries meaning:
//   - strings: `service` and `history` have a companion `has_*` flag;
//     `uid`, `proto`, `conn_state` are empty when unset;
//   - numbers and booleans: std::optional, nullopt when unset.
// A `label` column (labeled datasets, e.g. the Stratosphere captures) is
// kept verbatim; LabelKind() says how it counts: "Benign" is normal,
// "Malicious..." an attack, anything else (e.g. "Background", unset) is
// unlabeled. The label never reaches the model.
//
// ValidateConnection() checks a Connection built elsewhere (e.g. from the
// wire) with the same rules as the parsers (zeek_parser.h); its errors name
// the Zeek column, e.g. "id.resp_p: port 70000 outside [0, 65535]".
//
// Thread-safety: a value type; the functions are pure. Reusing one
// Connection for many parses keeps its strings' capacity (no allocation per
// line once warm), which is why Clear() exists.
#ifndef DWAE_CORE_CONNECTION_H_
#define DWAE_CORE_CONNECTION_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"

namespace dwae {

enum class LabelKind {
  kUnlabeled,  // no label, or one that is neither benign nor malicious
  kNormal,     // "Benign" (also "normal", NSL-KDD's word)
  kAttack,     // "Malicious", "Malicious-..." and friends
};

// How a conn.log label counts (see above).
LabelKind ZeekLabelKind(const std::string& label);

struct Connection {
  double ts = 0;                          // ts: start, seconds since the epoch
  std::string uid;                        // uid
  std::string orig_h;                     // id.orig_h
  int32_t orig_p = 0;                     // id.orig_p (ICMP: the type)
  std::string resp_h;                     // id.resp_h
  int32_t resp_p = 0;                     // id.resp_p (ICMP: the code)
  std::string proto;                      // proto: tcp, udp, icmp, ...
  std::string service;                    // service, e.g. "dns", "ssl,http"
  bool has_service = false;               //   false: unset ("-")
  std::optional<double> duration;         // duration, seconds
  std::optional<uint64_t> orig_bytes;     // orig_bytes
  std::optional<uint64_t> resp_bytes;     // resp_bytes
  std::string conn_state;                 // conn_state: SF, S0, REJ, ...
  std::optional<bool> local_orig;         // local_orig
  std::optional<bool> local_resp;         // local_resp
  std::optional<uint64_t> missed_bytes;   // missed_bytes
  std::string history;                    // history, e.g. "ShADadFf"
  bool has_history = false;               //   false: unset ("-")
  std::optional<uint64_t> orig_pkts;      // orig_pkts
  std::optional<uint64_t> orig_ip_bytes;  // orig_ip_bytes
  std::optional<uint64_t> resp_pkts;      // resp_pkts
  std::optional<uint64_t> resp_ip_bytes;  // resp_ip_bytes
  std::string label;                      // label (labeled datasets only)
  bool has_label = false;                 //   false: no label column / unset

  // End of the connection: ts + duration (duration unset counts as 0).
  double end_time() const { return ts + duration.value_or(0.0); }
  LabelKind label_kind() const {
    return has_label ? ZeekLabelKind(label) : LabelKind::kUnlabeled;
  }
  // Resets every field, keeping string capacity.
  void Clear();
};

// Checks ranges and required fields: ts finite and >= 0, ports in
// [0, 65535], id.orig_h, id.resp_h, proto and conn_state non-empty,
// duration finite and >= 0, counts <= 1e15.
absl::Status ValidateConnection(const Connection& c);

}  // namespace dwae

#endif  // DWAE_CORE_CONNECTION_H_
