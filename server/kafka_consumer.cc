#include "server/kafka_consumer.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace dwae::server {
namespace {

// Without a durable checkpoint, learned offsets are committed this often.
constexpr absl::Duration kMemoryCommitInterval = absl::Seconds(5);
// How long a commit waits for the verdicts before it.
constexpr absl::Duration kVerdictFlushTimeout = absl::Seconds(5);
// librdkafka's queued.min.messages for dwaed. Once the consumer's local
// queue (one queue for all the replica's partitions) holds this many
// messages, librdkafka 2.0.2 stops fetching and decides again only when
// its broker thread next wakes up, which with nothing else to do is up to
// 1 s later (rd_kafka_max_block_ms; no backoff setting covers it before
// 2.3's fetch.queue.backoff.ms). With librdkafka's 100,000, a replica that
// scores 150,000 records/s emptied the queue in 0.7 s and then idled, up to
// a quarter of its time (docs/kafka.md, Sizing). This holds more than a
// second at the 250,000 records/s target; queued.max.messages.kbytes (64 MB
// of payload by default) still bounds the memory.
constexpr char kQueuedMinMessages[] = "300000";

void Log(const std::string& message) {
  std::fprintf(stderr, "dwaed: kafka: %s\n", message.c_str());
}

}  // namespace

// librdkafka's callbacks, all served on the consumer thread (inside polls
// and close) except event_cb's logs.
class KafkaConsumer::Callbacks : public RdKafka::RebalanceCb,
                                 public RdKafka::OffsetCommitCb,
                                 public RdKafka::EventCb {
 public:
  explicit Callbacks(KafkaConsumer* owner) : owner_(owner) {}

  void rebalance_cb(
      RdKafka::KafkaConsumer*, RdKafka::ErrorCode err,
      std::vector<RdKafka::TopicPartition*>& partitions) override {
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      owner_->OnAssign(partitions);
    } else {
      owner_->OnRevoke(partitions);
    }
  }

  void offset_commit_cb(
      RdKafka::ErrorCode err,
      std::vector<RdKafka::TopicPartition*>& offsets) override {
    bool failed =
        err != RdKafka::ERR_NO_ERROR && err != RdKafka::ERR__NO_OFFSET;
    for (const RdKafka::TopicPartition* tp : offsets) {
      failed = failed || tp->err() != RdKafka::ERR_NO_ERROR;
    }
    if (!failed) {
      ++owner_->commits_;
      owner_->metrics_.commits().Increment();
      return;
    }
    ++owner_->commit_failures_;
    owner_->metrics_.commit_failures().Increment();
    owner_->error_log_.Log(
        absl::StrCat("offset commit failed: ", RdKafka::err2str(err)));
  }

  void event_cb(RdKafka::Event& event) override {
    if (event.type() == RdKafka::Event::EVENT_ERROR) {
      owner_->error_log_.Log(
          absl::StrCat(RdKafka::err2str(event.err()), ": ", event.str()));
    } else if (event.type() == RdKafka::Event::EVENT_LOG &&
               event.severity() == RdKafka::Event::EVENT_SEVERITY_DEBUG) {
      // Only there when the operator set librdkafka's `debug` property
      // (e.g. debug=fetch): printed in full, with the time, since the
      // timing is what such a log is read for. Warnings and errors come
      // as EVENT_ERROR above, rate-limited.
      Log(absl::StrCat(
          absl::FormatTime("%H:%M:%E6S ", absl::Now(), absl::UTCTimeZone()),
          event.fac(), " ", event.str()));
    }
  }

 private:
  KafkaConsumer* const owner_;
};

KafkaConsumer::KafkaConsumer(const KafkaOptions& options, Engine* engine,
                             Metrics* metrics, bool durable)
    : options_(options),
      engine_(engine),
      metrics_(metrics->registry()),
      durable_(durable),
      positions_(options.group) {
  sources_.reserve(options.batch_records);
}

absl::StatusOr<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Create(
    const KafkaOptions& options, Engine* engine, Metrics* metrics,
    bool durable) {
  if (options.topics.empty()) {
    return absl::InvalidArgumentError("--kafka_topics: at least one topic");
  }
  if (options.batch_records == 0 ||
      options.batch_records > engine->learn_queue_capacity()) {
    return absl::InvalidArgumentError(
        absl::StrCat("kafka batch_records: ", options.batch_records,
                     " must be in [1, learn queue capacity ",
                     engine->learn_queue_capacity(), "]"));
  }
  std::unique_ptr<KafkaConsumer> c(
      new KafkaConsumer(options, engine, metrics, durable));
  absl::StatusOr<std::unique_ptr<KafkaRecordDecoder>> decoder =
      KafkaRecordDecoder::Create(options.format);
  if (!decoder.ok()) return decoder.status();
  c->decoder_ = *std::move(decoder);
  if (!options.verdicts_topic.empty()) {
    absl::StatusOr<std::unique_ptr<VerdictProducer>> producer =
        VerdictProducer::Create(options);
    if (!producer.ok()) return producer.status();
    c->producer_ = *std::move(producer);
  }
  std::vector<std::pair<std::string, std::string>> defaults = {
      {"group.id", options.group},
      {"client.id", "dwaed"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", options.start_earliest ? "earliest" : "latest"},
      {"partition.assignment.strategy", "roundrobin"},
      {"queued.min.messages", kQueuedMinMessages},
  };
  if (!options.instance_id.empty()) {
    defaults.emplace_back("group.instance.id", options.instance_id);
  }
  absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf =
      MakeKafkaConf(options, defaults);
  if (!conf.ok()) return conf.status();
  c->callbacks_ = std::make_unique<Callbacks>(c.get());
  std::string error;
  Callbacks* cb = c->callbacks_.get();
  if ((*conf)->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(cb),
                   error) != RdKafka::Conf::CONF_OK ||
      (*conf)->set("offset_commit_cb",
                   static_cast<RdKafka::OffsetCommitCb*>(cb),
                   error) != RdKafka::Conf::CONF_OK ||
      (*conf)->set("event_cb", static_cast<RdKafka::EventCb*>(cb), error) !=
          RdKafka::Conf::CONF_OK) {
    return absl::InternalError(absl::StrCat("kafka callbacks: ", error));
  }
  c->consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), error));
  if (c->consumer_ == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("kafka consumer: ", error));
  }
  c->queue_ = rd_kafka_queue_get_consumer(c->consumer_->c_ptr());
  if (c->positions_.Restore(engine->restored_kafka_state())) {
    const int n = engine->restored_kafka_state().positions_size();
    if (n > 0)
      Log(absl::StrCat("resuming ", n, " partition(s) from the checkpoint"));
  } else {
    Log(absl::StrCat("the checkpoint's offsets belong to group '",
                     engine->restored_kafka_state().group(), "', not '",
                     options.group, "': ignored"));
  }
  return c;
}

KafkaConsumer::~KafkaConsumer() {
  StopConsuming();
  Close();
}

absl::Status KafkaConsumer::Start() {
  engine_->SetCheckpointedSource(this);
  const RdKafka::ErrorCode err = consumer_->subscribe(options_.topics);
  if (err != RdKafka::ERR_NO_ERROR) {
    engine_->SetCheckpointedSource(nullptr);
    return absl::InvalidArgumentError(
        absl::StrCat("kafka subscribe to ", absl::StrJoin(options_.topics, ","),
                     ": ", RdKafka::err2str(err)));
  }
  started_ = true;
  thread_ = std::thread([this] {
    NameThisThread("dwae-kafka");
    Loop();
  });
  Log(absl::StrCat("consuming ", absl::StrJoin(options_.topics, ","), " from ",
                   options_.brokers, " in group ", options_.group,
                   options_.instance_id.empty()
                       ? std::string()
                       : absl::StrCat(" as ", options_.instance_id)));
  return absl::OkStatus();
}

void KafkaConsumer::StopConsuming() {
  if (stopped_) return;
  stopped_ = true;
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
  for (rd_kafka_message_t* m : held_) rd_kafka_message_destroy(m);
  held_.clear();
}

void KafkaConsumer::Close() {
  if (closed_) return;
  closed_ = true;
  if (started_) {
    CommitReady(/*sync=*/true);
    engine_->SetCheckpointedSource(nullptr);
  }
  if (queue_ != nullptr) rd_kafka_queue_destroy(queue_);
  queue_ = nullptr;
  if (consumer_ != nullptr) consumer_->close();
  if (producer_ != nullptr) producer_->Flush(absl::Seconds(10));
}

void KafkaConsumer::OnAssign(std::vector<RdKafka::TopicPartition*>& tps) {
  ++rebalances_;
  metrics_.rebalances().Increment();
  std::vector<TopicPartition> partitions;
  for (const RdKafka::TopicPartition* tp : tps) {
    partitions.push_back({tp->topic(), tp->partition()});
  }
  // Kafka's committed offsets; on failure our own positions still hold.
  std::vector<int64_t> committed(tps.size(), kNoOffset);
  if (consumer_->committed(tps, 10000) == RdKafka::ERR_NO_ERROR) {
    for (size_t i = 0; i < tps.size(); ++i) {
      if (tps[i]->offset() >= 0) committed[i] = tps[i]->offset();
    }
  } else {
    error_log_.Log("cannot read committed offsets at assignment");
  }
  const std::vector<int64_t> start = positions_.Assign(partitions, committed);
  std::vector<std::string> described;
  for (size_t i = 0; i < tps.size(); ++i) {
    tps[i]->set_offset(start[i] == kNoOffset ? RdKafka::Topic::OFFSET_INVALID
                                             : start[i]);
    described.push_back(absl::StrCat(
        partitions[i].topic, ":", partitions[i].partition, "@",
        start[i] == kNoOffset
            ? std::string(options_.start_earliest ? "earliest" : "latest")
            : absl::StrCat(start[i])));
  }
  consumer_->assign(tps);
  metrics_.assigned_partitions().Set(double(tps.size()));
  Log(absl::StrCat("assigned ", tps.size(),
                   " partition(s): ", absl::StrJoin(described, " ")));
}

void KafkaConsumer::OnRevoke(std::vector<RdKafka::TopicPartition*>& tps) {
  ++rebalances_;
  metrics_.rebalances().Increment();
  for (const RdKafka::TopicPartition* tp : tps) {
    metrics_.RemoveLag(tp->topic(), tp->partition());
  }
  positions_.Revoke();
  ++revocations_;
  // Fetched but never scored: they come again from the positions.
  for (rd_kafka_message_t* m : held_) rd_kafka_message_destroy(m);
  held_.clear();
  consumer_->unassign();
  metrics_.assigned_partitions().Set(0);
  Log(absl::StrCat("revoked ", tps.size(), " partition(s)"));
}

void KafkaConsumer::SaveCheckpoint(uint64_t learn_items_processed,
                                   v1::ModelState* state) {
  positions_.Save(learn_items_processed, state->mutable_kafka());
}

void KafkaConsumer::CheckpointDurable(const v1::ModelState& state) {
  absl::MutexLock lock(&commit_mu_);
  to_commit_ = state.kafka();
}

void KafkaConsumer::CommitReady(bool sync) {
  v1::KafkaState state;
  {
    absl::MutexLock lock(&commit_mu_);
    if (durable_) {
      if (!to_commit_.has_value()) return;
      state = *std::move(to_commit_);
      to_commit_.reset();
    } else {
      const absl::Time now = absl::Now();
      if (!sync && now - last_memory_commit_ < kMemoryCommitInterval) return;
      last_memory_commit_ = now;
      positions_.Advance(engine_->learn_items_processed());
      for (const auto& [tp, offset] : positions_.Learned()) {
        v1::KafkaPosition* p = state.add_positions();
        p->set_topic(tp.topic);
        p->set_partition(tp.partition);
        p->set_next_offset(offset);
      }
    }
  }
  // Only partitions this replica still owns: never move back an offset
  // another replica committed.
  const std::vector<TopicPartition> owned = positions_.Owned();
  PartitionList offsets;
  for (const v1::KafkaPosition& p : state.positions()) {
    if (std::find(owned.begin(), owned.end(),
                  TopicPartition{p.topic(), p.partition()}) == owned.end()) {
      continue;
    }
    offsets.list.push_back(RdKafka::TopicPartition::create(
        p.topic(), p.partition(), p.next_offset()));
  }
  if (offsets.list.empty()) return;
  // At-least-once verdicts: the verdicts of the records below the offsets
  // must be in Kafka before the offsets are.
  if (producer_ != nullptr && !producer_->Flush(kVerdictFlushTimeout)) {
    error_log_.Log("verdicts not yet delivered; offsets not committed");
    ++commit_failures_;
    metrics_.commit_failures().Increment();
    return;
  }
  if (!sync) {
    consumer_->commitAsync(offsets.list);
    return;
  }
  // Counted here: the callback of a synchronous commit is not served.
  bool ok = consumer_->commitSync(offsets.list) == RdKafka::ERR_NO_ERROR;
  for (const RdKafka::TopicPartition* tp : offsets.list) {
    ok = ok && tp->err() == RdKafka::ERR_NO_ERROR;
  }
  ++(ok ? commits_ : commit_failures_);
  (ok ? metrics_.commits() : metrics_.commit_failures()).Increment();
  if (!ok) Log("final offset commit failed");
}

void KafkaConsumer::FillModelInfo(v1::ModelInfo* info) const {
  v1::KafkaStatus* k = info->mutable_kafka();
  k->set_group(options_.group);
  k->set_instance_id(options_.instance_id);
  for (const std::string& t : options_.topics) k->add_topics(t);
  positions_.Advance(engine_->learn_items_processed());
  positions_.FillStatus(paused_, k);
  k->set_records_consumed(consumed_);
  k->set_bad_messages(bad_);
  k->set_verdicts_produced(producer_ == nullptr ? 0 : producer_->produced());
  k->set_rebalances(rebalances_);
  k->set_commits(commits_);
  k->set_commit_failures(commit_failures_);
  k->set_pauses(pauses_);
}

}  // namespace dwae::server
