#include "client/sync_command.h"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "client/json.h"
#include "client/ops_internal.h"

namespace dwae {

absl::StatusOr<v1::SyncResponse> SyncDaemon(DetectorClient& client,
                                            absl::Duration timeout) {
  grpc::ClientContext context;
  ops::SetDeadline(&context, timeout);
  v1::SyncResponse response;
  const grpc::Status status =
      client.stub().Sync(&context, v1::SyncRequest(), &response);
  if (!status.ok()) return ops::RpcError("Sync", client.address(), status);
  return response;
}

bool WarmupConsolidationPending(const v1::ModelInfo& info) {
  if (info.consolidating()) return true;
  return info.warming_up() && info.warmup_records() > 0 &&
         info.warmup_records_learned() + info.learn_queue_depth() >=
             info.warmup_records();
}

absl::StatusOr<bool> WaitForWarmupConsolidation(DetectorClient& client,
                                                absl::Duration timeout,
                                                const std::string& who) {
  v1::ModelInfo info;
  {
    grpc::ClientContext context;
    ops::SetDeadline(&context, timeout);
    const grpc::Status status =
        client.stub().GetModelInfo(&context, v1::GetModelInfoRequest(), &info);
    if (!status.ok()) {
      return ops::RpcError("GetModelInfo", client.address(), status);
    }
  }
  if (!WarmupConsolidationPending(info)) return false;
  std::fprintf(stderr,
               "%s: %s is consolidating its warm-up (%llu records); waiting "
               "for it\n",
               who.c_str(), client.address().c_str(),
               static_cast<unsigned long long>(info.warmup_records()));
  absl::StatusOr<v1::SyncResponse> synced = SyncDaemon(client, timeout);
  if (!synced.ok()) return synced.status();
  return true;
}

absl::StatusOr<LearnerSync> LearnerSync::Connect(
    const std::vector<std::string>& servers, const ChannelSecurity& security,
    absl::Duration connect_timeout) {
  LearnerSync sync;
  for (const std::string& server : servers) {
    absl::StatusOr<std::unique_ptr<DetectorClient>> client =
        DetectorClient::Connect(server, connect_timeout, security);
    if (!client.ok()) return client.status();
    sync.clients_.push_back(*std::move(client));
  }
  return sync;
}

absl::Status LearnerSync::WaitForWarmups(absl::Duration timeout,
                                         const std::string& who) {
  for (const std::shared_ptr<DetectorClient>& client : clients_) {
    absl::StatusOr<bool> waited =
        WaitForWarmupConsolidation(*client, timeout, who);
    if (!waited.ok()) return waited.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<double> LearnerSync::SyncAll(absl::Duration timeout) {
  double longest = 0;
  for (const std::shared_ptr<DetectorClient>& client : clients_) {
    absl::StatusOr<v1::SyncResponse> r = SyncDaemon(*client, timeout);
    if (!r.ok()) return r.status();
    longest = std::max(longest, r->seconds());
  }
  return longest;
}

absl::Status RunSyncCommand(const SyncCommandOptions& o) {
  absl::StatusOr<std::unique_ptr<DetectorClient>> client =
      DetectorClient::Connect(o.connection.server, o.connection.timeout,
                              o.connection.security);
  if (!client.ok()) return client.status();
  absl::StatusOr<v1::SyncResponse> r =
      SyncDaemon(**client, o.connection.timeout);
  if (!r.ok()) return r.status();
  if (o.json) {
    Json doc;
    doc["server"] = (*client)->address();
    doc["model_version"] = r->model_version();
    doc["warming_up"] = r->warming_up();
    doc["threshold"] = r->threshold();  // null while warming up (+inf)
    doc["threshold_source"] = r->threshold_source();
    doc["records_learned"] = r->records_learned();
    doc["records_waited_for"] = r->records_waited_for();
    doc["seconds"] = r->seconds();
    std::printf("%s\n", DumpJson(doc).c_str());
    return absl::OkStatus();
  }
  std::printf(
      "dwaed at %s synced in %.3f s (waited for %llu records)\n"
      "  model version    %llu%s\n"
      "  threshold        %s, source %s\n"
      "  records learned  %llu\n",
      (*client)->address().c_str(), r->seconds(),
      static_cast<unsigned long long>(r->records_waited_for()),
      static_cast<unsigned long long>(r->model_version()),
      r->warming_up() ? " (still warming up)" : "",
      ops::FormatThreshold(r->threshold()).c_str(),
      r->threshold_source().c_str(),
      static_cast<unsigned long long>(r->records_learned()));
  return absl::OkStatus();
}

}  // namespace dwae
