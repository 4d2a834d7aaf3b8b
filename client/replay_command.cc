#include "client/replay_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/json.h"
#include "client/progress.h"
#include "client/record_stream.h"
#include "client/sync_command.h"
#include "core/metrics.h"
#include "core/record_proto.h"

namespace dwae {
namespace {

// Per-line problems printed to stderr before going quiet.
constexpr int kMaxReportedErrors = 5;
// Room left in a record id (128 bytes) for ":<line number>".
constexpr size_t kMaxIdPrefixBytes = kMaxRecordIdBytes - 21;

std::string Basename(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.size() > kMaxIdPrefixBytes) base.resize(kMaxIdPrefixBytes);
  return base;
}

// Paces sends to `rate` records/s (0: unpaced): a token bucket refilled at
// `rate` that holds at most kBurst worth of tokens, so a stall is caught up
// quickly but never with a long burst. Sleeps only when more than ~1 ms
// ahead, which keeps the schedule exact over a run at any rate.
class Pacer {
 public:
  explicit Pacer(double rate)
      : interval_(rate > 0 ? std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(1.0 / rate))
                           : Clock::duration::zero()) {}

  void Wait() {
    if (interval_ == Clock::duration::zero()) return;
    const Clock::time_point now = Clock::now();
    if (!started_) {
      started_ = true;
      next_ = now;
    }
    // Tokens do not pile up beyond kBurst.
    if (next_ < now - kBurst) next_ = now - kBurst;
    if (next_ - now > std::chrono::milliseconds(1)) {
      std::this_thread::sleep_until(next_);
    }
    next_ += interval_;
  }

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kBurst{10};
  const Clock::duration interval_;
  Clock::time_point next_;
  bool started_ = false;
};

struct ReplayCounts {
  // Written by the file reader (the writer thread) only.
  uint64_t lines = 0;         // non-blank lines read (headers included)
  uint64_t entries = 0;       // records or connections parsed
  uint64_t parse_errors = 0;  // lines that did not parse
  uint64_t filtered_out = 0;  // parsed, but another label than --filter_label
  uint64_t records = 0;       // records sent
  // Written by the verdict sink (the reader thread) only.
  uint64_t verdicts = 0;
  uint64_t rejected = 0;  // error verdicts
  uint64_t anomalies = 0;
  uint64_t warmup_verdicts = 0;      // given while the daemon warmed up
  Confusion confusion;               // valid verdicts with a label
  std::vector<uint64_t> per_server;  // verdicts per replica
  double seconds = 0;
  InputFormat format = InputFormat::kAuto;  // as detected
  // Seconds the final sync waited for the learners; negative: no sync.
  double sync_seconds = -1;

  uint64_t invalid() const { return parse_errors + rejected; }
  bool labeled() const { return confusion.total() > 0; }
  double records_per_second() const {
    return seconds > 0 ? double(records) / seconds : 0;
  }
};

void WriteVerdictLine(const v1::Verdict& v, std::ofstream& out) {
  const bool ok = v.error_code() == 0;
  Json line;
  line["id"] = v.id();
  line["sensor_id"] = v.sensor_id();
  // The threshold is +inf while the daemon warms up: written as null.
  line["score"] = NumberOrNull(ok, v.score());
  line["threshold"] = NumberOrNull(ok, v.threshold());
  line["anomalous"] = ok ? Json(v.anomalous()) : Json(nullptr);
  line["label"] = v.label().empty() ? Json(nullptr) : Json(v.label());
  if (!ok) {
    line["error"] = v.error_message();
    line["error_code"] = v.error_code();
  }
  out << DumpJson(line) << '\n';
}

void PrintJson(const ReplayCommandOptions& o, const ReplayCounts& c) {
  const Confusion& m = c.confusion;
  Json doc;
  doc["file"] = o.path;
  doc["server"] = absl::StrJoin(o.stream.servers, ",");
  doc["learning"] = LearningModeName(o.stream.learning);
  doc["batch"] = o.stream.batch;
  doc["lines"] = c.lines;
  doc["format"] = InputFormatName(c.format);
  doc["filtered_out"] = c.filtered_out;
  doc["records"] = c.records;
  doc["invalid"] = c.invalid();
  doc["parse_errors"] = c.parse_errors;
  doc["rejected"] = c.rejected;
  doc["anomalies"] = c.anomalies;
  doc["warmup_verdicts"] = c.warmup_verdicts;
  doc["synced"] = c.sync_seconds >= 0;
  doc["sync_seconds"] = NumberOrNull(c.sync_seconds >= 0, c.sync_seconds);
  doc["labeled"] = m.total();
  doc["tp"] = m.tp;
  doc["fp"] = m.fp;
  doc["tn"] = m.tn;
  doc["fn"] = m.fn;
  doc["accuracy"] = NumberOrNull(c.labeled(), m.accuracy());
  doc["precision"] = NumberOrNull(c.labeled(), m.precision());
  doc["recall"] = NumberOrNull(c.labeled(), m.recall());
  doc["f1"] = NumberOrNull(c.labeled(), m.f1());
  doc["seconds"] = c.seconds;
  doc["records_per_second"] = c.records_per_second();
  // Verdicts per replica, in --servers order.
  Json& per_server = doc["per_server"] = Json::object();
  for (size_t i = 0; i < o.stream.servers.size() && i < c.per_server.size();
       ++i) {
    per_server[o.stream.servers[i]] = c.per_server[i];
  }
  std::printf("%s\n", DumpJson(doc).c_str());
}

void PrintSummary(const ReplayCommandOptions& o, const ReplayCounts& c) {
  std::printf("dwae replay: %s (%s) -> %s (learning %s, batch %d)\n",
              o.path.c_str(), InputFormatName(c.format),
              absl::StrJoin(o.stream.servers, ",").c_str(),
              LearningModeName(o.stream.learning), o.stream.batch);
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  if (!o.filter_label.empty()) {
    std::printf("  filtered out     %llu (label != %s)\n", u(c.filtered_out),
                o.filter_label.c_str());
  }
  std::printf("  records          %llu\n", u(c.records));
  std::printf(
      "  invalid          %llu (%llu unparsable lines, %llu rejected by the "
      "daemon)\n",
      u(c.invalid()), u(c.parse_errors), u(c.rejected));
  std::printf("  anomalies        %llu\n", u(c.anomalies));
  if (c.warmup_verdicts > 0) {
    std::printf(
        "  during warm-up   %llu verdicts (before the daemon learned a "
        "threshold)\n",
        u(c.warmup_verdicts));
  }
  if (o.stream.servers.size() > 1) {
    for (size_t i = 0; i < o.stream.servers.size() && i < c.per_server.size();
         ++i) {
      std::printf("    %-30s %llu records\n", o.stream.servers[i].c_str(),
                  u(c.per_server[i]));
    }
  }
  if (c.labeled()) {
    const Confusion& m = c.confusion;
    std::printf("\n  confusion (%llu labelled records)\n", u(m.total()));
    std::printf("  %-16s%18s%18s\n", "", "predicted normal",
                "predicted attack");
    std::printf("  %-16s%18llu%18llu\n", "actual normal", u(m.tn), u(m.fp));
    std::printf("  %-16s%18llu%18llu\n\n", "actual attack", u(m.fn), u(m.tp));
    std::printf("  accuracy         %.4f\n", m.accuracy());
    std::printf("  precision        %.4f\n", m.precision());
    std::printf("  recall           %.4f\n", m.recall());
    std::printf("  f1               %.4f\n", m.f1());
  } else {
    std::printf("  (no labels: no confusion matrix)\n");
  }
  std::printf("  seconds          %.3f\n", c.seconds);
  std::printf("  records/s        %.0f\n", c.records_per_second());
  if (c.sync_seconds >= 0) {
    std::printf("  learned          all sent records (sync waited %.3f s)\n",
                c.sync_seconds);
  }
}

}  // namespace

absl::Status ReplayCommandOptions::Validate() const {
  if (path.empty()) return absl::InvalidArgumentError("replay: missing FILE");
  if (absl::Status s = stream.Validate(); !s.ok()) return s;
  if (!std::isfinite(rate) || rate < 0) {
    return absl::InvalidArgumentError(
        "--rate: must be a finite number >= 0 (0: unpaced)");
  }
  return absl::OkStatus();
}

absl::Status RunReplayCommand(const ReplayCommandOptions& o) {
  if (absl::Status s = o.Validate(); !s.ok()) return s;
  std::ifstream in(o.path);
  if (!in) return absl::NotFoundError(absl::StrCat(o.path, ": cannot open"));
  struct stat st {};
  const uint64_t total_bytes =
      stat(o.path.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : 0;
  std::unique_ptr<std::ofstream> verdicts_out;
  if (!o.verdicts_out.empty()) {
    verdicts_out = std::make_unique<std::ofstream>(o.verdicts_out);
    if (!*verdicts_out) {
      return absl::UnavailableError(
          absl::StrCat(o.verdicts_out, ": cannot write"));
    }
  }

  ReplayCounts counts;
  // The schema of the entries sent, known from the first parsed line on
  // (before any verdict): how the verdicts' labels count.
  std::atomic<FeatureSchema> schema{FeatureSchema::kKdd};
  counts.per_server.assign(o.stream.servers.size(), 0);
  ProgressCounters progress;
  uint64_t reported_rejections = 0;
  // Serialized by ShardedStream: one call at a time, from any stream.
  auto sink = [&](int shard, const v1::VerdictBatch& batch) {
    uint64_t anomalies = 0;
    for (const v1::Verdict& v : batch.verdicts()) {
      ++counts.verdicts;
      if (verdicts_out != nullptr) WriteVerdictLine(v, *verdicts_out);
      if (v.error_code() != 0) {
        ++counts.rejected;
        if (++reported_rejections <= kMaxReportedErrors) {
          std::fprintf(stderr, "dwae replay: %s rejected: %s\n", v.id().c_str(),
                       v.error_message().c_str());
        }
        continue;
      }
      if (v.anomalous()) ++anomalies;
      if (v.warming_up()) ++counts.warmup_verdicts;
      switch (LabelKindOf(schema.load(), v.label())) {
        case LabelKind::kNormal:
          counts.confusion.Add(v.anomalous(), false);
          break;
        case LabelKind::kAttack:
          counts.confusion.Add(v.anomalous(), true);
          break;
        case LabelKind::kUnlabeled:
          break;
      }
    }
    counts.anomalies += anomalies;
    counts.per_server[shard] += batch.verdicts_size();
    progress.answered.fetch_add(batch.verdicts_size());
    progress.anomalies.fetch_add(anomalies);
  };

  std::optional<LearnerSync> learner;
  if (o.sync) {
    absl::StatusOr<LearnerSync> connected = LearnerSync::Connect(
        o.stream.servers, o.stream.security, o.stream.connect_timeout);
    if (!connected.ok()) return connected.status();
    learner = *std::move(connected);
    if (absl::Status s = learner->WaitForWarmups(o.sync_timeout, "dwae replay");
        !s.ok()) {
      return s;
    }
  }

  ShardedStreamOptions so = o.stream.ToShardedStreamOptions();
  // Paced: keep verdicts flowing even when a batch takes long to fill.
  if (o.rate > 0) so.max_batch_delay = absl::Milliseconds(100);
  absl::StatusOr<std::unique_ptr<ShardedStream>> stream =
      ShardedStream::Start(so, sink);
  if (!stream.ok()) return stream.status();

  const bool show_progress =
      o.progress == ReplayCommandOptions::Progress::kAlways ||
      (o.progress == ReplayCommandOptions::Progress::kAuto && isatty(2));
  ProgressBar bar(&progress, total_bytes);
  if (show_progress) bar.Start();

  const absl::Time start = absl::Now();
  Pacer pacer(o.rate);
  const std::string id_prefix = Basename(o.path) + ":";
  RecordReader reader(o.stream.format);
  Entry entry;
  std::string line;
  uint64_t line_number = 0;
  absl::Status status;
  while (std::getline(in, line)) {
    ++line_number;
    progress.bytes_read.fetch_add(line.size() + 1, std::memory_order_relaxed);
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    ++counts.lines;
    absl::StatusOr<bool> parsed = reader.Next(line, &entry);
    if (!parsed.ok()) {
      if (++counts.parse_errors <= kMaxReportedErrors) {
        std::fprintf(stderr, "dwae replay: %s:%llu: %s\n", o.path.c_str(),
                     static_cast<unsigned long long>(line_number),
                     std::string(parsed.status().message()).c_str());
      }
      continue;
    }
    if (!*parsed) continue;  // a Zeek header or comment line
    if (counts.entries == 0) {
      schema = std::holds_alternative<Connection>(entry) ? FeatureSchema::kZeek
                                                         : FeatureSchema::kKdd;
    }
    ++counts.entries;
    if (!o.filter_label.empty() && !EntryMatchesLabel(entry, o.filter_label)) {
      ++counts.filtered_out;
      continue;
    }
    const std::string sensor = o.stream.SensorFor(line_number);
    pacer.Wait();
    status = (*stream)->Send(
        EntryToProto(entry, absl::StrCat(id_prefix, line_number), sensor));
    if (!status.ok()) break;
    ++counts.records;
    progress.sent.fetch_add(1, std::memory_order_relaxed);
  }
  if (status.ok() && in.bad()) {
    status = absl::DataLossError(absl::StrCat(o.path, ": read error"));
  }
  if (!status.ok()) (*stream)->Cancel();
  const absl::Status finished = (*stream)->Finish();
  if (status.ok()) status = finished;
  counts.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  counts.format = reader.format();
  bar.Finish();
  if (!status.ok()) return status;
  if (counts.verdicts != counts.records) {
    return absl::InternalError(absl::StrCat("the daemon answered ",
                                            counts.verdicts, " verdicts for ",
                                            counts.records, " records"));
  }
  if (learner.has_value() && o.stream.learning != v1::LEARNING_MODE_OFF) {
    absl::StatusOr<double> waited = learner->SyncAll(o.sync_timeout);
    if (!waited.ok()) return waited.status();
    counts.sync_seconds = *waited;
  }
  if (counts.parse_errors > kMaxReportedErrors) {
    std::fprintf(stderr, "dwae replay: %llu more unparsable lines not shown\n",
                 static_cast<unsigned long long>(counts.parse_errors -
                                                 kMaxReportedErrors));
  }
  if (counts.rejected > kMaxReportedErrors) {
    std::fprintf(
        stderr, "dwae replay: %llu more rejected records not shown\n",
        static_cast<unsigned long long>(counts.rejected - kMaxReportedErrors));
  }
  if (verdicts_out != nullptr) {
    verdicts_out->close();
    if (!*verdicts_out) {
      return absl::DataLossError(
          absl::StrCat(o.verdicts_out, ": write failed"));
    }
  }
  if (o.stream.json) {
    PrintJson(o, counts);
  } else {
    PrintSummary(o, counts);
  }
  return absl::OkStatus();
}

}  // namespace dwae
