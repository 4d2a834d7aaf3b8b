// Tests of dwae::server::Metrics through the real /metrics HTTP endpoint.
//
// One Metrics (listening on 127.0.0.1, port 0) is shared by the whole suite
// because destroying a prometheus::Exposer takes about 2 s. Each family is
// therefore touched by one test only, or checked through differences.
#include "server/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/http_get.h"

namespace dwae {
namespace server {
namespace {

using ::dwae::testutil::HttpGet;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

// One scrape of /metrics; a missing series fails the test that asks.
struct Scrape : testutil::MetricsScrape {
  double Value(const std::string& series) const {
    EXPECT_TRUE(Has(series)) << "no sample " << series;
    return Has(series) ? MetricsScrape::Value(series) : -1;
  }
};

// prometheus::Exposer always serves its own families about the scrapes
// themselves (prometheus-cpp 1.0 offers no way to turn them off). They are
// the library's, not ours, so the naming checks skip exactly these.
bool IsExposerOwned(const std::string& name) {
  static const std::set<std::string>* const kExposerFamilies =
      new std::set<std::string>{
          "exposer_transferred_bytes_total", "exposer_scrapes_total",
          "exposer_request_latencies", "exposer_request_latencies_count",
          "exposer_request_latencies_sum"};
  return kExposerFamilies->count(name) > 0;
}

// The standard process_* families (server/process_metrics.h) keep the names
// every Prometheus exporter uses, not the dwae_ prefix.
bool IsProcessFamily(const std::string& name) {
  return name.rfind("process_", 0) == 0;
}

// Families named by others: the exposer's and the process_* ones.
bool IsStandardFamily(const std::string& name) {
  return IsExposerOwned(name) || IsProcessFamily(name);
}

class MetricsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    MetricsOptions options;
    options.listen = "127.0.0.1:0";
    options.build_version = "1.2.3-test";
    options.rule = "sign";
    options.rpc_methods = {"Score", "Stream", "Status"};
    options.num_layers = 2;
    auto created = Metrics::Create(options);
    ASSERT_TRUE(created.ok()) << created.status();
    metrics_ = created->release();
  }
  static void TearDownTestSuite() {
    delete metrics_;
    metrics_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(metrics_, nullptr); }

  static Scrape DoScrape() {
    const std::string response =
        testutil::HttpGet(metrics_->port(), "/metrics");
    EXPECT_THAT(response, HasSubstr(" 200 "));
    Scrape scrape;
    static_cast<testutil::MetricsScrape&>(scrape) =
        testutil::ParseMetricsText(testutil::HttpBody(response));
    return scrape;
  }

  static Metrics* metrics_;
};

Metrics* MetricsTest::metrics_ = nullptr;

TEST_F(MetricsTest, BindsARealPort) { EXPECT_GT(metrics_->port(), 0); }

TEST_F(MetricsTest, ExposesEveryFamilyWithItsType) {
  const std::map<std::string, std::string> expected = {
      {"dwae_records_total", "counter"},
      {"dwae_confusion_total", "counter"},
      {"dwae_detection_rate", "gauge"},
      {"dwae_false_alarm_rate", "gauge"},
      {"dwae_synapse_pulses_total", "counter"},
      {"dwae_synapse_level_changes_total", "counter"},
      {"dwae_synapse_write_failures_total", "counter"},
      {"dwae_synapse_overshoots_total", "counter"},
      {"dwae_write_energy_joules_total", "counter"},
      {"dwae_float_equivalent_updates_total", "counter"},
      {"dwae_learning_steps_total", "counter"},
      {"dwae_learning_enabled", "gauge"},
      {"dwae_warming_up", "gauge"},
      {"dwae_threshold", "gauge"},
      {"dwae_model_version", "gauge"},
      {"dwae_model_ensemble_members", "gauge"},
      {"dwae_score", "histogram"},
      {"dwae_rpc_duration_seconds", "histogram"},
      {"dwae_rpc_errors_total", "counter"},
      {"dwae_stream_batch_duration_seconds", "histogram"},
      {"dwae_learn_queue_depth", "gauge"},
      {"dwae_learn_queue_capacity", "gauge"},
      {"dwae_learn_dropped_total", "counter"},
      {"dwae_checkpoint_duration_seconds", "histogram"},
      {"dwae_checkpoint_failures_total", "counter"},
      {"dwae_checkpoint_last_success_timestamp_seconds", "gauge"},
      {"dwae_checkpoint_age_seconds", "gauge"},
      {"dwae_build_info", "gauge"},
  };
  const Scrape scrape = DoScrape();
  std::map<std::string, std::string> ours, process;
  for (const auto& [name, type] : scrape.types) {
    if (IsProcessFamily(name)) process[name] = type;
    if (!IsStandardFamily(name)) ours[name] = type;
  }
  EXPECT_EQ(ours, expected);
  const std::map<std::string, std::string> expected_process = {
      {"process_cpu_seconds_total", "counter"},
      {"process_resident_memory_bytes", "gauge"},
      {"process_virtual_memory_bytes", "gauge"},
      {"process_open_fds", "gauge"},
      {"process_max_fds", "gauge"},
      {"process_start_time_seconds", "gauge"},
  };
  EXPECT_EQ(process, expected_process);
  EXPECT_GT(scrape.Value("process_resident_memory_bytes"), 0);
  EXPECT_GT(scrape.Value("process_open_fds"), 0);
}

TEST_F(MetricsTest, NamesFollowConventions) {
  const Scrape scrape = DoScrape();
  ASSERT_FALSE(scrape.types.empty());
  for (const auto& [name, type] : scrape.types) {
    if (IsStandardFamily(name)) continue;
    EXPECT_THAT(name, MatchesRegex("dwae_[a-z][a-z0-9_]*"));
    if (type == "counter") {
      EXPECT_THAT(name, EndsWith("_total"));
    } else {
      EXPECT_THAT(name, Not(EndsWith("_total")));
    }
  }
  // Every series belongs to a dwae_ family and uses only the bounded label
  // names (no per-record or per-client labels).
  const std::set<std::string> allowed = {"verdict", "outcome", "window",
                                         "layer",   "part",    "method",
                                         "le",      "version", "rule"};
  for (const auto& [series, value] : scrape.samples) {
    const size_t brace = series.find('{');
    if (IsStandardFamily(series.substr(0, brace))) continue;
    EXPECT_THAT(series, StartsWith("dwae_"));
    if (brace == std::string::npos) continue;
    // Labels print as {a="x",b="y"}; values here contain no quotes.
    size_t pos = brace + 1;
    while (pos < series.size() && series[pos] != '}') {
      const size_t eq = series.find("=\"", pos);
      ASSERT_NE(eq, std::string::npos) << series;
      EXPECT_EQ(allowed.count(series.substr(pos, eq - pos)), 1u) << series;
      const size_t close = series.find('"', eq + 2);
      ASSERT_NE(close, std::string::npos) << series;
      pos = close + 1;
      if (pos < series.size() && series[pos] == ',') ++pos;
    }
  }
}

TEST_F(MetricsTest, PreCreatesLabelledChildrenAndBuildInfo) {
  const Scrape scrape = DoScrape();
  for (const char* verdict : {"normal", "anomaly", "invalid"}) {
    EXPECT_EQ(scrape.samples.count(absl::StrCat("dwae_records_total{verdict=\"",
                                                verdict, "\"}")),
              1u)
        << verdict;
  }
  for (const char* layer : {"0", "1"}) {
    for (const char* part : {"weights", "biases"}) {
      EXPECT_EQ(scrape.samples.count(
                    absl::StrCat("dwae_synapse_pulses_total{layer=\"", layer,
                                 "\",part=\"", part, "\"}")),
                1u);
    }
  }
  EXPECT_EQ(scrape.samples.count(
                "dwae_synapse_pulses_total{layer=\"2\",part=\"weights\"}"),
            0u);
  for (const char* method : {"Score", "Stream", "Status"}) {
    EXPECT_EQ(scrape.samples.count(absl::StrCat(
                  "dwae_rpc_duration_seconds_count{method=\"", method, "\"}")),
              1u);
    EXPECT_EQ(scrape.samples.count(absl::StrCat(
                  "dwae_rpc_errors_total{method=\"", method, "\"}")),
              1u);
  }
  EXPECT_EQ(
      scrape.Value("dwae_build_info{rule=\"sign\",version=\"1.2.3-test\"}"), 1);
  // Score buckets: log-spaced from 1e-5 to 10.
  EXPECT_EQ(scrape.samples.count("dwae_score_bucket{le=\"1e-05\"}"), 1u);
  EXPECT_EQ(scrape.samples.count("dwae_score_bucket{le=\"10\"}"), 1u);
  EXPECT_EQ(scrape.samples.count("dwae_score_bucket{le=\"+Inf\"}"), 1u);
  EXPECT_EQ(scrape.samples.count("dwae_score_bucket{le=\"2.15e-05\"}"), 1u);
  // RPC buckets: 50 us to 10 s.
  EXPECT_EQ(scrape.samples.count("dwae_rpc_duration_seconds_bucket{"
                                 "method=\"Score\",le=\"5e-05\"}"),
            1u);
  EXPECT_EQ(scrape.samples.count("dwae_rpc_duration_seconds_bucket{"
                                 "method=\"Score\",le=\"10\"}"),
            1u);
}

TEST_F(MetricsTest, RecordCountersMatchObservations) {
  const Scrape before = DoScrape();
  for (int i = 0; i < 7; ++i) metrics_->records(Verdict::kNormal).Increment();
  for (int i = 0; i < 3; ++i) metrics_->records(Verdict::kAnomaly).Increment();
  metrics_->records(Verdict::kInvalid).Increment();
  metrics_->score().Observe(2e-5);
  metrics_->score().Observe(0.5);
  const Scrape after = DoScrape();
  auto delta = [&](const std::string& series) {
    return after.Value(series) - before.Value(series);
  };
  EXPECT_EQ(delta("dwae_records_total{verdict=\"normal\"}"), 7);
  EXPECT_EQ(delta("dwae_records_total{verdict=\"anomaly\"}"), 3);
  EXPECT_EQ(delta("dwae_records_total{verdict=\"invalid\"}"), 1);
  EXPECT_EQ(delta("dwae_score_count"), 2);
  EXPECT_EQ(delta("dwae_score_bucket{le=\"1e-05\"}"), 0);
  EXPECT_EQ(delta("dwae_score_bucket{le=\"10\"}"), 2);
}

// The only test that calls ObserveLabelled: the rates are exact.
TEST_F(MetricsTest, ConfusionAndRatesBothWindows) {
  Scrape scrape = DoScrape();
  EXPECT_EQ(scrape.Value("dwae_detection_rate{window=\"cumulative\"}"), 0);
  EXPECT_EQ(scrape.Value("dwae_false_alarm_rate{window=\"recent\"}"), 0);

  // Hand example: 3 tp, 1 fn, 2 fp, 4 tn, in this order.
  const bool kPredicted[] = {true, true,  true,  false, true,
                             true, false, false, false, false};
  const bool kActual[] = {true,  true,  true,  true,  false,
                          false, false, false, false, false};
  for (int i = 0; i < 10; ++i)
    metrics_->ObserveLabelled(kPredicted[i], kActual[i]);
  scrape = DoScrape();
  EXPECT_EQ(scrape.Value("dwae_confusion_total{outcome=\"tp\"}"), 3);
  EXPECT_EQ(scrape.Value("dwae_confusion_total{outcome=\"fn\"}"), 1);
  EXPECT_EQ(scrape.Value("dwae_confusion_total{outcome=\"fp\"}"), 2);
  EXPECT_EQ(scrape.Value("dwae_confusion_total{outcome=\"tn\"}"), 4);
  for (const char* window : {"cumulative", "recent"}) {
    SCOPED_TRACE(window);
    EXPECT_NEAR(scrape.Value(absl::StrCat("dwae_detection_rate{window=\"",
                                          window, "\"}")),
                3.0 / 4, 1e-12);
    EXPECT_NEAR(scrape.Value(absl::StrCat("dwae_false_alarm_rate{window=\"",
                                          window, "\"}")),
                2.0 / 6, 1e-12);
  }

  // Then cycles of (tp, fn, fn, tn, fp). After 1999 cycles (9995 records)
  // the recent window holds the last 5 hand records (fp, tn, tn, tn, tn)
  // and all the new ones.
  auto cycle = [] {
    metrics_->ObserveLabelled(true, true);    // tp
    metrics_->ObserveLabelled(false, true);   // fn
    metrics_->ObserveLabelled(false, true);   // fn
    metrics_->ObserveLabelled(false, false);  // tn
    metrics_->ObserveLabelled(true, false);   // fp
  };
  for (int i = 0; i < 1999; ++i) cycle();
  scrape = DoScrape();
  EXPECT_NEAR(scrape.Value("dwae_detection_rate{window=\"recent\"}"),
              1999.0 / (1999 + 3998), 1e-12);
  EXPECT_NEAR(scrape.Value("dwae_false_alarm_rate{window=\"recent\"}"),
              2000.0 / (2000 + 2003), 1e-12);
  EXPECT_NEAR(scrape.Value("dwae_detection_rate{window=\"cumulative\"}"),
              2002.0 / (2002 + 3999), 1e-12);
  EXPECT_NEAR(scrape.Value("dwae_false_alarm_rate{window=\"cumulative\"}"),
              2001.0 / (2001 + 2003), 1e-12);

  // One more cycle: the window holds only the 10000 new records.
  cycle();
  scrape = DoScrape();
  EXPECT_NEAR(scrape.Value("dwae_detection_rate{window=\"recent\"}"), 1.0 / 3,
              1e-12);
  EXPECT_NEAR(scrape.Value("dwae_false_alarm_rate{window=\"recent\"}"), 0.5,
              1e-12);
  EXPECT_NEAR(scrape.Value("dwae_detection_rate{window=\"cumulative\"}"),
              2003.0 / (2003 + 4001), 1e-12);
  EXPECT_NEAR(scrape.Value("dwae_false_alarm_rate{window=\"cumulative\"}"),
              2002.0 / (2002 + 2004), 1e-12);
  EXPECT_EQ(scrape.Value("dwae_confusion_total{outcome=\"tp\"}"), 2003);
  EXPECT_EQ(scrape.Value("dwae_confusion_total{outcome=\"fn\"}"), 4001);
  EXPECT_EQ(scrape.Value("dwae_confusion_total{outcome=\"fp\"}"), 2002);
  EXPECT_EQ(scrape.Value("dwae_confusion_total{outcome=\"tn\"}"), 2004);

  const ConfusionCounts recent = metrics_->RecentConfusion();
  EXPECT_EQ(recent.tp + recent.fp + recent.tn + recent.fn,
            static_cast<uint64_t>(Metrics::kRecentWindow));
  EXPECT_EQ(metrics_->CumulativeConfusion().fn, 4001u);
}

TEST_F(MetricsTest, SetDeviceCountersAdvancesByDifferencesNeverDown) {
  const std::string pulses =
      "dwae_synapse_pulses_total{layer=\"1\",part=\"biases\"}";
  const std::string energy =
      "dwae_write_energy_joules_total{layer=\"1\",part=\"biases\"}";
  const std::string failures =
      "dwae_synapse_write_failures_total{layer=\"1\",part=\"biases\"}";
  const std::string other =
      "dwae_synapse_pulses_total{layer=\"1\",part=\"weights\"}";

  // Restored totals are added whole on the first call.
  metrics_->SetDeviceCounters(1, true, 100, 50, 5, 2, 1e-9);
  Scrape scrape = DoScrape();
  EXPECT_EQ(scrape.Value(pulses), 100);
  EXPECT_EQ(scrape.Value(failures), 5);
  EXPECT_NEAR(scrape.Value(energy), 1e-9, 1e-21);
  EXPECT_EQ(scrape.Value(other), 0);

  metrics_->SetDeviceCounters(1, true, 150, 60, 5, 3, 3e-9);
  scrape = DoScrape();
  EXPECT_EQ(scrape.Value(pulses), 150);
  EXPECT_EQ(
      scrape.Value(
          "dwae_synapse_level_changes_total{layer=\"1\",part=\"biases\"}"),
      60);
  EXPECT_EQ(scrape.Value(
                "dwae_synapse_overshoots_total{layer=\"1\",part=\"biases\"}"),
            3);
  EXPECT_NEAR(scrape.Value(energy), 3e-9, 1e-21);

  // A model reset: the totals drop. The counters stay put...
  metrics_->SetDeviceCounters(1, true, 40, 10, 1, 0, 1e-9);
  scrape = DoScrape();
  EXPECT_EQ(scrape.Value(pulses), 150);
  EXPECT_EQ(scrape.Value(failures), 5);
  EXPECT_NEAR(scrape.Value(energy), 3e-9, 1e-21);
  // ...and count growth from the new baseline.
  metrics_->SetDeviceCounters(1, true, 60, 10, 2, 0, 2e-9);
  scrape = DoScrape();
  EXPECT_EQ(scrape.Value(pulses), 170);
  EXPECT_EQ(scrape.Value(failures), 6);
  EXPECT_NEAR(scrape.Value(energy), 4e-9, 1e-21);

  // Out-of-range layers are ignored in release builds; not exercised here
  // because they assert in debug builds.
}

TEST_F(MetricsTest, SetLearningCountersAdvancesByDifferences) {
  metrics_->SetLearningCounters(10, 1000);
  metrics_->SetLearningCounters(12, 1200);
  metrics_->SetLearningCounters(3, 300);  // reset: ignored
  metrics_->SetLearningCounters(5, 500);  // +2 steps, +200 updates
  const Scrape scrape = DoScrape();
  EXPECT_EQ(scrape.Value("dwae_learning_steps_total"), 14);
  EXPECT_EQ(scrape.Value("dwae_float_equivalent_updates_total"), 1400);
}

TEST_F(MetricsTest, GaugesRpcsQueueAndCheckpoints) {
  metrics_->SetLearningEnabled(true);
  metrics_->SetWarmingUp(false);
  metrics_->threshold().Set(0.0125);
  metrics_->model_version().Set(7);
  metrics_->learn_queue_capacity().Set(1024);
  metrics_->learn_queue_depth().Set(17);
  metrics_->learn_dropped().Increment(4);

  const RpcMetrics* score_rpc = metrics_->rpc("Score");
  ASSERT_NE(score_rpc, nullptr);
  EXPECT_EQ(metrics_->rpc("NoSuchMethod"), nullptr);
  score_rpc->duration.Observe(0.002);
  score_rpc->errors.Increment();

  const absl::Time t0 = absl::FromUnixSeconds(1700000000);
  metrics_->RecordCheckpointSuccess(t0, absl::Milliseconds(250));
  metrics_->RecordCheckpointFailure(absl::Seconds(2));
  metrics_->UpdateCheckpointAge(t0 + absl::Seconds(90));

  const Scrape scrape = DoScrape();
  EXPECT_EQ(scrape.Value("dwae_learning_enabled"), 1);
  EXPECT_EQ(scrape.Value("dwae_warming_up"), 0);
  EXPECT_EQ(scrape.Value("dwae_threshold"), 0.0125);
  EXPECT_EQ(scrape.Value("dwae_model_version"), 7);
  EXPECT_EQ(scrape.Value("dwae_learn_queue_capacity"), 1024);
  EXPECT_EQ(scrape.Value("dwae_learn_queue_depth"), 17);
  EXPECT_EQ(scrape.Value("dwae_learn_dropped_total"), 4);
  EXPECT_EQ(scrape.Value("dwae_rpc_duration_seconds_count{method=\"Score\"}"),
            1);
  EXPECT_EQ(scrape.Value("dwae_rpc_duration_seconds_count{method=\"Stream\"}"),
            0);
  EXPECT_EQ(scrape.Value("dwae_rpc_errors_total{method=\"Score\"}"), 1);
  EXPECT_EQ(scrape.Value("dwae_checkpoint_duration_seconds_count"), 2);
  EXPECT_EQ(scrape.Value("dwae_checkpoint_failures_total"), 1);
  EXPECT_EQ(scrape.Value("dwae_checkpoint_last_success_timestamp_seconds"),
            1700000000);
  EXPECT_EQ(scrape.Value("dwae_checkpoint_age_seconds"), 90);
}

TEST_F(MetricsTest, CreateOnBusyPortFailsNamingTheAddress) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string address = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));

  MetricsOptions options;
  options.listen = address;
  auto created = Metrics::Create(options);
  close(fd);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(created.status().message(), HasSubstr(address));
}

TEST_F(MetricsTest, CreateOnTheSuitesPortFails) {
  MetricsOptions options;
  options.listen = absl::StrCat("127.0.0.1:", metrics_->port());
  auto created = Metrics::Create(options);
  ASSERT_FALSE(created.ok());
  EXPECT_THAT(created.status().message(), HasSubstr(options.listen));
}

TEST(MetricsOptionsTest, RejectsBadOptionsWithoutListening) {
  MetricsOptions options;
  options.listen = "";
  options.num_layers = 0;
  EXPECT_EQ(Metrics::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.num_layers = 1;
  options.rpc_methods = {"Score", "Score"};
  EXPECT_EQ(Metrics::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.rpc_methods = {"Score"};
  auto created = Metrics::Create(options);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ((*created)->port(), 0);
  (*created)->records(Verdict::kAnomaly).Increment();
  EXPECT_EQ((*created)->records(Verdict::kAnomaly).Value(), 1);
}

}  // namespace
}  // namespace server
}  // namespace dwae
