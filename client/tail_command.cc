#include "client/tail_command.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/json.h"
#include "client/record_stream.h"
#include "core/record_proto.h"

namespace dwae {
namespace {

constexpr int kMaxReportedErrors = 5;
constexpr size_t kReadChunk = 64 * 1024;

// Set by SIGINT/SIGTERM; the follow loop checks it between reads and naps.
std::atomic<bool> g_stop{false};

void OnStopSignal(int) { g_stop.store(true); }

void InstallStopHandlers() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocking sleep returns early
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

// Sleeps up to `d` in short naps, returning early once a stop is requested.
void Nap(absl::Duration d) {
  const absl::Time until = absl::Now() + d;
  while (!g_stop.load()) {
    const absl::Duration left = until - absl::Now();
    if (left <= absl::ZeroDuration()) return;
    absl::SleepFor(std::min(left, absl::Milliseconds(20)));
  }
}

struct TailCounts {
  // The reader's.
  uint64_t lines = 0;
  uint64_t parse_errors = 0;
  uint64_t records = 0;
  uint64_t rotations = 0;
  uint64_t truncations = 0;
  // The sink's (serialized by ShardedStream).
  uint64_t verdicts = 0;
  uint64_t rejected = 0;
  uint64_t anomalies = 0;
};

void PrintVerdict(const TailCommandOptions& o, const v1::Verdict& v) {
  const bool error = v.error_code() != 0;
  if (!o.all_verdicts && (error || !v.anomalous())) return;
  if (o.stream.json) {
    Json line;
    line["id"] = v.id();
    line["sensor_id"] = v.sensor_id();
    if (error) {
      line["error"] = v.error_message();
      line["error_code"] = v.error_code();
    } else {
      line["score"] = v.score();
      line["threshold"] = v.threshold();  // +inf (warm-up) is written as null
      line["anomalous"] = v.anomalous();
      Json& top = line["top_features"] = Json::array();
      for (const v1::FeatureDeviation& f : v.top_features()) {
        top.push_back(f.feature());
      }
    }
    line["label"] = v.label().empty() ? Json(nullptr) : Json(v.label());
    std::printf("%s\n", DumpJson(line).c_str());
    return;
  }
  if (error) {
    std::printf("%s  invalid: %s\n", v.id().c_str(), v.error_message().c_str());
    return;
  }
  std::string top;
  for (const v1::FeatureDeviation& f : v.top_features()) {
    absl::StrAppend(&top, top.empty() ? "" : ",", f.feature());
  }
  std::printf("%s  %s  score=%.6g threshold=%.6g%s%s%s%s\n", v.id().c_str(),
              v.anomalous() ? "ANOMALY" : "normal ", v.score(), v.threshold(),
              v.label().empty() ? "" : " label=", v.label().c_str(),
              top.empty() ? "" : " top=", top.c_str());
}

// Follows one path: the open file, its identity and the read offset.
class Follower {
 public:
  Follower(const TailCommandOptions& o, TailCounts& counts,
           ShardedStream& stream)
      : o_(o), counts_(counts), stream_(stream) {
    const size_t slash = o.path.find_last_of('/');
    id_prefix_ =
        (slash == std::string::npos ? o.path : o.path.substr(slash + 1));
    if (id_prefix_.size() > kMaxRecordIdBytes - 21) {
      id_prefix_.resize(kMaxRecordIdBytes - 21);
    }
    id_prefix_ += ":";
  }
  ~Follower() { Close(); }

  // Opens the path; `at_end`: start reading at its current end. NotFound
  // when the path does not exist.
  absl::Status Open(bool at_end) {
    const int fd = open(o_.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return absl::NotFoundError(o_.path);
      return absl::UnavailableError(
          absl::StrCat(o_.path, ": ", std::strerror(errno)));
    }
    struct stat st {};
    fstat(fd, &st);
    fd_ = fd;
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    offset_ = 0;
    partial_.clear();
    if (at_end && S_ISREG(st.st_mode)) {
      offset_ = st.st_size;
      // Lines after the end need the header blocks before it (Zeek).
      if (absl::Status s = ReadHeaders(offset_); !s.ok()) return s;
      lseek(fd_, offset_, SEEK_SET);
    }
    return absl::OkStatus();
  }

  // Starting at the end of a file: the reader still needs the file's
  // header lines ('#...', a Zeek log's #separator and #fields) to parse
  // what comes next, so the lines before `end` are scanned and only those
  // are handed to the reader. A file without them (KDD text) costs one
  // read through it.
  absl::Status ReadHeaders(off_t end) {
    std::string line;
    char buffer[kReadChunk];
    off_t at = 0;
    while (at < end) {
      const ssize_t n = pread(
          fd_, buffer, size_t(std::min<off_t>(sizeof(buffer), end - at)), at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      at += n;
      absl::string_view data(buffer, size_t(n));
      while (!data.empty()) {
        const size_t newline = data.find('\n');
        const absl::string_view part = data.substr(0, newline);
        if (line.size() < kMaxLineBytes) line.append(part.data(), part.size());
        if (newline == absl::string_view::npos) break;
        data.remove_prefix(newline + 1);
        if (!line.empty() && line[0] == '#') (void)reader_.Next(line, &entry_);
        line.clear();
      }
    }
    return absl::OkStatus();
  }

  bool is_open() const { return fd_ >= 0; }
  off_t offset() const { return offset_; }

  // Reads and sends every complete line up to the current end of the file.
  absl::Status ReadToEnd() {
    char buffer[kReadChunk];
    while (!Done()) {
      const ssize_t n = read(fd_, buffer, sizeof(buffer));
      if (n < 0) {
        if (errno == EINTR) continue;
        return absl::DataLossError(
            absl::StrCat(o_.path, ": read: ", std::strerror(errno)));
      }
      if (n == 0) return absl::OkStatus();
      offset_ += n;
      absl::string_view data(buffer, size_t(n));
      while (!data.empty() && !Done()) {
        const size_t newline = data.find('\n');
        if (newline == absl::string_view::npos) {
          AppendPartial(data);
          break;
        }
        AppendPartial(data.substr(0, newline));
        data.remove_prefix(newline + 1);
        if (absl::Status s = HandleLine(); !s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }

  // A last line without its newline (at the end of a file that will not
  // grow any more: no --follow, or the old file after a rotation).
  absl::Status FinishPartial() {
    if (partial_.empty() || Done()) return absl::OkStatus();
    return HandleLine();
  }

  // --follow: after reading to the end, looks for truncation and rotation.
  // Returns OK with the follower re-opened (or closed, when the path is
  // gone and nothing replaced it yet).
  absl::Status Check() {
    if (fd_ >= 0) {
      struct stat st {};
      if (fstat(fd_, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < offset_) {
        ++counts_.truncations;
        std::fprintf(stderr, "dwae tail: %s: file truncated\n",
                     o_.path.c_str());
        lseek(fd_, 0, SEEK_SET);
        offset_ = 0;
        partial_.clear();
        return absl::OkStatus();
      }
    }
    struct stat path_st {};
    if (stat(o_.path.c_str(), &path_st) != 0) {
      return absl::OkStatus();  // gone for now: keep the old fd, wait
    }
    if (fd_ >= 0 && path_st.st_dev == dev_ && path_st.st_ino == ino_) {
      return absl::OkStatus();
    }
    if (fd_ >= 0) {
      // Rotated: finish what the old file got before the switch.
      if (absl::Status s = ReadToEnd(); !s.ok()) return s;
      if (absl::Status s = FinishPartial(); !s.ok()) return s;
      ++counts_.rotations;
      std::fprintf(stderr,
                   "dwae tail: %s: file replaced; following the new "
                   "file\n",
                   o_.path.c_str());
      Close();
    }
    absl::Status s = Open(/*at_end=*/false);
    if (absl::IsNotFound(s)) return absl::OkStatus();  // raced with a rename
    return s;
  }

  bool Done() const {
    return g_stop.load() ||
           (o_.stop_after > 0 && int64_t(counts_.records) >= o_.stop_after);
  }

 private:
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  // Bounded: a line over kMaxLineBytes is kept cut (the parser refuses it).
  void AppendPartial(absl::string_view data) {
    const size_t room =
        kMaxLineBytes + 1 - std::min(partial_.size(), kMaxLineBytes + 1);
    partial_.append(data.data(), std::min(room, data.size()));
  }

  absl::Status HandleLine() {
    std::string line;
    line.swap(partial_);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (absl::StripAsciiWhitespace(line).empty()) return absl::OkStatus();
    const uint64_t number = ++counts_.lines;
    absl::StatusOr<bool> parsed = reader_.Next(line, &entry_);
    if (!parsed.ok()) {
      if (++counts_.parse_errors <= kMaxReportedErrors) {
        std::fprintf(stderr, "dwae tail: %s: line %llu: %s\n", o_.path.c_str(),
                     static_cast<unsigned long long>(number),
                     std::string(parsed.status().message()).c_str());
      }
      return absl::OkStatus();
    }
    if (!*parsed) return absl::OkStatus();  // a Zeek header or comment
    absl::Status s = stream_.Send(EntryToProto(
        entry_, absl::StrCat(id_prefix_, number), o_.stream.sensor_id));
    if (s.ok()) ++counts_.records;
    return s;
  }

  const TailCommandOptions& o_;
  TailCounts& counts_;
  ShardedStream& stream_;
  // One reader across rotations: a new Zeek file starts with its own header
  // block, which the reader takes as it comes.
  RecordReader reader_{o_.stream.format};
  Entry entry_;
  std::string id_prefix_;
  int fd_ = -1;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  off_t offset_ = 0;
  std::string partial_;
};

absl::Status Follow(const TailCommandOptions& o, Follower& f) {
  bool waiting_reported = false;
  bool first_open = true;
  while (!f.Done()) {
    if (!f.is_open()) {
      absl::Status s = f.Open(/*at_end=*/first_open && !o.from_start);
      if (absl::IsNotFound(s)) {
        if (!waiting_reported) {
          std::fprintf(stderr, "dwae tail: waiting for %s to appear\n",
                       o.path.c_str());
          waiting_reported = true;
        }
        first_open = false;  // a file that appears later is read whole
        Nap(o.poll_interval);
        continue;
      }
      if (!s.ok()) return s;
      if (first_open) {
        std::fprintf(stderr, "dwae tail: following %s from byte %lld\n",
                     o.path.c_str(), static_cast<long long>(f.offset()));
      }
      first_open = false;
      waiting_reported = false;
    }
    if (absl::Status s = f.ReadToEnd(); !s.ok()) return s;
    if (absl::Status s = f.Check(); !s.ok()) return s;
    if (f.Done()) break;
    Nap(o.poll_interval);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status TailCommandOptions::Validate() const {
  if (path.empty()) return absl::InvalidArgumentError("tail: missing FILE");
  if (absl::Status s = stream.Validate(); !s.ok()) return s;
  if (poll_interval <= absl::ZeroDuration() ||
      poll_interval == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError("--poll_interval: must be positive");
  }
  if (max_batch_delay <= absl::ZeroDuration() ||
      max_batch_delay == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError("--max_batch_delay: must be positive");
  }
  if (stop_after < 0) {
    return absl::InvalidArgumentError("--stop_after: must be >= 0");
  }
  return absl::OkStatus();
}

absl::Status RunTailCommand(const TailCommandOptions& o) {
  if (absl::Status s = o.Validate(); !s.ok()) return s;
  g_stop.store(false);
  InstallStopHandlers();

  TailCounts counts;
  auto sink = [&](int, const v1::VerdictBatch& batch) {
    for (const v1::Verdict& v : batch.verdicts()) {
      ++counts.verdicts;
      if (v.error_code() != 0) {
        ++counts.rejected;
      } else if (v.anomalous()) {
        ++counts.anomalies;
      }
      PrintVerdict(o, v);
    }
    std::fflush(stdout);  // live output for whoever reads the pipe
  };
  ShardedStreamOptions so = o.stream.ToShardedStreamOptions();
  so.max_batch_delay = o.max_batch_delay;
  absl::StatusOr<std::unique_ptr<ShardedStream>> stream =
      ShardedStream::Start(so, sink);
  if (!stream.ok()) return stream.status();

  const absl::Time start = absl::Now();
  absl::Status status;
  {
    Follower follower(o, counts, **stream);
    if (o.follow) {
      status = Follow(o, follower);
    } else {
      status = follower.Open(/*at_end=*/false);
      if (absl::IsNotFound(status)) {
        status = absl::NotFoundError(absl::StrCat(o.path, ": cannot open"));
      }
      if (status.ok()) status = follower.ReadToEnd();
      if (status.ok()) status = follower.FinishPartial();
    }
  }
  // In-flight batches are drained (and printed) even after a signal.
  if (!status.ok()) (*stream)->Cancel();
  const absl::Status finished = (*stream)->Finish();
  if (status.ok()) status = finished;
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  std::fprintf(stderr,
               "dwae tail: %s -> %s: %llu lines, %llu records sent, %llu "
               "verdicts, %llu anomalies, %llu invalid (%llu unparsable, %llu "
               "rejected), %llu rotations, %llu truncations, %.1f s%s\n",
               o.path.c_str(), absl::StrJoin(o.stream.servers, ",").c_str(),
               u(counts.lines), u(counts.records), u(counts.verdicts),
               u(counts.anomalies), u(counts.parse_errors + counts.rejected),
               u(counts.parse_errors), u(counts.rejected), u(counts.rotations),
               u(counts.truncations), seconds,
               g_stop.load() ? " (stopped by signal)" : "");
  if (!status.ok()) return status;
  if (counts.verdicts != counts.records) {
    return absl::InternalError(absl::StrCat("the daemon answered ",
                                            counts.verdicts, " verdicts for ",
                                            counts.records, " records"));
  }
  return absl::OkStatus();
}

}  // namespace dwae
