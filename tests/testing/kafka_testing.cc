#include "tests/testing/kafka_testing.h"

#include <librdkafka/rdkafkacpp.h>
#include <signal.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace dwae::testutil {
namespace {

std::unique_ptr<RdKafka::Conf> Conf(const std::string& bootstrap) {
  std::unique_ptr<RdKafka::Conf> conf(
      RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  conf->set("bootstrap.servers", bootstrap, error);
  conf->set("log_level", "3", error);
  return conf;
}

}  // namespace

bool MockKafka::SetBrokersDown(bool down) {
  const std::string ack = down ? "brokers down" : "brokers up";
  const size_t before = absl::StrContains(process->stdout_so_far(), ack)
                            ? process->stdout_so_far().size()
                            : 0;
  process->Signal(down ? SIGUSR1 : SIGUSR2);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    const std::string out = process->stdout_so_far();
    if (out.find(ack, before) != std::string::npos) return true;
    process->WaitForOutput("\x01", absl::Milliseconds(50));
  }
  return false;
}

absl::StatusOr<MockKafka> StartMockKafka(const std::string& path,
                                         const std::vector<std::string>& topics,
                                         int brokers) {
  std::vector<std::string> argv = {path, absl::StrCat("--brokers=", brokers)};
  argv.insert(argv.end(), topics.begin(), topics.end());
  absl::StatusOr<std::unique_ptr<Subprocess>> p = Subprocess::Start(argv);
  if (!p.ok()) return p.status();
  MockKafka mock;
  mock.process = *std::move(p);
  if (!mock.process->WaitForOutput("\n", absl::Seconds(15))) {
    return absl::UnavailableError(absl::StrCat("mock cluster did not start: ",
                                               mock.process->stderr_so_far()));
  }
  std::string line = mock.process->stdout_so_far();
  line = line.substr(0, line.find('\n'));
  absl::string_view bootstrap = line;
  if (!absl::ConsumePrefix(&bootstrap, "bootstrap: ")) {
    return absl::UnavailableError(absl::StrCat("mock cluster said: ", line));
  }
  mock.bootstrap = std::string(bootstrap);
  return mock;
}

absl::Status ProduceLines(const std::string& bootstrap,
                          const std::string& topic, int partitions,
                          const std::vector<std::string>& lines, size_t begin,
                          size_t end) {
  std::unique_ptr<RdKafka::Conf> conf = Conf(bootstrap);
  std::string error;
  conf->set("linger.ms", "5", error);
  conf->set("enable.idempotence", "true", error);
  conf->set("queue.buffering.max.messages", "1000000", error);
  std::unique_ptr<RdKafka::Producer> producer(
      RdKafka::Producer::create(conf.get(), error));
  if (producer == nullptr) return absl::InternalError(error);
  end = std::min(end, lines.size());
  for (size_t i = begin; i < end; ++i) {
    const int32_t partition = int32_t(i % size_t(partitions));
    const std::string key = absl::StrCat("sensor-", partition);
    for (;;) {
      const RdKafka::ErrorCode err =
          producer->produce(topic, partition, RdKafka::Producer::RK_MSG_COPY,
                            const_cast<char*>(lines[i].data()), lines[i].size(),
                            key.data(), key.size(), 0, nullptr);
      if (err == RdKafka::ERR__QUEUE_FULL) {
        producer->poll(10);
        continue;
      }
      if (err != RdKafka::ERR_NO_ERROR) {
        return absl::InternalError(RdKafka::err2str(err));
      }
      break;
    }
  }
  if (producer->flush(60000) != RdKafka::ERR_NO_ERROR) {
    return absl::DeadlineExceededError("produce: flush timed out");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<KafkaMessage>> ReadTopic(
    const std::string& bootstrap, const std::string& topic, int partitions,
    size_t count, absl::Duration timeout, absl::Duration idle) {
  std::unique_ptr<RdKafka::Conf> conf = Conf(bootstrap);
  std::string error;
  conf->set("group.id", "dwae-test-reader", error);
  conf->set("enable.auto.commit", "false", error);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(
      RdKafka::KafkaConsumer::create(conf.get(), error));
  if (consumer == nullptr) return absl::InternalError(error);
  std::vector<RdKafka::TopicPartition*> tps;
  for (int p = 0; p < partitions; ++p) {
    tps.push_back(RdKafka::TopicPartition::create(
        topic, p, RdKafka::Topic::OFFSET_BEGINNING));
  }
  consumer->assign(tps);
  RdKafka::TopicPartition::destroy(tps);
  std::vector<KafkaMessage> out;
  const absl::Time deadline = absl::Now() + timeout;
  absl::Time last = absl::Now();
  while (absl::Now() < deadline) {
    if (out.size() >= count && absl::Now() - last >= idle) break;
    std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;
    last = absl::Now();
    KafkaMessage k;
    k.partition = m->partition();
    k.offset = m->offset();
    if (m->key() != nullptr) k.key = *m->key();
    k.value.assign(static_cast<const char*>(m->payload()), m->len());
    out.push_back(std::move(k));
  }
  consumer->close();
  return out;
}

}  // namespace dwae::testutil
