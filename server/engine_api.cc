// Engine: scoring (any thread). Queries and administration are in
// engine_admin.cc.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/encoder.h"
#include "core/record_proto.h"
#include "server/engine.h"
#include "server/prefetch.h"

namespace dwae::server {
namespace {

// Records scored together (ScoringModel::ScoreBatch): a stream or Kafka
// batch goes through the batched kernels this many at a time.
constexpr int kScoreChunk = ScoringEnsemble::kMaxScoreBatch;

// Per-thread scoring scratch space, one per record of a chunk, reused across
// published models of one schema and ensemble layout (a fresh daemon may
// switch schema once, and a grouped ensemble forms its groups at the end of
// the warm-up: then it is remade).
struct ChunkScratch {
  std::vector<ScoringScratch> records;
  ScoringScratch* ptrs[kScoreChunk];
};

ChunkScratch& Scratch(const ScoringModel& model) {
  thread_local ChunkScratch scratch;
  thread_local FeatureSchema schema = FeatureSchema::kKdd;
  if (scratch.records.empty() || schema != model.schema() ||
      !model.model().Fits(scratch.records[0].model)) {
    scratch.records.assign(kScoreChunk, model.MakeScratch());
    for (int i = 0; i < kScoreChunk; ++i) scratch.ptrs[i] = &scratch.records[i];
    schema = model.schema();
  }
  return scratch;
}

// Scores the valid entries of entries[0, n) (n <= kScoreChunk) together:
// entry i's result to results[i], its encoding to scratch->records[i].
void ScoreChunk(const ScoringModel& model, int top_k, BatchEntry* entries,
                int n, ChunkScratch* scratch, ScoreResult* results) {
  const Record* records[kScoreChunk];
  ScoringScratch* s[kScoreChunk];
  ScoreResult* out[kScoreChunk];
  int valid = 0;
  for (int i = 0; i < n; ++i) {
    if (!entries[i].status.ok()) continue;
    records[valid] = &entries[i].record;
    s[valid] = scratch->ptrs[i];
    out[valid++] = &results[i];
  }
  model.ScoreBatch(valid, records, top_k, s, out);
}

// Per-thread buffers of Score, reused call after call: a stream's batches
// then allocate no entries, learn items, encodings or counts (the learn
// items come back from the queue's spares, see LearnQueue).
struct ScoreBuffers {
  std::vector<BatchEntry> entries;
  LearnChunk items;
  std::vector<int> item_verdict;  // index in `rows` of each item
  // Only grows: rows[0, n) of the last call count (their strings keep
  // their buffers for the next call).
  std::vector<VerdictRow> rows;
  Metrics::VerdictCounts counts;
};

ScoreBuffers& Buffers() {
  thread_local ScoreBuffers buffers;
  return buffers;
}

// How many learn items ahead of the one being filled are prefetched.
constexpr size_t kPrefetchItemsAhead = 4;

// Starts fetching `item` and its encoding's buffer for writing. A recycled
// chunk's items were last written by the learner, on another core: moving
// a record (about 800 bytes) into an item and copying its encoding waited
// on one cache miss after another (a third of Score's own time).
void PrefetchItem(const LearnItem& item) {
  PrefetchForWrite(&item, sizeof(LearnItem));
  PrefetchForWrite(item.encoded.data(),
                   item.encoded.capacity() * sizeof(float));
}

}  // namespace

Detector::LearnDecision Engine::Decide(v1::LearningMode mode,
                                       const Record& record) const {
  using D = Detector::LearnDecision;
  const int state = learning_state_.load(std::memory_order_relaxed);
  if (state == v1::LEARNING_STATE_OFF) return D::kNo;
  switch (mode) {
    case v1::LEARNING_MODE_OFF:
      return D::kNo;
    case v1::LEARNING_MODE_ALL:
      return D::kYes;
    case v1::LEARNING_MODE_GATED:
      return D::kIfNormal;
    case v1::LEARNING_MODE_LABELED_NORMAL:
      return record.is_normal() ? D::kYes : D::kNo;
    default:  // LEARNING_MODE_DEFAULT: the daemon's policy
      break;
  }
  // AUTO is "everything during warm-up, then gated", which is what gated
  // learning does anyway: the threshold is +inf during warm-up.
  return state == v1::LEARNING_STATE_ON ? D::kYes : D::kIfNormal;
}

void Engine::CountVerdict(const Record& record, bool anomalous, float score,
                          Metrics::VerdictCounts* counts) {
  ++counts->records[int(anomalous ? Verdict::kAnomaly : Verdict::kNormal)];
  metrics_->AddScore(counts, score);
  if (record.has_label())
    counts->labelled.emplace_back(anomalous, !record.is_normal());
}

void Engine::ObserveVerdicts(const Metrics::VerdictCounts& counts) {
  const uint64_t normal = counts.records[int(Verdict::kNormal)];
  const uint64_t anomalous = counts.records[int(Verdict::kAnomaly)];
  scored_ += normal + anomalous;
  normal_ += normal;
  anomalous_ += anomalous;
  invalid_ += counts.records[int(Verdict::kInvalid)];
  uint64_t tp = 0, fp = 0, tn = 0, fn = 0;
  for (const auto& [predicted, attack] : counts.labelled) {
    ++(attack ? (predicted ? tp : fn) : (predicted ? fp : tn));
  }
  tp_ += tp;
  fp_ += fp;
  tn_ += tn;
  fn_ += fn;
  metrics_->ObserveVerdicts(counts);
}

std::shared_ptr<const ScoringModel> Engine::ModelFor(FeatureSchema schema) {
  std::shared_ptr<const ScoringModel> model = current_model();
  if (model->schema() == schema || !schema_open_.load()) return model;
  absl::MutexLock lock(&detector_mu_);
  if (schema_open_.load() && detector_->schema() != schema) {
    DetectorConfig config = detector_->config();
    config.SetSchema(schema);
    absl::StatusOr<std::unique_ptr<Detector>> fresh = Detector::Create(config);
    if (fresh.ok()) {
      detector_ = *std::move(fresh);
      PublishLocked();
      std::fprintf(stderr,
                   "dwaed: the first valid entry has feature schema '%s': "
                   "the new model learns that schema\n",
                   FeatureSchemaName(schema));
    }
  }
  schema_open_ = false;
  return current_model();
}

absl::Status Engine::CheckBatch(size_t size, v1::LearningMode mode) const {
  const ServingPolicy& serving = options_.detector.serving;
  if (size > serving.max_batch_records) {
    return absl::InvalidArgumentError(
        absl::StrFormat("records: batch of %d records exceeds the limit of %d",
                        size, serving.max_batch_records));
  }
  if (!v1::LearningMode_IsValid(mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("learning: unknown mode ", int(mode)));
  }
  return absl::OkStatus();
}

absl::Status Engine::CheckBatch(size_t records, size_t connections,
                                v1::LearningMode mode) const {
  if (records > 0 && connections > 0) {
    return absl::InvalidArgumentError(
        "records, connections: a batch carries one kind, not both");
  }
  const size_t max = options_.detector.serving.max_batch_records;
  if (connections > max) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "connections: batch of %d connections exceeds the limit of %d",
        connections, max));
  }
  return CheckBatch(records, mode);
}

absl::Status Engine::ConvertAndScore(
    const google::protobuf::RepeatedPtrField<v1::Record>& records,
    const google::protobuf::RepeatedPtrField<v1::Connection>& connections,
    v1::LearningMode mode, uint32_t top_k, ScoredRows* scored) {
  *scored = ScoredRows();
  const size_t size = size_t(records.size()) + size_t(connections.size());
  if (absl::Status s =
          CheckBatch(size_t(records.size()), size_t(connections.size()), mode);
      !s.ok()) {
    return s;
  }
  // An empty batch is not an error: it gets an empty verdict list.
  if (size == 0) return absl::OkStatus();
  std::vector<BatchEntry>& entries = Buffers().entries;  // Convert reuses them
  if (connections.empty()) {
    featurizer_->Convert(records, &entries);
  } else {
    featurizer_->Convert(connections, &entries);
  }
  *scored = ScoreConverted(
      connections.empty() ? FeatureSchema::kKdd : FeatureSchema::kZeek,
      &entries, mode, top_k);
  return absl::OkStatus();
}

namespace {

// The verdicts of a batch scored with status `s` as wire bytes (nothing
// when it was refused); returns `s`.
absl::Status WriteIfScored(absl::Status s, const Engine::ScoredRows& scored,
                           absl::FunctionRef<char*(size_t)> allocate) {
  if (s.ok()) {
    WriteVerdictBatchWire(scored.rows, scored.n, scored.schema, allocate);
  }
  return s;
}

void ToProtos(const Engine::ScoredRows& scored,
              google::protobuf::RepeatedPtrField<v1::Verdict>* out) {
  out->Reserve(out->size() + int(scored.n));
  for (size_t i = 0; i < scored.n; ++i) {
    VerdictRowToProto(scored.rows[i], scored.schema, out->Add());
  }
}

}  // namespace

absl::Status Engine::Score(
    const google::protobuf::RepeatedPtrField<v1::Record>& records,
    const google::protobuf::RepeatedPtrField<v1::Connection>& connections,
    v1::LearningMode mode, uint32_t top_k,
    google::protobuf::RepeatedPtrField<v1::Verdict>* out) {
  ScoredRows scored;
  absl::Status s = ConvertAndScore(records, connections, mode, top_k, &scored);
  if (s.ok()) ToProtos(scored, out);
  return s;
}

absl::Status Engine::ScoreToWire(
    const google::protobuf::RepeatedPtrField<v1::Record>& records,
    const google::protobuf::RepeatedPtrField<v1::Connection>& connections,
    v1::LearningMode mode, uint32_t top_k,
    absl::FunctionRef<char*(size_t)> allocate) {
  ScoredRows scored;
  absl::Status s = ConvertAndScore(records, connections, mode, top_k, &scored);
  return WriteIfScored(std::move(s), scored, allocate);
}

absl::Status Engine::ScoreEntries(FeatureSchema schema,
                                  std::vector<BatchEntry>* entries,
                                  v1::LearningMode mode, uint32_t top_k,
                                  ScoredRows* scored) {
  *scored = ScoredRows();
  if (absl::Status s = CheckBatch(entries->size(), mode); !s.ok()) return s;
  if (!entries->empty()) *scored = ScoreConverted(schema, entries, mode, top_k);
  return absl::OkStatus();
}

absl::Status Engine::ScoreEntriesToWire(
    std::vector<BatchEntry>* entries, v1::LearningMode mode, uint32_t top_k,
    absl::FunctionRef<char*(size_t)> allocate) {
  ScoredRows scored;
  absl::Status s =
      ScoreEntries(FeatureSchema::kKdd, entries, mode, top_k, &scored);
  return WriteIfScored(std::move(s), scored, allocate);
}

Engine::ScoredRows Engine::ScoreConverted(FeatureSchema schema,
                                          std::vector<BatchEntry>* batch,
                                          v1::LearningMode mode,
                                          uint32_t top_k) {
  const ServingPolicy& serving = options_.detector.serving;
  const int k = int(
      std::min<uint32_t>(top_k == 0 ? serving.default_top_k : top_k, kMaxTopK));
  std::vector<BatchEntry>& entries = *batch;
  const int size = int(entries.size());
  const bool any_valid =
      std::any_of(entries.begin(), entries.end(),
                  [](const BatchEntry& e) { return e.status.ok(); });
  std::shared_ptr<const ScoringModel> model =
      any_valid ? ModelFor(schema) : current_model();
  if (absl::Status s = CheckSchema(model->schema(), schema); !s.ok()) {
    for (BatchEntry& e : entries) {
      if (e.status.ok()) e.status = s;
    }
  } else if (schema == FeatureSchema::kZeek) {
    featurizer_->Extract(&entries);
  }
  ChunkScratch& scratch = Scratch(*model);
  ScoreBuffers& buffers = Buffers();
  // The learn items reuse what the vector holds (a recycled chunk).
  LearnChunk& items = buffers.items;
  size_t num_items = 0;
  std::vector<int>& item_verdict = buffers.item_verdict;
  item_verdict.clear();
  std::vector<VerdictRow>& rows = buffers.rows;
  if (rows.size() < size_t(size)) rows.resize(size);
  Metrics::VerdictCounts& counts = buffers.counts;
  metrics_->ResetVerdictCounts(&counts);
  ScoreResult results[kScoreChunk];
  for (size_t i = 0; i < std::min(items.size(), kPrefetchItemsAhead); ++i) {
    PrefetchItem(items[i]);
  }
  for (int e = 0; e < size; ++e) {
    if (e % kScoreChunk == 0) {
      ScoreChunk(*model, k, &entries[e], std::min(kScoreChunk, size - e),
                 &scratch, results);
    }
    BatchEntry& entry = entries[e];
    const ScoreResult& result = results[e % kScoreChunk];
    const std::vector<float>& encoded = scratch.records[e % kScoreChunk].input;
    VerdictRow& v = rows[e];
    v.id = entry.id;
    v.sensor_id = entry.sensor_id;
    if (!entry.status.ok()) {
      v.error_code = int(entry.status.code());
      v.error_message.assign(entry.status.message().data(),
                             entry.status.message().size());
      ++counts.records[int(Verdict::kInvalid)];
      continue;
    }
    Record* record = &entry.record;
    v.error_code = 0;
    v.score = result.score;
    v.threshold = model->threshold();
    v.model_version = model->version();
    v.anomalous = result.anomalous;
    v.warming_up = model->warming_up();
    v.label = record->label;
    v.num_top = result.num_top;
    std::copy_n(result.top.begin(), result.num_top, v.top.begin());
    CountVerdict(*record, result.anomalous, result.score, &counts);
    const Detector::LearnDecision decision = Decide(mode, *record);
    // Gated records are confirmed by the learner against the newest model.
    v.learned =
        decision == Detector::LearnDecision::kYes ||
        (decision == Detector::LearnDecision::kIfNormal && !result.anomalous);
    if (num_items + kPrefetchItemsAhead < items.size()) {
      PrefetchItem(items[num_items + kPrefetchItemsAhead]);
    }
    if (num_items == items.size()) items.emplace_back();
    LearnItem& item = items[num_items++];
    item.record = std::move(*record);
    item.decision = decision;
    if (!model->warming_up()) {
      // assign() reuses the recycled item's buffer.
      item.encoded.assign(encoded.begin(), encoded.end());
      item.encoder_id = model->encoder_id();
    } else {
      item.encoded.clear();
      item.encoder_id = 0;
    }
    item_verdict.push_back(e);
  }
  ObserveVerdicts(counts);
  items.resize(num_items);
  const size_t pushed = options_.detector.learning.drop_when_full
                            ? queue_.PushAvailable(&items)
                            : queue_.PushAll(&items);
  if (pushed < num_items) {
    dropped_ += num_items - pushed;
    metrics_->learn_dropped().Increment(double(num_items - pushed));
    // Tell the caller the truth: dropped records were not learned.
    for (size_t i = pushed; i < num_items; ++i) {
      rows[item_verdict[i]].learned = false;
    }
    // Whatever was not queued is stale (moved-from or unsent): start over.
    items.clear();
  }
  verdicts_.Append(rows.data(), size_t(size), model->schema(), absl::Now());
  metrics_->learn_queue_depth().Set(double(queue_.size()));
  return ScoredRows{rows.data(), size_t(size), model->schema()};
}

}  // namespace dwae::server
