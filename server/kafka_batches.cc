// KafkaConsumer's data path, on the consumer thread (kafka_consumer.h):
// fetch a batch, decode its values straight into engine entries, wait for
// room in the learn queue (pausing the partitions meanwhile), score and
// learn the batch, produce its verdicts, and account for its offsets.
//
// The steady state allocates nothing per message: entries and their id
// strings keep their storage from batch to batch, and the engine hands
// back its verdicts as rows (server/engine_verdicts.h); a message is built
// only for a verdict that is produced.
#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "server/kafka_consumer.h"

namespace dwae::server {
namespace {

// How long one poll waits for the first message of a batch.
constexpr int kPollMs = 100;

}  // namespace

void KafkaConsumer::Loop() {
  std::vector<rd_kafka_message_t*> batch;
  absl::Time next_tick = absl::Now();
  while (!stop_.HasBeenNotified()) {
    Collect(&batch);
    if (!batch.empty()) Process(batch);
    for (rd_kafka_message_t* m : batch) rd_kafka_message_destroy(m);
    batch.clear();
    if (producer_ != nullptr) producer_->Poll();
    positions_.Advance(engine_->learn_items_processed());
    const absl::Time now = absl::Now();
    if (now >= next_tick) {
      RefreshLag();
      next_tick = now + absl::Seconds(1);
    }
    CommitReady(/*sync=*/false);
  }
}

void KafkaConsumer::Collect(std::vector<rd_kafka_message_t*>* batch) {
  const size_t max = options_.batch_records;
  if (!held_.empty()) {
    // Messages fetched during a pause go first, alone: no poll (and so no
    // rebalance callback) comes between their fetch and their scoring.
    batch->swap(held_);
    if (batch->size() > max) {
      held_.assign(batch->begin() + max, batch->end());
      batch->resize(max);
    }
    return;
  }
  batch->resize(max);
  // A batch call with a timeout waits for a full batch: wait for one
  // message only, then take what has arrived.
  const ssize_t first =
      rd_kafka_consume_batch_queue(queue_, kPollMs, batch->data(), 1);
  ssize_t rest = 0;
  if (first > 0) {
    rest = rd_kafka_consume_batch_queue(queue_, 0, batch->data() + 1, max - 1);
  }
  batch->resize(
      size_t(std::max<ssize_t>(first, 0) + std::max<ssize_t>(rest, 0)));
}

struct KafkaConsumer::PartitionBatch {
  const char* topic;
  int32_t partition;
  int64_t begin, end;
  // Offsets below this were scored before this batch (a re-delivery).
  int64_t scored_before;
  uint64_t valid = 0, bad = 0;
};

void KafkaConsumer::Process(const std::vector<rd_kafka_message_t*>& batch) {
  std::vector<PartitionBatch> parts;
  auto part_of = [this, &parts](const rd_kafka_message_t* m,
                                const char* topic) -> PartitionBatch& {
    for (PartitionBatch& b : parts) {
      if (b.partition == m->partition && std::strcmp(b.topic, topic) == 0) {
        return b;
      }
    }
    return parts.emplace_back(
        PartitionBatch{topic, m->partition, m->offset, m->offset,
                       positions_.Position({topic, m->partition})});
  };
  // Decoded in place; ids_ and sensors_ hold what the entries point to.
  entries_.resize(batch.size());
  ids_.resize(batch.size());
  sensors_.resize(batch.size());
  sources_.clear();
  uint64_t messages = 0, redelivered = 0;
  for (const rd_kafka_message_t* m : batch) {
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        error_log_.Log(rd_kafka_message_errstr(m));
      }
      continue;
    }
    const char* topic = rd_kafka_topic_name(m->rkt);
    PartitionBatch& part = part_of(m, topic);
    // A re-delivery (e.g. fetched before and after a rebalance that gave
    // the partition back) of a record already scored: never learn it twice.
    if (m->offset < std::max(part.end, part.scored_before)) {
      ++redelivered;
      continue;
    }
    ++messages;
    part.end = m->offset + 1;
    const KafkaMessageRef ref{
        topic, m->partition, m->offset,
        absl::string_view(static_cast<const char*>(m->key), m->key_len),
        absl::string_view(static_cast<const char*>(m->payload), m->len)};
    const size_t n = sources_.size();
    if (absl::Status s =
            decoder_->Decode(ref, &entries_[n], &ids_[n], &sensors_[n]);
        !s.ok()) {
      ++part.bad;
      bad_log_.Log(absl::StrCat("bad message ", topic, ":", m->partition, ":",
                                m->offset, ": ", s.message()));
      continue;
    }
    sources_.push_back(m);
  }
  entries_.resize(sources_.size());
  // Record ids (TOPIC:PARTITION:OFFSET) are unique; Zeek uids may repeat.
  if (decoder_->schema() == FeatureSchema::kZeek) {
    Featurizer::RefuseDuplicateIds(&entries_, 0);
  }
  const uint64_t generation = revocations_;
  WaitForLearnRoom(sources_.size());
  if (revocations_ != generation) {
    // Partitions were revoked while we waited: this batch was never scored,
    // and whoever owns its partitions now fetches it again from their
    // position. Scoring it here could learn it twice.
    return;
  }
  Engine::ScoredRows rows;
  absl::Status scored = engine_->ScoreEntries(
      decoder_->schema(), &entries_, v1::LEARNING_MODE_DEFAULT, 0, &rows);
  if (!scored.ok()) {
    error_log_.Log(absl::StrCat("batch not scored: ", scored.message()));
  }
  for (size_t i = 0; i < rows.n; ++i) {
    const VerdictRow& row = rows.rows[i];
    const rd_kafka_message_t* m = sources_[i];
    const char* topic = rd_kafka_topic_name(m->rkt);
    PartitionBatch& part = part_of(m, topic);
    if (!row.valid()) {
      ++part.bad;
      bad_log_.Log(
          absl::StrCat("bad record ", *row.id, ": ", row.error_message));
      continue;
    }
    ++part.valid;
    // A message only for the verdicts that go out (by default the
    // anomalies): the rest are already in the verdict window.
    if (producer_ != nullptr && producer_->Wants(row)) {
      verdict_.Clear();
      VerdictRowToProto(row, rows.schema, &verdict_);
      producer_->Produce(verdict_, KafkaSource{topic, m->partition, m->offset});
    }
  }
  if (!scored.ok()) {
    for (PartitionBatch& b : parts) b.bad = b.end - b.begin - b.valid;
  }
  if (redelivered > 0) {
    error_log_.Log(absl::StrCat("skipped ", redelivered,
                                " re-delivered message(s) already scored"));
  }
  const uint64_t ticket = engine_->learn_items_queued();
  uint64_t bad = 0;
  for (const PartitionBatch& b : parts) {
    positions_.Consumed({b.topic, b.partition}, b.begin, b.end, b.valid, b.bad,
                        ticket);
    bad += b.bad;
  }
  positions_.Advance(engine_->learn_items_processed());
  consumed_ += messages;
  bad_ += bad;
  metrics_.consumed().Increment(double(messages));
  if (bad > 0) metrics_.bad_messages().Increment(double(bad));
}

void KafkaConsumer::WaitForLearnRoom(size_t n) {
  // Blocking first: librdkafka stops fetching by itself once its queue
  // holds queued.min.messages, and a pause would discard that prefetch
  // (KafkaOptions::pause_after).
  if (n == 0 || engine_->WaitForLearnRoom(n, options_.pause_after)) return;
  PartitionList assignment;
  consumer_->assignment(assignment.list);
  consumer_->pause(assignment.list);
  paused_ = true;
  ++pauses_;
  metrics_.pauses().Increment();
  while (!engine_->WaitForLearnRoom(n, absl::Milliseconds(kPollMs)) &&
         !stop_.HasBeenNotified()) {
    // Serve callbacks (heartbeats run on librdkafka's threads); keep what
    // was fetched before the pause took effect.
    rd_kafka_message_t* m[64];
    const ssize_t got = rd_kafka_consume_batch_queue(queue_, 0, m, 64);
    for (ssize_t i = 0; i < got; ++i) held_.push_back(m[i]);
  }
  consumer_->resume(assignment.list);
  paused_ = false;
}

void KafkaConsumer::RefreshLag() {
  for (const TopicPartition& tp : positions_.Owned()) {
    int64_t low = 0, high = 0;
    if (consumer_->get_watermark_offsets(tp.topic, tp.partition, &low, &high) ==
            RdKafka::ERR_NO_ERROR &&
        high >= 0) {
      positions_.SetHighWatermark(tp, high);
    }
    metrics_.LagGauge(tp.topic, tp.partition).Set(double(positions_.Lag(tp)));
  }
  if (producer_ != nullptr) {
    const uint64_t delivered = producer_->produced();
    const uint64_t failed = producer_->failed();
    metrics_.verdicts_produced().Increment(
        double(delivered - verdicts_reported_));
    metrics_.verdict_failures().Increment(
        double(failed - verdict_failures_reported_));
    verdicts_reported_ = delivered;
    verdict_failures_reported_ = failed;
  }
}

}  // namespace dwae::server
