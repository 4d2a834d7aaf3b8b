#include "server/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace dwae::server {
namespace {

// Fields of /proc/<pid>/stat counted from 1 (proc(5)); field 3 is the first
// after the command name in parentheses.
constexpr int kUtime = 14, kStime = 15, kStartTime = 22, kVsize = 23, kRss = 24;

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// `btime` of /proc/stat: the boot time in seconds since the epoch.
absl::StatusOr<double> BootTime(const std::string& proc_root) {
  const std::string path = proc_root + "/stat";
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    if (!absl::ConsumePrefix(&line, "btime ")) continue;
    double value = 0;
    if (absl::SimpleAtod(line, &value)) return value;
  }
  return absl::DataLossError(absl::StrCat(path, ": no btime line"));
}

absl::StatusOr<double> CountEntries(const std::string& dir_path) {
  DIR* dir = opendir(dir_path.c_str());
  if (dir == nullptr) {
    return absl::NotFoundError(absl::StrCat(dir_path, ": cannot list"));
  }
  double count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  // The directory stream itself is one of the open descriptors when
  // `dir_path` is this process's fd directory; do not count it.
  return count > 0 ? count - 1 : 0;
}

prometheus::MetricFamily Family(const char* name, const char* help,
                                prometheus::MetricType type, double value) {
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return {name, help, type, {metric}};
}

}  // namespace

absl::StatusOr<ProcessStats> ParseProcStat(const std::string& stat_line,
                                           double ticks_per_second,
                                           double page_bytes,
                                           double boot_time_seconds) {
  // The command name may hold spaces and ')': fields resume after the last.
  const size_t close = stat_line.rfind(')');
  if (close == std::string::npos) {
    return absl::DataLossError("stat: no ')' after the command name");
  }
  const std::vector<absl::string_view> fields = absl::StrSplit(
      absl::string_view(stat_line).substr(close + 1), ' ', absl::SkipEmpty());
  auto field = [&](int number, double* out) -> absl::Status {
    const size_t index = size_t(number - 3);
    if (index >= fields.size() || !absl::SimpleAtod(fields[index], out)) {
      return absl::DataLossError(
          absl::StrCat("stat: field ", number, " missing or not a number"));
    }
    return absl::OkStatus();
  };
  double utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
  for (auto [number, out] : {std::pair{kUtime, &utime},
                             {kStime, &stime},
                             {kStartTime, &start},
                             {kVsize, &vsize},
                             {kRss, &rss}}) {
    if (absl::Status s = field(number, out); !s.ok()) return s;
  }
  ProcessStats stats;
  stats.cpu_seconds = (utime + stime) / ticks_per_second;
  stats.start_time_seconds = boot_time_seconds + start / ticks_per_second;
  stats.virtual_bytes = vsize;
  stats.resident_bytes = rss * page_bytes;
  return stats;
}

absl::StatusOr<ProcessStats> ReadProcessStats(const std::string& proc_dir,
                                              const std::string& proc_root) {
  const std::string stat_path = proc_dir + "/stat";
  absl::StatusOr<std::string> stat = ReadFile(stat_path);
  if (!stat.ok()) return stat.status();
  absl::StatusOr<double> boot = BootTime(proc_root);
  if (!boot.ok()) return boot.status();
  absl::StatusOr<ProcessStats> stats =
      ParseProcStat(*stat, double(sysconf(_SC_CLK_TCK)),
                    double(sysconf(_SC_PAGESIZE)), *boot);
  if (!stats.ok()) {
    return absl::DataLossError(
        absl::StrCat(stat_path, ": ", stats.status().message()));
  }
  absl::StatusOr<double> fds = CountEntries(proc_dir + "/fd");
  if (!fds.ok()) return fds.status();
  stats->open_fds = *fds;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    stats->max_fds =
        limit.rlim_cur == RLIM_INFINITY ? 0 : double(limit.rlim_cur);
  }
  return stats;
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  const absl::StatusOr<ProcessStats> s = ReadProcessStats();
  if (!s.ok()) return {};
  using prometheus::MetricType;
  return {
      Family("process_cpu_seconds_total",
             "Total user and system CPU time spent in seconds.",
             MetricType::Counter, s->cpu_seconds),
      Family("process_resident_memory_bytes", "Resident memory size in bytes.",
             MetricType::Gauge, s->resident_bytes),
      Family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
             MetricType::Gauge, s->virtual_bytes),
      Family("process_open_fds", "Number of open file descriptors.",
             MetricType::Gauge, s->open_fds),
      Family("process_max_fds", "Maximum number of open file descriptors.",
             MetricType::Gauge, s->max_fds),
      Family("process_start_time_seconds",
             "Start time of the process since unix epoch in seconds.",
             MetricType::Gauge, s->start_time_seconds),
  };
}

}  // namespace dwae::server
