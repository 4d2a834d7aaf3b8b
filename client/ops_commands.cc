// dwae score and dwae anomalies, plus the helpers of ops_internal.h shared
// with status_command.cc and admin_command.cc.
#include "client/ops_commands.h"

#include <signal.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <iostream>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/grpc_client.h"
#include "client/json.h"
#include "client/ops_internal.h"
#include "core/record_proto.h"
#include "google/protobuf/util/json_util.h"

namespace dwae {
namespace ops {

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

absl::Status RpcError(absl::string_view method, absl::string_view address,
                      const grpc::Status& status) {
  const absl::Status s = FromGrpcStatus(status);
  return absl::Status(s.code(),
                      absl::StrCat(method, " to ", address, ": ", s.message()));
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp out;
  const int64_t seconds = absl::ToUnixSeconds(t);  // rounds down
  out.set_seconds(seconds);
  out.set_nanos(
      int32_t((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
  return out;
}

std::string FormatRfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::string FormatThreshold(double threshold) {
  if (!std::isfinite(threshold)) return "inf (warming up)";
  return absl::StrFormat("%.4g", threshold);
}

const char* LearningStateName(v1::LearningState state) {
  switch (state) {
    case v1::LEARNING_STATE_AUTO:
      return "auto";
    case v1::LEARNING_STATE_ON:
      return "on";
    case v1::LEARNING_STATE_GATED:
      return "gated";
    case v1::LEARNING_STATE_OFF:
      return "off";
    default:
      return "?";
  }
}

std::string ProtoToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options)
           .ok()) {
    return "{}";
  }
  return out;
}

}  // namespace ops

namespace {

// ---- score ----------------------------------------------------------------

// One input line of a batch: either sent (verdict at `index` of the
// response) or refused by the parser (`error`).
struct PendingLine {
  uint64_t line_number = 0;
  std::string id;
  int index = -1;
  std::string error;
};

Json FeaturesJson(const std::vector<v1::FeatureDeviation>& f) {
  Json out = Json::array();
  for (const v1::FeatureDeviation& d : f) {
    Json feature;
    feature["feature"] = d.feature();
    feature["squared_error"] = d.squared_error();
    feature["value"] = d.value();
    feature["reconstruction"] = d.reconstruction();
    out.push_back(std::move(feature));
  }
  return out;
}

// Adds a verdict's score, threshold (+inf while warming up is written as
// null), anomalous, label (null when absent) and top features to `out`.
void AddVerdictMembers(const v1::Verdict& v,
                       const std::vector<v1::FeatureDeviation>& features,
                       Json& out) {
  out["score"] = v.score();
  out["threshold"] = v.threshold();
  out["anomalous"] = v.anomalous();
  out["label"] = v.label().empty() ? Json(nullptr) : Json(v.label());
  out["top_features"] = FeaturesJson(features);
}

std::vector<v1::FeatureDeviation> SortedFeatures(const v1::Verdict& v) {
  std::vector<v1::FeatureDeviation> f(v.top_features().begin(),
                                      v.top_features().end());
  std::stable_sort(
      f.begin(), f.end(),
      [](const v1::FeatureDeviation& a, const v1::FeatureDeviation& b) {
        return a.squared_error() > b.squared_error();
      });
  return f;
}

void PrintErrorLine(const PendingLine& p, const std::string& error, bool json) {
  if (json) {
    Json line;
    line["id"] = p.id;
    line["line"] = p.line_number;
    line["score"] = nullptr;
    line["threshold"] = nullptr;
    line["anomalous"] = nullptr;
    line["top_features"] = Json::array();
    line["error"] = error;
    std::printf("%s\n", DumpJson(line).c_str());
  } else {
    std::printf("ERROR   line %llu: %s\n",
                static_cast<unsigned long long>(p.line_number), error.c_str());
  }
}

void PrintVerdictLine(const PendingLine& p, const v1::Verdict& v, bool json) {
  const std::vector<v1::FeatureDeviation> features = SortedFeatures(v);
  if (json) {
    Json line;
    line["id"] = v.id();
    line["line"] = p.line_number;
    line["learned"] = v.learned();
    AddVerdictMembers(v, features, line);
    std::printf("%s\n", DumpJson(line).c_str());
    return;
  }
  std::vector<std::string> parts;
  for (size_t i = 0; i < features.size(); ++i) {
    const v1::FeatureDeviation& d = features[i];
    parts.push_back(
        i == 0 ? absl::StrFormat("%s (value %.2f, reconstructed %.2f)",
                                 d.feature(), d.value(), d.reconstruction())
               : absl::StrFormat("%s (%.2f, %.2f)", d.feature(), d.value(),
                                 d.reconstruction()));
  }
  std::printf("%-7s score=%.4g threshold=%s  %s\n",
              v.anomalous() ? "ANOMALY" : "NORMAL", v.score(),
              ops::FormatThreshold(v.threshold()).c_str(),
              absl::StrJoin(parts, ", ").c_str());
}

class Scorer {
 public:
  Scorer(const ScoreCommandOptions& o, DetectorClient& client)
      : o_(o), client_(client), reader_(o.format) {}

  // Adds one input line; sends the batch when it is full.
  absl::Status Add(absl::string_view line, uint64_t line_number,
                   absl::string_view source) {
    if (absl::StripAsciiWhitespace(line).empty()) return absl::OkStatus();
    ++lines_;
    PendingLine p;
    p.line_number = line_number;
    p.id = absl::StrCat(source, ":", line_number);
    absl::StatusOr<bool> parsed = reader_.Next(line, &entry_);
    if (parsed.ok() && !*parsed) {  // a Zeek header or comment line
      --lines_;
      return absl::OkStatus();
    }
    if (parsed.ok()) {
      p.index = entries();
      WireEntry wire = EntryToProto(entry_, p.id, "score");
      if (auto* r = std::get_if<v1::Record>(&wire)) {
        *request_.add_records() = std::move(*r);
      } else {
        *request_.add_connections() = std::move(std::get<v1::Connection>(wire));
      }
    } else {
      p.error = std::string(parsed.status().message());
    }
    pending_.push_back(std::move(p));
    if (int(pending_.size()) >= o_.batch) return Flush();
    return absl::OkStatus();
  }

  // Sends what is pending and prints every line's verdict in input order.
  absl::Status Flush() {
    if (pending_.empty()) return absl::OkStatus();
    v1::ScoreResponse response;
    if (entries() > 0) {
      request_.set_learning(o_.learning);
      request_.set_top_k(o_.top_k);
      grpc::ClientContext context;
      ops::SetDeadline(&context, o_.connection.timeout);
      const grpc::Status status =
          client_.stub().Score(&context, request_, &response);
      if (!status.ok()) {
        return ops::RpcError("Score", client_.address(), status);
      }
      if (response.verdicts_size() != entries()) {
        return absl::InternalError(
            absl::StrCat("dwaed answered ", response.verdicts_size(),
                         " verdicts for ", entries(), " records"));
      }
    }
    for (const PendingLine& p : pending_) {
      if (p.index < 0) {
        ++errors_;
        PrintErrorLine(p, p.error, o_.json);
        continue;
      }
      const v1::Verdict& v = response.verdicts(p.index);
      if (v.error_code() != 0) {
        ++errors_;
        PrintErrorLine(p, v.error_message(), o_.json);
      } else {
        ++scored_;
        PrintVerdictLine(p, v, o_.json);
      }
    }
    std::fflush(stdout);
    pending_.clear();
    request_.Clear();
    return absl::OkStatus();
  }

  uint64_t lines() const { return lines_; }
  uint64_t scored() const { return scored_; }
  uint64_t errors() const { return errors_; }

 private:
  // Records or connections in the request (one reader: one kind).
  int entries() const {
    return request_.records_size() + request_.connections_size();
  }

  const ScoreCommandOptions& o_;
  DetectorClient& client_;
  RecordReader reader_;
  Entry entry_;
  v1::ScoreRequest request_;
  std::vector<PendingLine> pending_;
  uint64_t lines_ = 0;
  uint64_t scored_ = 0;
  uint64_t errors_ = 0;
};

// ---- anomalies ------------------------------------------------------------

volatile std::sig_atomic_t g_stop_following = 0;

void OnStopSignal(int) { g_stop_following = 1; }

// Installs OnStopSignal for SIGINT and SIGTERM for its lifetime.
class StopSignals {
 public:
  StopSignals() {
    g_stop_following = 0;
    struct sigaction action {};
    action.sa_handler = OnStopSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

void PrintAnomaly(const v1::Verdict& v, bool json) {
  const std::vector<v1::FeatureDeviation> features = SortedFeatures(v);
  const std::string when =
      v.has_scored_at() ? ops::FormatRfc3339(ops::FromTimestamp(v.scored_at()))
                        : std::string("-");
  if (json) {
    Json line;
    line["id"] = v.id();
    line["sensor_id"] = v.sensor_id();
    line["sequence"] = v.sequence();
    line["scored_at"] = v.has_scored_at() ? Json(when) : Json(nullptr);
    AddVerdictMembers(v, features, line);
    std::printf("%s\n", DumpJson(line).c_str());
    return;
  }
  std::vector<std::string> names;
  for (const v1::FeatureDeviation& d : features) names.push_back(d.feature());
  std::printf(
      "%s  %s  sensor=%s  score=%.4g  threshold=%s%s  top: %s\n", when.c_str(),
      v.id().c_str(), v.sensor_id().empty() ? "-" : v.sensor_id().c_str(),
      v.score(), ops::FormatThreshold(v.threshold()).c_str(),
      v.label().empty() ? "" : absl::StrCat("  label=", v.label()).c_str(),
      names.empty() ? "-" : absl::StrJoin(names, ", ").c_str());
}

// Anomalies with sequence > after (and since o.since), oldest first.
absl::Status Query(const AnomaliesCommandOptions& o, DetectorClient& client,
                   uint64_t after, uint32_t limit,
                   v1::QueryVerdictsResponse* response) {
  v1::QueryVerdictsRequest request;
  request.set_after_sequence(after);
  request.set_limit(limit);
  if (o.since != absl::InfinitePast()) {
    *request.mutable_since() = ops::ToTimestamp(o.since);
  }
  grpc::ClientContext context;
  ops::SetDeadline(&context, o.connection.timeout);
  const grpc::Status status =
      client.stub().QueryVerdicts(&context, request, response);
  if (!status.ok()) {
    return ops::RpcError("QueryVerdicts", client.address(), status);
  }
  return absl::OkStatus();
}

// The daemon's largest page.
constexpr uint32_t kPageSize = 10000;
// Pages read for the initial listing (the window holds 100,000 verdicts).
constexpr int kMaxPages = 100;

}  // namespace

absl::Status RunScoreCommand(const ScoreCommandOptions& o) {
  if (o.batch < 1) return absl::InvalidArgumentError("batch: must be >= 1");
  absl::StatusOr<std::unique_ptr<DetectorClient>> client =
      DetectorClient::Connect(o.connection.server, o.connection.timeout,
                              o.connection.security);
  if (!client.ok()) return client.status();
  Scorer scorer(o, **client);
  if (!o.lines.empty()) {
    for (size_t i = 0; i < o.lines.size(); ++i) {
      if (absl::Status s = scorer.Add(o.lines[i], i + 1, "arg"); !s.ok()) {
        return s;
      }
    }
  } else {
    std::string line;
    uint64_t line_number = 0;
    while (std::getline(std::cin, line)) {
      if (absl::Status s = scorer.Add(line, ++line_number, "stdin"); !s.ok()) {
        return s;
      }
    }
    if (std::cin.bad()) return absl::DataLossError("stdin: read error");
  }
  if (absl::Status s = scorer.Flush(); !s.ok()) return s;
  if (scorer.lines() == 0) {
    return absl::InvalidArgumentError("no record lines to score");
  }
  if (scorer.scored() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("no line could be scored (", scorer.errors(), " of ",
                     scorer.lines(), " invalid)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> ParseSince(absl::string_view value, absl::Time now) {
  absl::Duration ago;
  if (absl::ParseDuration(value, &ago)) {
    if (ago < absl::ZeroDuration() || ago == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--since: duration '", value, "' must be finite and >= 0"));
    }
    return now - ago;
  }
  absl::Time t;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, value, &t, &error)) return t;
  return absl::InvalidArgumentError(
      absl::StrCat("--since: expected a duration before now (90s, 10m, 2h) "
                   "or an RFC 3339 time (2026-11-29T15:00:00Z), got '",
                   value, "'"));
}

absl::Status RunAnomaliesCommand(const AnomaliesCommandOptions& o) {
  if (o.limit < 1) return absl::InvalidArgumentError("limit: must be >= 1");
  absl::StatusOr<std::unique_ptr<DetectorClient>> client =
      DetectorClient::Connect(o.connection.server, o.connection.timeout,
                              o.connection.security);
  if (!client.ok()) return client.status();

  // The newest `limit` anomalies: the daemon answers oldest first, so page
  // through the window and keep the tail.
  std::deque<v1::Verdict> newest;
  uint64_t after = 0;
  for (int page = 0; page < kMaxPages; ++page) {
    v1::QueryVerdictsResponse response;
    if (absl::Status s = Query(o, **client, after, kPageSize, &response);
        !s.ok()) {
      return s;
    }
    for (v1::Verdict& v : *response.mutable_verdicts()) {
      after = std::max(after, v.sequence());
      newest.push_back(std::move(v));
      if (newest.size() > o.limit) newest.pop_front();
    }
    if (uint32_t(response.verdicts_size()) < kPageSize) break;
  }
  for (const v1::Verdict& v : newest) PrintAnomaly(v, o.json);
  if (newest.empty() && !o.json && !o.follow) std::printf("no anomalies\n");
  std::fflush(stdout);
  if (!o.follow) return absl::OkStatus();

  const StopSignals signals;
  const absl::Duration step = std::min(o.poll_interval, absl::Milliseconds(50));
  while (!g_stop_following) {
    const absl::Time next_poll = absl::Now() + o.poll_interval;
    while (!g_stop_following && absl::Now() < next_poll) {
      absl::SleepFor(std::min(step, next_poll - absl::Now()));
    }
    if (g_stop_following) break;
    v1::QueryVerdictsResponse response;
    if (absl::Status s = Query(o, **client, after, kPageSize, &response);
        !s.ok()) {
      return s;
    }
    for (const v1::Verdict& v : response.verdicts()) {
      after = std::max(after, v.sequence());
      PrintAnomaly(v, o.json);
    }
    std::fflush(stdout);
  }
  return absl::OkStatus();
}

}  // namespace dwae
