// dwaed: the dwae daemon. Flags live here only; they are copied into
// ServerOptions (server/options.h) once.
#include <malloc.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "core/config.h"
#include "core/feature_schema.h"
#include "core/file_system.h"
#include "server/auth.h"
#include "server/daemon.h"
#include "server/options.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC address host:port (port 0: any free port)");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9464",
          "Prometheus /metrics address host:port; empty disables it");
ABSL_FLAG(std::string, state_dir, "",
          "directory for the checkpoint; empty keeps the model in memory only");
ABSL_FLAG(std::string, config, "",
          "text-format dwae.v1.DaemonConfig file (model, device, learning, "
          "threshold, serving)");
ABSL_FLAG(double, checkpoint_interval, 60,
          "seconds between periodic checkpoints (0: only on shutdown)");
ABSL_FLAG(bool, start_fresh, false,
          "if the checkpoint cannot be used, move it aside and start a new "
          "model instead of refusing to start");
ABSL_FLAG(double, drain_deadline, 10,
          "seconds in-flight calls and streams get to finish on SIGTERM");
ABSL_FLAG(int, max_message_bytes, 16 << 20, "largest gRPC message, bytes");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM server certificate chain: serve gRPC over TLS (needs "
          "--tls_key); empty: plaintext");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA certificates: require every client to present a "
          "certificate signed by one of them (mutual TLS; needs --tls_cert)");
ABSL_FLAG(std::string, admin_token_file, "",
          "file holding the bearer token the admin RPCs (Checkpoint, "
          "SetLearning, SetThreshold, ResetModel) require; empty: admin RPCs "
          "only from loopback clients");
ABSL_FLAG(std::string, schema, "",
          "feature schema of a new model: kdd (NSL-KDD / KDD99 records) or "
          "zeek (Zeek conn.log connections); pins it (as model.feature_schema "
          "in --config does). Empty: a new model takes the schema of the "
          "first valid record or connection it receives");
ABSL_FLAG(std::string, ensemble, "",
          "the served model as an ensemble, in dwae eval --ensemble form: k1 "
          "(one autoencoder), k5 (five, scores averaged), k5-g32 (five per "
          "KitNET feature group of <= 32 dimensions); overrides "
          "model.ensemble of --config. Empty: --config's, else the rule's "
          "default (k5-g32 for dw-stochastic, k1-l1 for dw-shadow, k1 for "
          "float)");
ABSL_FLAG(int, max_sensors, 0,
          "Zeek sensors whose feature windows are kept, the least recently "
          "seen evicted (0: serving.max_sensors of --config, default 256)");
ABSL_FLAG(int64_t, grpc_memory_bytes, 32 << 20,
          "memory gRPC may use for buffers (resource quota), bytes");

// Kafka (docs/kafka.md); each overrides the `kafka` block of --config.
ABSL_FLAG(std::string, kafka_brokers, "",
          "consume Kafka: bootstrap brokers host:port,...; empty: no Kafka");
ABSL_FLAG(std::string, kafka_topics, "", "topics to consume, T1,T2");
ABSL_FLAG(std::string, kafka_group, "", "consumer group (default dwaed)");
ABSL_FLAG(std::string, kafka_format, "",
          "record format of the messages: zeek-json, zeek, nsl-kdd (default) "
          "or kdd99");
ABSL_FLAG(std::string, kafka_start, "",
          "where a group with no committed offset starts: earliest "
          "(default) or latest");
ABSL_FLAG(std::string, kafka_instance_id, "",
          "group.instance.id for static membership (default: $POD_NAME)");
ABSL_FLAG(std::string, kafka_verdicts_topic, "",
          "produce verdicts as JSON to this topic");
ABSL_FLAG(std::string, kafka_verdicts, "",
          "which verdicts to produce: anomalies (default) or all");
ABSL_FLAG(std::vector<std::string>, kafka_property, {},
          "KEY=VALUE passed to librdkafka (TLS, SASL, tuning); repeatable");
ABSL_FLAG(int, kafka_batch, 0, "records per scoring batch (default 2048)");

namespace dwae::server {
namespace {

// The PEM file `path` of `flag`; an error naming both when it cannot be read
// or holds no PEM block.
absl::StatusOr<std::string> ReadPemFlag(absl::string_view flag,
                                        const std::string& path) {
  absl::StatusOr<std::string> text = DefaultFileSystem()->ReadFile(path);
  if (!text.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, ": cannot read ", path, ": ", text.status().message()));
  }
  if (!absl::StrContains(*text, "-----BEGIN ")) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": ", path, " is not a PEM file"));
  }
  return text;
}

// --tls_cert, --tls_key, --tls_client_ca, each read once.
absl::StatusOr<TlsOptions> TlsFromFlags() {
  const std::string cert = absl::GetFlag(FLAGS_tls_cert);
  const std::string key = absl::GetFlag(FLAGS_tls_key);
  const std::string client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  TlsOptions tls;
  if (cert.empty()) {
    if (!key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tls_key=", key, " needs --tls_cert"));
    }
    if (!client_ca.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--tls_client_ca=", client_ca, " needs --tls_cert"));
    }
    return tls;
  }
  if (key.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_cert=", cert, " needs --tls_key"));
  }
  absl::StatusOr<std::string> pem = ReadPemFlag("tls_cert", cert);
  if (!pem.ok()) return pem.status();
  tls.cert_chain = *std::move(pem);
  pem = ReadPemFlag("tls_key", key);
  if (!pem.ok()) return pem.status();
  tls.private_key = *std::move(pem);
  if (!client_ca.empty()) {
    pem = ReadPemFlag("tls_client_ca", client_ca);
    if (!pem.ok()) return pem.status();
    tls.client_ca = *std::move(pem);
  }
  return tls;
}

// --schema and --max_sensors over the config file's model.feature_schema
// and serving.max_sensors.
absl::StatusOr<ServerOptions> ApplyInputFlags(const v1::DaemonConfig& proto,
                                              ServerOptions o) {
  EngineOptions& e = o.engine;
  e.schema_pinned = proto.model().has_feature_schema();
  if (const std::string name = absl::GetFlag(FLAGS_schema); !name.empty()) {
    absl::StatusOr<FeatureSchema> schema = ParseFeatureSchema(name);
    if (!schema.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--schema: ", schema.status().message()));
    }
    e.detector.SetSchema(*schema);
    e.schema_pinned = true;
  }
  e.zeek.max_sensors = e.detector.serving.max_sensors;
  if (const int max = absl::GetFlag(FLAGS_max_sensors); max != 0) {
    if (max < 1 || max > 1000000) {
      return absl::InvalidArgumentError(
          "--max_sensors: must be in [1, 1000000]");
    }
    e.zeek.max_sensors = size_t(max);
  }
  return o;
}

// Every --kafka_property occurrence (absl keeps only the last one of a
// repeated flag, and a value may itself hold commas).
std::vector<std::string> KafkaPropertyArgs(int argc, char** argv) {
  std::vector<std::string> values;
  const absl::string_view flag = "--kafka_property";
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (absl::ConsumePrefix(&arg, "-")) absl::ConsumePrefix(&arg, "-");
    if (!absl::ConsumePrefix(&arg, flag.substr(2))) continue;
    if (absl::ConsumePrefix(&arg, "=")) {
      values.emplace_back(arg);
    } else if (arg.empty() && i + 1 < argc) {
      values.emplace_back(argv[++i]);
    }
  }
  return values;
}

// The `kafka` block of --config with the --kafka_* flags over it.
absl::StatusOr<KafkaOptions> KafkaFromFlags(
    const v1::KafkaSettings& config,
    const std::vector<std::string>& property_args) {
  KafkaOptions k;
  auto pick = [](const std::string& flag, const std::string& from_config,
                 const std::string& fallback) {
    return !flag.empty() ? flag : !from_config.empty() ? from_config : fallback;
  };
  k.brokers = pick(absl::GetFlag(FLAGS_kafka_brokers),
                   absl::StrJoin(config.brokers(), ","), "");
  const std::string topics = pick(absl::GetFlag(FLAGS_kafka_topics),
                                  absl::StrJoin(config.topics(), ","), "");
  k.topics = absl::StrSplit(topics, ',', absl::SkipWhitespace());
  k.group = pick(absl::GetFlag(FLAGS_kafka_group), config.group(), "dwaed");
  k.format =
      pick(absl::GetFlag(FLAGS_kafka_format), config.format(), "nsl-kdd");
  const char* pod = std::getenv("POD_NAME");
  k.instance_id = pick(absl::GetFlag(FLAGS_kafka_instance_id),
                       config.instance_id(), pod == nullptr ? "" : pod);
  k.verdicts_topic = pick(absl::GetFlag(FLAGS_kafka_verdicts_topic),
                          config.verdicts_topic(), "");
  const std::string start =
      pick(absl::GetFlag(FLAGS_kafka_start), config.start(), "earliest");
  if (start != "earliest" && start != "latest") {
    return absl::InvalidArgumentError(
        absl::StrCat("--kafka_start: '", start, "' is not earliest or latest"));
  }
  k.start_earliest = start == "earliest";
  const std::string which =
      pick(absl::GetFlag(FLAGS_kafka_verdicts), config.verdicts(), "anomalies");
  if (which != "anomalies" && which != "all") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--kafka_verdicts: '", which, "' is not anomalies or all"));
  }
  k.verdicts = which == "all" ? KafkaVerdicts::kAll : KafkaVerdicts::kAnomalies;
  std::vector<std::string> properties(config.properties().begin(),
                                      config.properties().end());
  properties.insert(properties.end(), property_args.begin(),
                    property_args.end());
  for (const std::string& p : properties) {
    const size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--kafka_property: '", p, "' is not KEY=VALUE"));
    }
    k.properties.emplace_back(p.substr(0, eq), p.substr(eq + 1));
  }
  const int batch = absl::GetFlag(FLAGS_kafka_batch);
  if (batch < 0)
    return absl::InvalidArgumentError("--kafka_batch: must be > 0");
  k.batch_records = batch > 0                    ? uint32_t(batch)
                    : config.has_batch_records() ? config.batch_records()
                                                 : k.batch_records;
  if (config.has_pause_after_ms()) {
    k.pause_after = absl::Milliseconds(config.pause_after_ms());
  }
  if (k.enabled() && k.topics.empty()) {
    return absl::InvalidArgumentError("--kafka_topics: at least one topic");
  }
  return k;
}

absl::StatusOr<ServerOptions> OptionsFromFlags(
    const std::vector<std::string>& kafka_property_args) {
  ServerOptions o;
  o.listen = absl::GetFlag(FLAGS_listen);
  o.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  absl::StatusOr<TlsOptions> tls = TlsFromFlags();
  if (!tls.ok()) return tls.status();
  o.tls = *std::move(tls);
  if (const std::string path = absl::GetFlag(FLAGS_admin_token_file);
      !path.empty()) {
    std::string warning;
    absl::StatusOr<std::string> token =
        LoadTokenFile(path, "--admin_token_file", &warning);
    if (!token.ok()) return token.status();
    if (!warning.empty()) {
      std::fprintf(stderr, "dwaed: warning: %s\n", warning.c_str());
    }
    o.admin_token = *std::move(token);
  }
  o.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  o.grpc_memory_bytes = absl::GetFlag(FLAGS_grpc_memory_bytes);
  if (o.grpc_memory_bytes < (1 << 20)) {
    return absl::InvalidArgumentError("--grpc_memory_bytes: at least 1 MiB");
  }
  o.drain_deadline_seconds = absl::GetFlag(FLAGS_drain_deadline);
  o.build_version = DWAE_VERSION;
  o.engine.state_dir = absl::GetFlag(FLAGS_state_dir);
  o.engine.checkpoint_interval_seconds =
      absl::GetFlag(FLAGS_checkpoint_interval);
  o.engine.start_fresh = absl::GetFlag(FLAGS_start_fresh);
  if (o.max_message_bytes < 1024) {
    return absl::InvalidArgumentError("--max_message_bytes: at least 1024");
  }
  if (!(o.engine.checkpoint_interval_seconds >= 0)) {
    return absl::InvalidArgumentError("--checkpoint_interval: must be >= 0");
  }
  const std::string path = absl::GetFlag(FLAGS_config);
  v1::DaemonConfig proto;
  if (!path.empty()) {
    absl::StatusOr<std::string> text = DefaultFileSystem()->ReadFile(path);
    if (!text.ok()) return text.status();
    absl::StatusOr<v1::DaemonConfig> parsed = ParseDaemonConfigText(*text);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", parsed.status().message()));
    }
    proto = *std::move(parsed);
  }
  if (const std::string spec = absl::GetFlag(FLAGS_ensemble); !spec.empty()) {
    if (absl::StatusOr<EnsembleOptions> e = ParseEnsembleSpec(spec, {});
        !e.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--ensemble: ", e.status().message()));
    }
    proto.mutable_model()->set_ensemble(spec);
  }
  absl::StatusOr<DetectorConfig> config = DetectorConfigFromProto(proto);
  if (!config.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path.empty() ? "config" : path, ": ", config.status().message()));
  }
  o.engine.detector = *std::move(config);
  absl::StatusOr<KafkaOptions> kafka =
      KafkaFromFlags(proto.kafka(), kafka_property_args);
  if (!kafka.ok()) return kafka.status();
  o.kafka = *std::move(kafka);
  return ApplyInputFlags(proto, o);
}

// Loud warnings for a gRPC port reachable from other hosts without a token
// or without TLS. Not errors: the operator may have a firewall or a proxy.
void WarnAboutExposure(const ServerOptions& o) {
  if (IsLoopbackListenAddress(o.listen)) return;
  if (o.admin_token.empty()) {
    std::fprintf(
        stderr,
        "dwaed: WARNING: gRPC listens on %s (not loopback) without "
        "--admin_token_file: admin RPCs (Checkpoint, SetLearning, "
        "SetThreshold, ResetModel) are refused to remote clients and allowed "
        "to every local one; set --admin_token_file to administer remotely\n",
        o.listen.c_str());
  }
  if (!o.tls.enabled()) {
    std::fprintf(
        stderr,
        "dwaed: WARNING: gRPC listens on %s (not loopback) in "
        "plaintext%s; use --tls_cert/--tls_key\n",
        o.listen.c_str(),
        o.admin_token.empty() ? "" : ": the admin token travels in clear");
  }
}

// Blocks SIGINT and SIGTERM in every thread started after this, so that
// WaitForSignal receives them synchronously.
sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

int Main(int argc, char** argv) {
#ifdef __GLIBC__
  // glibc gives every thread that allocates its own heap arena (gRPC runs
  // many); two arenas keep the daemon's footprint small on edge boxes.
  mallopt(M_ARENA_MAX, 2);
#endif
  // Debian builds Abseil without NDEBUG, so every absl::Mutex lock (gRPC's
  // too) runs the debug deadlock detector: a global graph under a global
  // lock, measured at 1-3% of the daemon's CPU and shared by every thread.
  // The tests keep it (they link the engine without this main).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::SetProgramUsageMessage(
      "dwaed: the dwae anomaly-detection daemon.\n"
      "usage: dwaed [--listen=ADDR] [--metrics_listen=ADDR] "
      "[--state_dir=DIR] [--config=FILE]\n"
      "       [--schema=kdd|zeek] [--max_sensors=N] [--ensemble=SPEC]\n"
      "       [--tls_cert=PEM --tls_key=PEM [--tls_client_ca=PEM]] "
      "[--admin_token_file=FILE]");
  const std::vector<std::string> kafka_properties =
      KafkaPropertyArgs(argc, argv);
  absl::ParseCommandLine(argc, argv);
  const sigset_t signals = BlockStopSignals();
  absl::StatusOr<ServerOptions> options = OptionsFromFlags(kafka_properties);
  if (!options.ok()) {
    std::fprintf(stderr, "dwaed: %s\n",
                 std::string(options.status().message()).c_str());
    return 2;
  }
  absl::StatusOr<std::unique_ptr<Daemon>> daemon = Daemon::Create(*options);
  absl::Status started = daemon.ok() ? (*daemon)->Start() : daemon.status();
  if (!started.ok()) {
    std::fprintf(stderr, "dwaed: %s\n", std::string(started.message()).c_str());
    return 1;
  }
  Daemon& d = **daemon;
  WarnAboutExposure(*options);
  std::printf("dwaed: serving gRPC on %s (port %d)%s\n",
              options->listen.c_str(), d.grpc_port(),
              !options->tls.enabled()          ? ""
              : options->tls.client_ca.empty() ? " with TLS"
                                               : " with mutual TLS");
  if (d.metrics_port() != 0) {
    std::printf("dwaed: metrics on http://%s/metrics (port %d)\n",
                options->metrics_listen.c_str(), d.metrics_port());
  }
  std::printf("dwaed: state in %s\n", options->engine.state_dir.empty()
                                          ? "memory only"
                                          : options->engine.state_dir.c_str());
  std::fflush(stdout);
  int signal = 0;
  sigwait(&signals, &signal);
  std::printf("dwaed: signal %d, draining\n", signal);
  std::fflush(stdout);
  d.GracefulStop();
  std::printf("dwaed: stopped\n");
  return 0;
}

}  // namespace
}  // namespace dwae::server

int main(int argc, char** argv) { return dwae::server::Main(argc, argv); }
