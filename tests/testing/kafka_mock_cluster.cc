// kafka_mock_cluster: a standalone Kafka cluster for tests and benchmarks,
// librdkafka's mock cluster (librdkafka/rdkafka_mock.h) owned by this small
// process, so that real dwaed processes, kcat and the test itself talk to
// it over loopback like to any broker.
//
//   kafka_mock_cluster [--brokers=N] TOPIC:PARTITIONS...
//
// Creates the topics, prints "bootstrap: HOST:PORT,..." on stdout and
// serves until SIGTERM/SIGINT. SIGUSR1 takes every broker down (their
// connections drop and new ones are refused), SIGUSR2 brings them back; each
// change is acknowledged with a "brokers down" / "brokers up" line.
//
// The mock API is marked experimental: this builds against Debian's
// librdkafka 2.0.2 (docs/kafka.md, "Testing").
#include <librdkafka/rdkafka.h>
// rdkafka_mock.h needs rdkafka.h first.
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "kafka_mock_cluster: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 1;
  std::vector<std::pair<std::string, int>> topics;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--brokers=", 0) == 0) {
      brokers = std::atoi(arg.c_str() + 10);
      continue;
    }
    const size_t colon = arg.rfind(':');
    const int partitions =
        colon == std::string::npos ? 0 : std::atoi(arg.c_str() + colon + 1);
    if (partitions <= 0 || colon == 0) {
      return Fail(
          "usage: kafka_mock_cluster [--brokers=N] TOPIC:PARTITIONS...");
    }
    topics.emplace_back(arg.substr(0, colon), partitions);
  }
  if (brokers < 1) return Fail("--brokers: at least 1");

  // Signals are taken synchronously by sigwait below.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", error, sizeof(error));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (rk == nullptr) return Fail(error);
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (cluster == nullptr) return Fail("cannot create the mock cluster");
  for (const auto& [name, partitions] : topics) {
    const rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(
        cluster, name.c_str(), partitions, std::min(brokers, 3));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return Fail("topic " + name + ": " + rd_kafka_err2str(err));
    }
  }
  std::printf("bootstrap: %s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  std::fflush(stdout);

  for (;;) {
    int signal = 0;
    sigwait(&signals, &signal);
    if (signal == SIGUSR1 || signal == SIGUSR2) {
      for (int b = 1; b <= brokers; ++b) {
        if (signal == SIGUSR1) {
          rd_kafka_mock_broker_set_down(cluster, b);
        } else {
          rd_kafka_mock_broker_set_up(cluster, b);
        }
      }
      std::printf("brokers %s\n", signal == SIGUSR1 ? "down" : "up");
      std::fflush(stdout);
      continue;
    }
    break;
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
