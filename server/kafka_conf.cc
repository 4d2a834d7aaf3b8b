#include "server/kafka_conf.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace dwae::server {

absl::Status SetKafkaProperty(RdKafka::Conf* conf, const std::string& key,
                              const std::string& value) {
  std::string error;
  if (conf->set(key, value, error) != RdKafka::Conf::CONF_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("kafka property ", key, "=", value, ": ", error));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeKafkaConf(
    const KafkaOptions& options,
    const std::vector<std::pair<std::string, std::string>>& defaults) {
  std::unique_ptr<RdKafka::Conf> conf(
      RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  if (absl::Status s =
          SetKafkaProperty(conf.get(), "bootstrap.servers", options.brokers);
      !s.ok()) {
    return s;
  }
  for (const auto& props : {defaults, options.properties}) {
    for (const auto& [key, value] : props) {
      if (absl::Status s = SetKafkaProperty(conf.get(), key, value); !s.ok()) {
        return s;
      }
    }
  }
  return conf;
}

void RateLimitedLog::Log(const std::string& message) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  if (now - window_start_ >= interval_) {
    if (suppressed_ > 0) {
      std::fprintf(stderr, "dwaed: kafka: %llu similar messages not logged\n",
                   static_cast<unsigned long long>(suppressed_));
    }
    window_start_ = now;
    in_window_ = 0;
    suppressed_ = 0;
  }
  if (in_window_ >= per_interval_) {
    ++suppressed_;
    return;
  }
  ++in_window_;
  std::fprintf(stderr, "dwaed: kafka: %s\n", message.c_str());
}

}  // namespace dwae::server
