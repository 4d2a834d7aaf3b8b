// dwae status: GetModelInfo, readable or as one JSON object.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/grpc_client.h"
#include "client/json.h"
#include "client/ops_commands.h"
#include "client/ops_internal.h"
#include "google/protobuf/message.h"

namespace dwae {
namespace {

using ull = unsigned long long;

// Weights and biases of one layer added up.
v1::DeviceCounters LayerTotal(const v1::LayerInfo& layer) {
  v1::DeviceCounters t;
  for (const v1::DeviceCounters* c :
       {&layer.weight_devices(), &layer.bias_devices()}) {
    t.set_pulses(t.pulses() + c->pulses());
    t.set_level_changes(t.level_changes() + c->level_changes());
    t.set_failures(t.failures() + c->failures());
    t.set_overshoots(t.overshoots() + c->overshoots());
    t.set_blocked(t.blocked() + c->blocked());
    t.set_energy_joules(t.energy_joules() + c->energy_joules());
  }
  return t;
}

uint64_t Labelled(const v1::ModelInfo& m) {
  return m.true_positives() + m.false_positives() + m.true_negatives() +
         m.false_negatives();
}

double Ratio(uint64_t num, uint64_t den) {
  return den == 0 ? NAN : double(num) / double(den);
}

// "no", "yes: 4120 of 10000 records learned" or "yes: consolidating ...".
std::string WarmupProgress(const v1::ModelInfo& m) {
  if (m.consolidating()) {
    return absl::StrFormat(
        "yes: consolidating %llu records (scoring goes on meanwhile)",
        ull(m.warmup_records()));
  }
  if (!m.warming_up()) return "no";
  return absl::StrFormat("yes: %llu of %llu records learned, %llu queued",
                         ull(m.warmup_records_learned()),
                         ull(m.warmup_records()), ull(m.learn_queue_depth()));
}

Json CountersJson(const v1::DeviceCounters& c) {
  Json out;
  out["pulses"] = c.pulses();
  out["level_changes"] = c.level_changes();
  out["failures"] = c.failures();
  out["overshoots"] = c.overshoots();
  out["blocked"] = c.blocked();
  out["energy_joules"] = c.energy_joules();
  return out;
}

Json LayerJson(const v1::LayerInfo& l) {
  Json out;
  out["inputs"] = l.inputs();
  out["outputs"] = l.outputs();
  out["activation"] = l.activation();
  out["weight_alpha"] = l.weight_alpha();
  out["bias_alpha"] = l.bias_alpha();
  out.update(CountersJson(LayerTotal(l)));  // the layer's totals, flat
  out["weight_devices"] = CountersJson(l.weight_devices());
  out["bias_devices"] = CountersJson(l.bias_devices());
  return out;
}

// A message rendered by protobuf's own JSON printer, as a JSON value.
Json ProtoJsonValue(const google::protobuf::Message& message) {
  return Json::parse(ops::ProtoToJson(message), nullptr,
                     /*allow_exceptions=*/false);
}

void PrintJson(const v1::ModelInfo& m) {
  Json doc;
  doc["shape"] = m.shape();
  doc["rule"] = m.config().model().rule();
  doc["feature_schema"] = m.config().model().feature_schema();
  const v1::EnsembleInfo& e = m.ensemble();
  Json ensemble;
  ensemble["spec"] = e.spec();
  ensemble["members"] = e.members();
  ensemble["groups"] = e.groups();
  ensemble["group_dims"] = Json::array();
  for (uint32_t d : e.group_dims()) ensemble["group_dims"].push_back(d);
  ensemble["integer_members"] = e.integer_members();
  doc["ensemble"] = ensemble;
  doc["parameters"] = m.parameters();
  doc["threshold"] = m.threshold();  // null while warming up (+inf)
  doc["threshold_source"] = m.threshold_source();
  doc["warming_up"] = m.warming_up();
  doc["warmup_records_learned"] = m.warmup_records_learned();
  doc["warmup_records"] = m.warmup_records();
  doc["consolidating"] = m.consolidating();
  doc["learn_queue_depth"] = m.learn_queue_depth();
  doc["learning_state"] = ops::LearningStateName(m.learning_state());
  doc["records_scored"] = m.records_scored();
  doc["records_normal"] = m.records_normal();
  doc["records_anomalous"] = m.records_anomalous();
  doc["records_invalid"] = m.records_invalid();
  doc["records_learned"] = m.records_learned();
  doc["records_dropped"] = m.records_dropped();
  doc["true_positives"] = m.true_positives();
  doc["false_positives"] = m.false_positives();
  doc["true_negatives"] = m.true_negatives();
  doc["false_negatives"] = m.false_negatives();
  const uint64_t labelled = Labelled(m);
  doc["accuracy"] = Ratio(m.true_positives() + m.true_negatives(), labelled);
  doc["detection_rate"] =
      Ratio(m.true_positives(), m.true_positives() + m.false_negatives());
  doc["false_alarm_rate"] =
      Ratio(m.false_positives(), m.false_positives() + m.true_negatives());
  doc["learning_steps"] = m.learning_steps();
  doc["weight_updates"] = m.weight_updates();
  doc["float_equivalent_updates"] = m.float_equivalent_updates();
  doc["update_reduction"] =
      Ratio(m.float_equivalent_updates(), m.weight_updates());
  Json& layers = doc["layers"] = Json::array();
  for (const v1::LayerInfo& l : m.layers()) layers.push_back(LayerJson(l));
  doc["last_checkpoint_unix_seconds"] = NumberOrNull(
      m.has_last_checkpoint(),
      absl::ToDoubleSeconds(ops::FromTimestamp(m.last_checkpoint()) -
                            absl::UnixEpoch()));
  doc["model_version"] = m.model_version();
  doc["build_version"] = m.build_version();
  doc["config"] = ProtoJsonValue(m.config());
  if (m.has_kafka()) doc["kafka"] = ProtoJsonValue(m.kafka());
  std::printf("%s\n", DumpJson(doc).c_str());
}

// The Kafka consumer's assignment and lag, when the daemon consumes Kafka.
void PrintKafka(const v1::KafkaStatus& k) {
  std::printf("\nkafka\n");
  std::printf("  group            %s%s\n", k.group().c_str(),
              k.instance_id().empty()
                  ? ""
                  : absl::StrCat(" (instance ", k.instance_id(), ")").c_str());
  std::printf("  topics           %s\n",
              absl::StrJoin(k.topics(), ",").c_str());
  std::printf("  consumed         %llu (bad %llu)\n", ull(k.records_consumed()),
              ull(k.bad_messages()));
  std::printf("  verdicts out     %llu\n", ull(k.verdicts_produced()));
  std::printf("  rebalances       %llu\n", ull(k.rebalances()));
  std::printf("  pauses           %llu (learn queue full)\n", ull(k.pauses()));
  std::printf("  commits          %llu (failed %llu)\n", ull(k.commits()),
              ull(k.commit_failures()));
  std::printf("  %-24s%14s%14s%14s%10s\n", "partition", "position", "learned",
              "end", "lag");
  int64_t total = 0;
  for (const v1::KafkaPartitionStatus& p : k.partitions()) {
    std::printf("  %-24s%14lld%14lld%14lld%10lld%s\n",
                absl::StrCat(p.topic(), ":", p.partition()).c_str(),
                static_cast<long long>(p.position()),
                static_cast<long long>(p.learned_offset()),
                static_cast<long long>(p.high_watermark()),
                static_cast<long long>(p.lag()), p.paused() ? " paused" : "");
    total += p.lag();
  }
  if (k.partitions_size() == 0) std::printf("  (no partitions assigned)\n");
  std::printf("  total lag        %lld\n", static_cast<long long>(total));
}

void PrintReadable(const std::string& server, const v1::ModelInfo& m) {
  const v1::DaemonConfig& c = m.config();
  std::printf("dwaed at %s (build %s, model version %llu)\n\n", server.c_str(),
              m.build_version().empty() ? "?" : m.build_version().c_str(),
              ull(m.model_version()));
  std::printf("model\n");
  std::printf("  shape            %s\n", m.shape().c_str());
  std::printf("  rule             %s\n", c.model().rule().c_str());
  std::printf("  feature schema   %s\n", c.model().feature_schema().c_str());
  const v1::EnsembleInfo& e = m.ensemble();
  std::printf("  ensemble         %s: %u member(s), %u group(s), %u on int8\n",
              e.spec().c_str(), e.members(), e.groups(), e.integer_members());
  std::printf("  parameters       %llu\n", ull(m.parameters()));
  std::printf("  learning rate    %g\n", c.model().learning_rate());
  std::vector<std::string> alphas;
  for (const v1::LayerInfo& l : m.layers()) {
    alphas.push_back(
        absl::StrFormat("%.4g/%.4g", l.weight_alpha(), l.bias_alpha()));
  }
  std::printf("  alphas (w/b)     %s\n", absl::StrJoin(alphas, "  ").c_str());
  std::printf("\ndevice\n");
  std::printf("  levels           %d\n", c.device().num_levels());
  std::printf("  p_fail           %g\n", c.device().p_fail());
  std::printf("  p_over           %g\n", c.device().p_over());
  std::printf("  level sigma      %g\n", c.device().level_sigma());
  std::printf("  energy/pulse     %g J\n",
              c.device().energy_per_pulse_joules());

  std::printf("\nthreshold and learning\n");
  std::printf("  threshold        %s, source %s\n",
              ops::FormatThreshold(m.threshold()).c_str(),
              m.threshold_source().c_str());
  std::printf("  warming up       %s\n", WarmupProgress(m).c_str());
  std::printf("  learning state   %s\n",
              ops::LearningStateName(m.learning_state()));
  std::printf("  learning steps   %llu\n", ull(m.learning_steps()));

  std::printf("\ncounters\n");
  std::printf("  scored           %llu\n", ull(m.records_scored()));
  std::printf("  normal           %llu\n", ull(m.records_normal()));
  std::printf("  anomalous        %llu\n", ull(m.records_anomalous()));
  std::printf("  invalid          %llu\n", ull(m.records_invalid()));
  std::printf("  learned          %llu\n", ull(m.records_learned()));
  std::printf("  dropped          %llu\n", ull(m.records_dropped()));
  const uint64_t labelled = Labelled(m);
  if (labelled > 0) {
    std::printf("\n  confusion (%llu labelled records)\n", ull(labelled));
    std::printf("  %-16s%18s%18s\n", "", "predicted normal",
                "predicted attack");
    std::printf("  %-16s%18llu%18llu\n", "actual normal",
                ull(m.true_negatives()), ull(m.false_positives()));
    std::printf("  %-16s%18llu%18llu\n", "actual attack",
                ull(m.false_negatives()), ull(m.true_positives()));
    auto rate = [](double r) {
      return std::isnan(r) ? std::string("n/a") : absl::StrFormat("%.4f", r);
    };
    std::printf(
        "  accuracy         %s\n",
        rate(Ratio(m.true_positives() + m.true_negatives(), labelled)).c_str());
    std::printf("  detection rate   %s\n",
                rate(Ratio(m.true_positives(),
                           m.true_positives() + m.false_negatives()))
                    .c_str());
    std::printf("  false-alarm rate %s\n",
                rate(Ratio(m.false_positives(),
                           m.false_positives() + m.true_negatives()))
                    .c_str());
  } else {
    std::printf("  (no labelled records: no confusion matrix)\n");
  }

  std::printf("\ndevice writes\n");
  std::printf("  %-22s%12s%14s%12s%12s%14s\n", "layer", "pulses",
              "level changes", "failures", "overshoots", "energy (J)");
  for (int i = 0; i < m.layers_size(); ++i) {
    const v1::LayerInfo& l = m.layers(i);
    const v1::DeviceCounters t = LayerTotal(l);
    const std::string name = absl::StrFormat("%d: %d->%d %s", i, l.inputs(),
                                             l.outputs(), l.activation());
    std::printf("  %-22s%12llu%14llu%12llu%12llu%14.4g\n", name.c_str(),
                ull(t.pulses()), ull(t.level_changes()), ull(t.failures()),
                ull(t.overshoots()), t.energy_joules());
  }
  std::printf("  weight updates   %llu\n", ull(m.weight_updates()));
  std::printf("  float-equivalent %llu\n", ull(m.float_equivalent_updates()));
  const double reduction =
      Ratio(m.float_equivalent_updates(), m.weight_updates());
  std::printf("  update reduction %s\n",
              std::isnan(reduction)
                  ? "n/a (no device writes yet)"
                  : absl::StrFormat("%.1fx", reduction).c_str());

  std::printf("\ncheckpoint\n");
  if (m.has_last_checkpoint()) {
    const absl::Time t = ops::FromTimestamp(m.last_checkpoint());
    std::printf(
        "  last             %s (%s ago)\n", ops::FormatRfc3339(t).c_str(),
        absl::FormatDuration(absl::Trunc(absl::Now() - t, absl::Seconds(1)))
            .c_str());
  } else {
    std::printf("  last             never\n");
  }
  if (m.has_kafka()) PrintKafka(m.kafka());
}

}  // namespace

absl::Status RunStatusCommand(const StatusCommandOptions& o) {
  absl::StatusOr<std::unique_ptr<DetectorClient>> client =
      DetectorClient::Connect(o.connection.server, o.connection.timeout,
                              o.connection.security);
  if (!client.ok()) return client.status();
  grpc::ClientContext context;
  ops::SetDeadline(&context, o.connection.timeout);
  v1::ModelInfo info;
  const grpc::Status status = (*client)->stub().GetModelInfo(
      &context, v1::GetModelInfoRequest(), &info);
  if (!status.ok()) {
    return ops::RpcError("GetModelInfo", (*client)->address(), status);
  }
  if (o.json) {
    PrintJson(info);
  } else {
    PrintReadable((*client)->address(), info);
  }
  return absl::OkStatus();
}

}  // namespace dwae
