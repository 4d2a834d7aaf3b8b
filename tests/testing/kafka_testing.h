// Kafka helpers for tests and benchmarks: start the standalone mock cluster
// (tests/testing/kafka_mock_cluster.cc), produce lines to a topic, read a
// whole topic back.
//
// Thread-safety: plain functions; a MockKafka is used from one thread.
#ifndef DWAE_TESTS_TESTING_KAFKA_TESTING_H_
#define DWAE_TESTS_TESTING_KAFKA_TESTING_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/testing/subprocess.h"

namespace dwae::testutil {

struct MockKafka {
  std::unique_ptr<Subprocess> process;
  std::string bootstrap;  // host:port,...

  // SIGUSR1 / SIGUSR2 to the mock: every broker down / up; waits for the
  // acknowledgement.
  bool SetBrokersDown(bool down);
};

// Starts `path` with `topics` ("NAME:PARTITIONS") and `brokers` brokers and
// waits for its bootstrap line.
absl::StatusOr<MockKafka> StartMockKafka(const std::string& path,
                                         const std::vector<std::string>& topics,
                                         int brokers = 1);

// Produces lines[i] to partition i % partitions of `topic`, keyed
// "sensor-<partition>", and waits for every delivery.
absl::Status ProduceLines(const std::string& bootstrap,
                          const std::string& topic, int partitions,
                          const std::vector<std::string>& lines,
                          size_t begin = 0, size_t end = SIZE_MAX);

struct KafkaMessage {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
};

// Reads every partition of `topic` from the beginning until `count`
// messages arrived and no more came for `idle`, or `timeout` passed.
absl::StatusOr<std::vector<KafkaMessage>> ReadTopic(
    const std::string& bootstrap, const std::string& topic, int partitions,
    size_t count, absl::Duration timeout, absl::Duration idle);

}  // namespace dwae::testutil

#endif  // DWAE_TESTS_TESTING_KAFKA_TESTING_H_
