// The process_* metrics: parsing of /proc/<pid>/stat, and the values read
// for this very process, checked against what the test itself knows (its
// open descriptors, its limits, the time it started).
#include "server/process_metrics.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dwae::server {
namespace {

using ::testing::HasSubstr;

TEST(ParseProcStatTest, ReadsTheFieldsAfterTheCommandName) {
  // A command name with spaces and a ')' of its own; utime 250 and stime 150
  // ticks, start 1000 ticks after boot, 4 MiB virtual, 300 pages resident.
  const std::string line =
      "4242 (dw ae) d) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 "
      "3 0 1000 4194304 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 "
      "1 0 0 0 0 0";
  const absl::StatusOr<ProcessStats> s =
      ParseProcStat(line, /*ticks_per_second=*/100, /*page_bytes=*/4096,
                    /*boot_time_seconds=*/1700000000);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_DOUBLE_EQ(s->cpu_seconds, 4.0);
  EXPECT_DOUBLE_EQ(s->start_time_seconds, 1700000010.0);
  EXPECT_DOUBLE_EQ(s->virtual_bytes, 4194304.0);
  EXPECT_DOUBLE_EQ(s->resident_bytes, 300.0 * 4096);
}

TEST(ParseProcStatTest, TruncatedLinesNameTheField) {
  const absl::StatusOr<ProcessStats> s =
      ParseProcStat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 5", 100, 4096, 0);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("field 15"));
  EXPECT_FALSE(ParseProcStat("no parenthesis", 100, 4096, 0).ok());
}

TEST(ReadProcessStatsTest, DescribesThisProcess) {
  const absl::StatusOr<ProcessStats> before = ReadProcessStats();
  ASSERT_TRUE(before.ok()) << before.status();
  // Two more descriptors, counted by the next read.
  const int a = open("/dev/null", O_RDONLY);
  const int b = open("/dev/null", O_RDONLY);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  const absl::StatusOr<ProcessStats> after = ReadProcessStats();
  close(a);
  close(b);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->open_fds, before->open_fds + 2);
  EXPECT_GE(before->open_fds, 3);  // stdin, stdout, stderr at least

  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  EXPECT_EQ(after->max_fds, double(limit.rlim_cur));
  EXPECT_GT(after->resident_bytes, 1 << 20);
  EXPECT_GE(after->virtual_bytes, after->resident_bytes);
  EXPECT_GE(after->cpu_seconds, 0);
  const double now = absl::ToUnixSeconds(absl::Now());
  EXPECT_LE(after->start_time_seconds, now + 1);
  EXPECT_GT(after->start_time_seconds, now - 3600);  // started this hour
}

TEST(ProcessCollectorTest, ExportsTheStandardFamilies) {
  const std::vector<prometheus::MetricFamily> families =
      ProcessCollector().Collect();
  std::vector<std::string> names;
  for (const prometheus::MetricFamily& f : families) {
    names.push_back(f.name);
    ASSERT_EQ(f.metric.size(), 1u) << f.name;
  }
  EXPECT_THAT(names,
              ::testing::UnorderedElementsAre(
                  "process_cpu_seconds_total", "process_resident_memory_bytes",
                  "process_virtual_memory_bytes", "process_open_fds",
                  "process_max_fds", "process_start_time_seconds"));
}

TEST(ReadProcessStatsTest, MissingProcDirectoryIsAnError) {
  const absl::StatusOr<ProcessStats> s =
      ReadProcessStats("/nonexistent/proc/1");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("/nonexistent/proc/1/stat"));
}

}  // namespace
}  // namespace dwae::server
