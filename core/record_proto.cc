#include "core/record_proto.h"

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/connection.h"
#include "core/record.h"
#include "dwae/v1/record.pb.h"

namespace dwae {
namespace {

using F = v1::Features;

// Feature index (0-based) of the proto field with number `field_number`.
// Deriving every index from the generated k...FieldNumber constant keeps the
// explicit copies below in step with record.proto by construction.
constexpr int Index(int field_number) { return field_number - 1; }

static_assert(F::kProtocolTypeFieldNumber == kProtocolTypeIndex + 1);
static_assert(F::kServiceFieldNumber == kServiceIndex + 1);
static_assert(F::kFlagFieldNumber == kFlagIndex + 1);
static_assert(F::kDstHostSrvRerrorRateFieldNumber == kNumFeatures);

// Normalises -0 to +0, as the text parser does.
inline double Clean(double value) { return value + 0.0; }

absl::Status SizeError(absl::string_view what, size_t size, size_t limit) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, ": ", size, " bytes, limit is ", limit));
}

// Checks the categorical string of feature `index` and copies it.
absl::Status CopyCategorical(int index, absl::string_view value,
                             std::string* out) {
  if (value.size() > kMaxCategoricalBytes) {
    return SizeError(
        absl::StrCat("field ", index + 1, " (", FeatureName(index), ")"),
        value.size(), kMaxCategoricalBytes);
  }
  out->assign(value.data(), value.size());
  return absl::OkStatus();
}

absl::Status CheckSize(const char* field, absl::string_view value,
                       size_t limit) {
  if (value.size() > limit) return SizeError(field, value.size(), limit);
  return absl::OkStatus();
}

absl::StatusOr<int32_t> Port(const char* field, uint32_t port) {
  if (port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": port ", port, " outside [0, 65535]"));
  }
  return int32_t(port);
}

}  // namespace

absl::StatusOr<Record> RecordFromProto(const v1::Record& proto) {
  Record record;
  if (absl::Status s = RecordFromProto(proto, &record); !s.ok()) return s;
  return record;
}

absl::Status RecordFromProto(const v1::Record& proto, Record* out) {
  RecordFields fields;
  fields.id = proto.id();
  fields.sensor_id = proto.sensor_id();
  fields.label = proto.label();
  fields.has_features = proto.has_features();
  const F& f = proto.features();
  fields.protocol_type = f.protocol_type();
  fields.service = f.service();
  fields.flag = f.flag();
  // The 38 numeric features, in column order, without reflection.
  std::array<double, kNumFeatures>& n = fields.numeric;
  n[Index(F::kDurationFieldNumber)] = f.duration();
  n[Index(F::kSrcBytesFieldNumber)] = f.src_bytes();
  n[Index(F::kDstBytesFieldNumber)] = f.dst_bytes();
  n[Index(F::kLandFieldNumber)] = f.land();
  n[Index(F::kWrongFragmentFieldNumber)] = f.wrong_fragment();
  n[Index(F::kUrgentFieldNumber)] = f.urgent();
  n[Index(F::kHotFieldNumber)] = f.hot();
  n[Index(F::kNumFailedLoginsFieldNumber)] = f.num_failed_logins();
  n[Index(F::kLoggedInFieldNumber)] = f.logged_in();
  n[Index(F::kNumCompromisedFieldNumber)] = f.num_compromised();
  n[Index(F::kRootShellFieldNumber)] = f.root_shell();
  n[Index(F::kSuAttemptedFieldNumber)] = f.su_attempted();
  n[Index(F::kNumRootFieldNumber)] = f.num_root();
  n[Index(F::kNumFileCreationsFieldNumber)] = f.num_file_creations();
  n[Index(F::kNumShellsFieldNumber)] = f.num_shells();
  n[Index(F::kNumAccessFilesFieldNumber)] = f.num_access_files();
  n[Index(F::kNumOutboundCmdsFieldNumber)] = f.num_outbound_cmds();
  n[Index(F::kIsHostLoginFieldNumber)] = f.is_host_login();
  n[Index(F::kIsGuestLoginFieldNumber)] = f.is_guest_login();
  n[Index(F::kCountFieldNumber)] = f.count();
  n[Index(F::kSrvCountFieldNumber)] = f.srv_count();
  n[Index(F::kSerrorRateFieldNumber)] = f.serror_rate();
  n[Index(F::kSrvSerrorRateFieldNumber)] = f.srv_serror_rate();
  n[Index(F::kRerrorRateFieldNumber)] = f.rerror_rate();
  n[Index(F::kSrvRerrorRateFieldNumber)] = f.srv_rerror_rate();
  n[Index(F::kSameSrvRateFieldNumber)] = f.same_srv_rate();
  n[Index(F::kDiffSrvRateFieldNumber)] = f.diff_srv_rate();
  n[Index(F::kSrvDiffHostRateFieldNumber)] = f.srv_diff_host_rate();
  n[Index(F::kDstHostCountFieldNumber)] = f.dst_host_count();
  n[Index(F::kDstHostSrvCountFieldNumber)] = f.dst_host_srv_count();
  n[Index(F::kDstHostSameSrvRateFieldNumber)] = f.dst_host_same_srv_rate();
  n[Index(F::kDstHostDiffSrvRateFieldNumber)] = f.dst_host_diff_srv_rate();
  n[Index(F::kDstHostSameSrcPortRateFieldNumber)] =
      f.dst_host_same_src_port_rate();
  n[Index(F::kDstHostSrvDiffHostRateFieldNumber)] =
      f.dst_host_srv_diff_host_rate();
  n[Index(F::kDstHostSerrorRateFieldNumber)] = f.dst_host_serror_rate();
  n[Index(F::kDstHostSrvSerrorRateFieldNumber)] = f.dst_host_srv_serror_rate();
  n[Index(F::kDstHostRerrorRateFieldNumber)] = f.dst_host_rerror_rate();
  n[Index(F::kDstHostSrvRerrorRateFieldNumber)] = f.dst_host_srv_rerror_rate();
  return RecordFromFields(fields, out);
}

absl::Status RecordFromFields(const RecordFields& fields, Record* out) {
  if (fields.id.size() > kMaxRecordIdBytes) {
    return SizeError("id", fields.id.size(), kMaxRecordIdBytes);
  }
  if (fields.sensor_id.size() > kMaxSensorIdBytes) {
    return SizeError("sensor_id", fields.sensor_id.size(), kMaxSensorIdBytes);
  }
  if (fields.label.size() > kMaxLabelBytes) {
    return SizeError("label", fields.label.size(), kMaxLabelBytes);
  }
  if (!fields.has_features) {
    return absl::InvalidArgumentError("features: missing");
  }
  Record& record = *out;
  record.schema = FeatureSchema::kKdd;
  record.extra.fill(0.0);
  record.difficulty = -1;
  absl::Status status = CopyCategorical(
      kProtocolTypeIndex, fields.protocol_type, &record.protocol_type);
  if (!status.ok()) return status;
  status = CopyCategorical(kServiceIndex, fields.service, &record.service);
  if (!status.ok()) return status;
  status = CopyCategorical(kFlagIndex, fields.flag, &record.flag);
  if (!status.ok()) return status;
  // -0 becomes +0; the categorical slots are 0.
  static_assert(kProtocolTypeIndex == 1 && kFlagIndex == 3);
  for (int i = 0; i < kNumFeatures; ++i) {
    record.numeric[i] = Clean(fields.numeric[i]);
  }
  record.numeric[kProtocolTypeIndex] = 0.0;
  record.numeric[kServiceIndex] = 0.0;
  record.numeric[kFlagIndex] = 0.0;
  status = ValidateRecord(record);
  if (!status.ok()) return status;

  absl::string_view label = fields.label;
  if (!label.empty() && label.back() == '.') label.remove_suffix(1);
  record.label.assign(label.data(), label.size());
  return absl::OkStatus();
}

void RecordToProto(const Record& record, v1::Features* features) {
  const std::array<double, kNumFeatures>& n = record.numeric;
  features->set_duration(n[Index(F::kDurationFieldNumber)]);
  features->set_protocol_type(record.protocol_type);
  features->set_service(record.service);
  features->set_flag(record.flag);
  features->set_src_bytes(n[Index(F::kSrcBytesFieldNumber)]);
  features->set_dst_bytes(n[Index(F::kDstBytesFieldNumber)]);
  features->set_land(n[Index(F::kLandFieldNumber)]);
  features->set_wrong_fragment(n[Index(F::kWrongFragmentFieldNumber)]);
  features->set_urgent(n[Index(F::kUrgentFieldNumber)]);
  features->set_hot(n[Index(F::kHotFieldNumber)]);
  features->set_num_failed_logins(n[Index(F::kNumFailedLoginsFieldNumber)]);
  features->set_logged_in(n[Index(F::kLoggedInFieldNumber)]);
  features->set_num_compromised(n[Index(F::kNumCompromisedFieldNumber)]);
  features->set_root_shell(n[Index(F::kRootShellFieldNumber)]);
  features->set_su_attempted(n[Index(F::kSuAttemptedFieldNumber)]);
  features->set_num_root(n[Index(F::kNumRootFieldNumber)]);
  features->set_num_file_creations(n[Index(F::kNumFileCreationsFieldNumber)]);
  features->set_num_shells(n[Index(F::kNumShellsFieldNumber)]);
  features->set_num_access_files(n[Index(F::kNumAccessFilesFieldNumber)]);
  features->set_num_outbound_cmds(n[Index(F::kNumOutboundCmdsFieldNumber)]);
  features->set_is_host_login(n[Index(F::kIsHostLoginFieldNumber)]);
  features->set_is_guest_login(n[Index(F::kIsGuestLoginFieldNumber)]);
  features->set_count(n[Index(F::kCountFieldNumber)]);
  features->set_srv_count(n[Index(F::kSrvCountFieldNumber)]);
  features->set_serror_rate(n[Index(F::kSerrorRateFieldNumber)]);
  features->set_srv_serror_rate(n[Index(F::kSrvSerrorRateFieldNumber)]);
  features->set_rerror_rate(n[Index(F::kRerrorRateFieldNumber)]);
  features->set_srv_rerror_rate(n[Index(F::kSrvRerrorRateFieldNumber)]);
  features->set_same_srv_rate(n[Index(F::kSameSrvRateFieldNumber)]);
  features->set_diff_srv_rate(n[Index(F::kDiffSrvRateFieldNumber)]);
  features->set_srv_diff_host_rate(n[Index(F::kSrvDiffHostRateFieldNumber)]);
  features->set_dst_host_count(n[Index(F::kDstHostCountFieldNumber)]);
  features->set_dst_host_srv_count(n[Index(F::kDstHostSrvCountFieldNumber)]);
  features->set_dst_host_same_srv_rate(
      n[Index(F::kDstHostSameSrvRateFieldNumber)]);
  features->set_dst_host_diff_srv_rate(
      n[Index(F::kDstHostDiffSrvRateFieldNumber)]);
  features->set_dst_host_same_src_port_rate(
      n[Index(F::kDstHostSameSrcPortRateFieldNumber)]);
  features->set_dst_host_srv_diff_host_rate(
      n[Index(F::kDstHostSrvDiffHostRateFieldNumber)]);
  features->set_dst_host_serror_rate(
      n[Index(F::kDstHostSerrorRateFieldNumber)]);
  features->set_dst_host_srv_serror_rate(
      n[Index(F::kDstHostSrvSerrorRateFieldNumber)]);
  features->set_dst_host_rerror_rate(
      n[Index(F::kDstHostRerrorRateFieldNumber)]);
  features->set_dst_host_srv_rerror_rate(
      n[Index(F::kDstHostSrvRerrorRateFieldNumber)]);
}

v1::Record RecordToProto(const Record& record, absl::string_view id,
                         absl::string_view sensor_id) {
  v1::Record proto;
  proto.set_id(std::string(id));
  proto.set_sensor_id(std::string(sensor_id));
  RecordToProto(record, proto.mutable_features());
  proto.set_label(record.label);
  return proto;
}

absl::StatusOr<Connection> ConnectionFromProto(const v1::Connection& p) {
  using C = v1::Connection;
  const std::pair<const char*, std::pair<const std::string*, size_t>>
      strings[] = {{"sensor_id", {&p.sensor_id(), kMaxSensorIdBytes}},
                   {"id", {&p.id(), kMaxRecordIdBytes}},
                   {"uid", {&p.uid(), kMaxRecordIdBytes}},
                   {"id.orig_h", {&p.id_orig_h(), kMaxHostBytes}},
                   {"id.resp_h", {&p.id_resp_h(), kMaxHostBytes}},
                   {"proto", {&p.proto(), kMaxZeekTokenBytes}},
                   {"service", {&p.service(), kMaxServiceBytes}},
                   {"conn_state", {&p.conn_state(), kMaxZeekTokenBytes}},
                   {"history", {&p.history(), kMaxHistoryBytes}},
                   {"label", {&p.label(), kMaxLabelBytes}}};
  for (const auto& [field, value] : strings) {
    if (absl::Status s = CheckSize(field, *value.first, value.second);
        !s.ok()) {
      return s;
    }
  }
  Connection c;
  c.ts = p.ts() + 0.0;
  c.uid = p.uid();
  c.orig_h = p.id_orig_h();
  c.resp_h = p.id_resp_h();
  absl::StatusOr<int32_t> port = Port("id.orig_p", p.id_orig_p());
  if (!port.ok()) return port.status();
  c.orig_p = *port;
  port = Port("id.resp_p", p.id_resp_p());
  if (!port.ok()) return port.status();
  c.resp_p = *port;
  c.proto = p.proto();
  c.has_service = p.has_service();
  c.service = p.service();
  if (p.has_duration()) c.duration = p.duration() + 0.0;
  auto count = [&](bool has, uint64_t value, std::optional<uint64_t>* out) {
    if (has) *out = value;
  };
  count(p.has_orig_bytes(), p.orig_bytes(), &c.orig_bytes);
  count(p.has_resp_bytes(), p.resp_bytes(), &c.resp_bytes);
  count(p.has_missed_bytes(), p.missed_bytes(), &c.missed_bytes);
  count(p.has_orig_pkts(), p.orig_pkts(), &c.orig_pkts);
  count(p.has_orig_ip_bytes(), p.orig_ip_bytes(), &c.orig_ip_bytes);
  count(p.has_resp_pkts(), p.resp_pkts(), &c.resp_pkts);
  count(p.has_resp_ip_bytes(), p.resp_ip_bytes(), &c.resp_ip_bytes);
  c.conn_state = p.conn_state();
  if (p.has_local_orig()) c.local_orig = p.local_orig();
  if (p.has_local_resp()) c.local_resp = p.local_resp();
  c.has_history = p.has_history();
  c.history = p.history();
  c.has_label = p.has_label();
  c.label = p.label();
  static_assert(C::kLabelFieldNumber == 23, "every field is copied above");
  if (absl::Status s = ValidateConnection(c); !s.ok()) return s;
  return c;
}

v1::Connection ConnectionToProto(const Connection& c, absl::string_view id,
                                 absl::string_view sensor_id) {
  v1::Connection p;
  p.set_sensor_id(std::string(sensor_id));
  p.set_id(std::string(id));
  p.set_ts(c.ts);
  p.set_uid(c.uid);
  p.set_id_orig_h(c.orig_h);
  p.set_id_orig_p(uint32_t(c.orig_p));
  p.set_id_resp_h(c.resp_h);
  p.set_id_resp_p(uint32_t(c.resp_p));
  p.set_proto(c.proto);
  if (c.has_service) p.set_service(c.service);
  if (c.duration) p.set_duration(*c.duration);
  if (c.orig_bytes) p.set_orig_bytes(*c.orig_bytes);
  if (c.resp_bytes) p.set_resp_bytes(*c.resp_bytes);
  p.set_conn_state(c.conn_state);
  if (c.local_orig) p.set_local_orig(*c.local_orig);
  if (c.local_resp) p.set_local_resp(*c.local_resp);
  if (c.missed_bytes) p.set_missed_bytes(*c.missed_bytes);
  if (c.has_history) p.set_history(c.history);
  if (c.orig_pkts) p.set_orig_pkts(*c.orig_pkts);
  if (c.orig_ip_bytes) p.set_orig_ip_bytes(*c.orig_ip_bytes);
  if (c.resp_pkts) p.set_resp_pkts(*c.resp_pkts);
  if (c.resp_ip_bytes) p.set_resp_ip_bytes(*c.resp_ip_bytes);
  if (c.has_label) p.set_label(c.label);
  return p;
}

absl::Status CheckParsedEntry(const Entry& entry, absl::string_view id,
                              absl::string_view sensor_id) {
  const std::pair<const char*, std::pair<absl::string_view, size_t>> common[] =
      {{"sensor_id", {sensor_id, kMaxSensorIdBytes}},
       {"id", {id, kMaxRecordIdBytes}},
       {"label", {EntryLabel(entry), kMaxLabelBytes}}};
  for (const auto& [field, value] : common) {
    if (absl::Status s = CheckSize(field, value.first, value.second); !s.ok()) {
      return s;
    }
  }
  if (const Record* r = std::get_if<Record>(&entry)) {
    const std::pair<int, const std::string*> categorical[] = {
        {kProtocolTypeIndex, &r->protocol_type},
        {kServiceIndex, &r->service},
        {kFlagIndex, &r->flag}};
    for (const auto& [index, value] : categorical) {
      if (value->size() > kMaxCategoricalBytes) {
        return SizeError(
            absl::StrCat("field ", index + 1, " (", FeatureName(index), ")"),
            value->size(), kMaxCategoricalBytes);
      }
    }
    return absl::OkStatus();
  }
  const Connection& c = std::get<Connection>(entry);
  const std::pair<const char*, std::pair<const std::string*, size_t>>
      strings[] = {{"uid", {&c.uid, kMaxRecordIdBytes}},
                   {"id.orig_h", {&c.orig_h, kMaxHostBytes}},
                   {"id.resp_h", {&c.resp_h, kMaxHostBytes}},
                   {"proto", {&c.proto, kMaxZeekTokenBytes}},
                   {"service", {&c.service, kMaxServiceBytes}},
                   {"conn_state", {&c.conn_state, kMaxZeekTokenBytes}},
                   {"history", {&c.history, kMaxHistoryBytes}}};
  for (const auto& [field, value] : strings) {
    if (absl::Status s = CheckSize(field, *value.first, value.second);
        !s.ok()) {
      return s;
    }
  }
  return ValidateConnection(c);
}

WireEntry EntryToProto(const Entry& entry, absl::string_view id,
                       absl::string_view sensor_id) {
  if (const Record* r = std::get_if<Record>(&entry)) {
    return RecordToProto(*r, id, sensor_id);
  }
  const Connection& c = std::get<Connection>(entry);
  return ConnectionToProto(c, c.uid.empty() ? id : absl::string_view(),
                           sensor_id);
}

const std::string& EntryLabel(const Entry& entry) {
  if (const Record* r = std::get_if<Record>(&entry)) return r->label;
  return std::get<Connection>(entry).label;
}

bool EntryMatchesLabel(const Entry& entry, absl::string_view filter) {
  if (filter == "normal") return EntryIsNormal(entry);
  return EntryLabel(entry) == filter;
}

LabelKind LabelKindOf(FeatureSchema schema, const std::string& label) {
  if (schema == FeatureSchema::kZeek) return ZeekLabelKind(label);
  if (label.empty()) return LabelKind::kUnlabeled;
  return label == "normal" ? LabelKind::kNormal : LabelKind::kAttack;
}

const std::string& ConnectionVerdictId(const v1::Connection& proto) {
  return proto.uid().empty() ? proto.id() : proto.uid();
}

}  // namespace dwae
