// The standard process_* metrics that every Prometheus client library
// exports (prometheus-cpp 1.0.1 has no process collector): CPU time,
// resident and virtual memory, open and maximum file descriptors, and the
// start time, read from /proc at scrape time, so they cost nothing between
// scrapes.
//
// Thread-safety: ReadProcessStats and ProcessCollector::Collect may be called
// from any thread (the metrics HTTP server calls Collect on its own).
#ifndef DWAE_SERVER_PROCESS_METRICS_H_
#define DWAE_SERVER_PROCESS_METRICS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace dwae::server {

struct ProcessStats {
  double cpu_seconds = 0;         // user + system
  double resident_bytes = 0;      // RSS
  double virtual_bytes = 0;       // address space
  double open_fds = 0;            // entries of /proc/<pid>/fd
  double max_fds = 0;             // soft RLIMIT_NOFILE
  double start_time_seconds = 0;  // since the Unix epoch
};

// Reads the stats of the process whose /proc directory is `proc_dir`
// (/proc/self, or /proc/<pid>); `proc_root` holds `stat` with the boot time.
// max_fds is this process's own limit. Errors name the file and the reason.
absl::StatusOr<ProcessStats> ReadProcessStats(
    const std::string& proc_dir = "/proc/self",
    const std::string& proc_root = "/proc");

// Parses the fields of a /proc/<pid>/stat line that ReadProcessStats needs;
// `ticks_per_second` and `page_bytes` from sysconf, `boot_time_seconds` the
// `btime` of /proc/stat.
absl::StatusOr<ProcessStats> ParseProcStat(const std::string& stat_line,
                                           double ticks_per_second,
                                           double page_bytes,
                                           double boot_time_seconds);

// The process_* families of this process, for Exposer::RegisterCollectable.
// A scrape that cannot read /proc returns no process_* families (and the
// dwae_* ones still go out).
class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace dwae::server

#endif  // DWAE_SERVER_PROCESS_METRICS_H_
