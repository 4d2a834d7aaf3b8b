#include "server/kafka_verdicts.h"

#include <librdkafka/rdkafkacpp.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/kafka_conf.h"

namespace dwae::server {
namespace {

std::string Rfc3339(const google::protobuf::Timestamp& t) {
  const absl::Time time =
      absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
}

// How long Produce waits for room in a full local queue before retrying.
constexpr int kFullQueuePollMs = 100;

}  // namespace

std::string VerdictToJson(const v1::Verdict& v, const KafkaSource& source) {
  nlohmann::json j;
  j["id"] = v.id();
  j["sensor_id"] = v.sensor_id();
  j["score"] = v.score();
  // JSON has no infinity: the threshold is null while warming up.
  j["threshold"] = std::isfinite(v.threshold()) ? nlohmann::json(v.threshold())
                                                : nlohmann::json(nullptr);
  j["anomalous"] = v.anomalous();
  nlohmann::json top = nlohmann::json::array();
  for (const v1::FeatureDeviation& f : v.top_features()) {
    top.push_back({{"feature", f.feature()},
                   {"squared_error", f.squared_error()},
                   {"value", f.value()},
                   {"reconstruction", f.reconstruction()}});
  }
  j["top_features"] = std::move(top);
  if (!v.label().empty()) j["label"] = v.label();
  j["model_version"] = v.model_version();
  j["scored_at"] = Rfc3339(v.scored_at());
  j["source"] = {{"topic", std::string(source.topic)},
                 {"partition", source.partition},
                 {"offset", source.offset}};
  return j.dump();
}

class VerdictProducer::DeliveryReports : public RdKafka::DeliveryReportCb {
 public:
  explicit DeliveryReports(VerdictProducer* owner) : owner_(owner) {}
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() == RdKafka::ERR_NO_ERROR) {
      ++owner_->delivered_;
      return;
    }
    ++owner_->failed_;
    log_.Log(absl::StrCat("verdict not delivered to ", message.topic_name(),
                          ": ", message.errstr()));
  }

 private:
  VerdictProducer* const owner_;
  RateLimitedLog log_{5, absl::Seconds(10)};
};

absl::StatusOr<std::unique_ptr<VerdictProducer>> VerdictProducer::Create(
    const KafkaOptions& options) {
  std::unique_ptr<VerdictProducer> p(new VerdictProducer());
  p->which_ = options.verdicts;
  p->topic_name_ = options.verdicts_topic;
  p->reports_ = std::make_unique<DeliveryReports>(p.get());
  absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf =
      MakeKafkaConf(options, {{"enable.idempotence", "true"},
                              {"linger.ms", "20"},
                              {"compression.type", "lz4"},
                              {"client.id", "dwaed-verdicts"}});
  if (!conf.ok()) return conf.status();
  std::string error;
  if ((*conf)->set("dr_cb", p->reports_.get(), error) !=
      RdKafka::Conf::CONF_OK) {
    return absl::InternalError(absl::StrCat("kafka dr_cb: ", error));
  }
  p->producer_.reset(RdKafka::Producer::create(conf->get(), error));
  if (p->producer_ == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("kafka verdicts producer: ", error));
  }
  return p;
}

VerdictProducer::~VerdictProducer() {
  if (producer_ != nullptr) Flush(absl::Seconds(10));
}

void VerdictProducer::Produce(const v1::Verdict& verdict,
                              const KafkaSource& source) {
  std::string json = VerdictToJson(verdict, source);
  const std::string& key = verdict.sensor_id();
  for (;;) {
    const RdKafka::ErrorCode err = producer_->produce(
        topic_name_, RdKafka::Topic::PARTITION_UA,
        RdKafka::Producer::RK_MSG_COPY, json.data(), json.size(),
        key.empty() ? nullptr : key.data(), key.size(), 0, nullptr);
    if (err == RdKafka::ERR__QUEUE_FULL) {
      producer_->poll(kFullQueuePollMs);
      continue;
    }
    if (err != RdKafka::ERR_NO_ERROR) ++failed_;
    return;
  }
}

void VerdictProducer::Poll() { producer_->poll(0); }

bool VerdictProducer::Flush(absl::Duration timeout) {
  producer_->flush(static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  return producer_->outq_len() == 0;
}

}  // namespace dwae::server
