#include "core/connection.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace dwae {
namespace {

constexpr uint64_t kMaxCount = 1000000000000000ULL;  // 1e15, as record.h

absl::Status CheckCount(const char* column, const std::optional<uint64_t>& v) {
  if (v.has_value() && *v > kMaxCount) {
    return absl::InvalidArgumentError(
        absl::StrCat(column, ": value ", *v, " exceeds 1e15"));
  }
  return absl::OkStatus();
}

absl::Status CheckPort(const char* column, int32_t port) {
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(column, ": port ", port, " outside [0, 65535]"));
  }
  return absl::OkStatus();
}

absl::Status Required(const char* column, const std::string& value) {
  if (value.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(column, ": unset"));
  }
  return absl::OkStatus();
}

}  // namespace

LabelKind ZeekLabelKind(const std::string& label) {
  if (label == "Benign" || label == "benign" || label == "normal") {
    return LabelKind::kNormal;
  }
  if (absl::StartsWithIgnoreCase(label, "malicious")) return LabelKind::kAttack;
  return LabelKind::kUnlabeled;
}

void Connection::Clear() {
  ts = 0;
  uid.clear();
  orig_h.clear();
  orig_p = 0;
  resp_h.clear();
  resp_p = 0;
  proto.clear();
  service.clear();
  has_service = false;
  duration.reset();
  orig_bytes.reset();
  resp_bytes.reset();
  conn_state.clear();
  local_orig.reset();
  local_resp.reset();
  missed_bytes.reset();
  history.clear();
  has_history = false;
  orig_pkts.reset();
  orig_ip_bytes.reset();
  resp_pkts.reset();
  resp_ip_bytes.reset();
  label.clear();
  has_label = false;
}

absl::Status ValidateConnection(const Connection& c) {
  if (!std::isfinite(c.ts) || c.ts < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ts: ", c.ts, " is not a time (finite, >= 0)"));
  }
  for (auto [column, value] :
       {std::pair<const char*, const std::string*>{"id.orig_h", &c.orig_h},
        {"id.resp_h", &c.resp_h},
        {"proto", &c.proto},
        {"conn_state", &c.conn_state}}) {
    if (absl::Status s = Required(column, *value); !s.ok()) return s;
  }
  if (absl::Status s = CheckPort("id.orig_p", c.orig_p); !s.ok()) return s;
  if (absl::Status s = CheckPort("id.resp_p", c.resp_p); !s.ok()) return s;
  if (c.duration.has_value() &&
      (!std::isfinite(*c.duration) || *c.duration < 0 || *c.duration > 1e9)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "duration: ", *c.duration, " is not a duration (finite, in [0, 1e9])"));
  }
  for (auto [column, value] :
       {std::pair<const char*, const std::optional<uint64_t>*>{"orig_bytes",
                                                               &c.orig_bytes},
        {"resp_bytes", &c.resp_bytes},
        {"missed_bytes", &c.missed_bytes},
        {"orig_pkts", &c.orig_pkts},
        {"orig_ip_bytes", &c.orig_ip_bytes},
        {"resp_pkts", &c.resp_pkts},
        {"resp_ip_bytes", &c.resp_ip_bytes}}) {
    if (absl::Status s = CheckCount(column, *value); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace dwae
