// DetectorClient: the CLI's connection to dwaed (the dwae.v1.Detector
// service), shared by the subcommands that talk to a daemon (replay; later
// score, status, admin, bench).
//
//   absl::StatusOr<std::unique_ptr<DetectorClient>> client =
//       DetectorClient::Connect("127.0.0.1:50051", absl::Seconds(5));
//   if (!client.ok()) return client.status();  // "cannot reach ..."
//   absl::Status s = (*client)->StreamBatches(next_batch, on_verdicts);
//
// Every gRPC status leaves this file as an absl::Status (FromGrpcStatus); the
// canonical codes are the same numbers in both.
//
// Thread-safety: a DetectorClient may be used from several threads at once
// (the gRPC stub is thread-safe); each StreamBatches call runs one stream.
#ifndef DWAE_CLIENT_GRPC_CLIENT_H_
#define DWAE_CLIENT_GRPC_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "dwae/v1/detector.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/status.h"

namespace dwae {

// How the CLI authenticates to dwaed, from the flags --tls_ca, --tls_cert,
// --tls_key, --tls_server_name and --token_file (file paths, read when a
// channel is opened). Every command that connects (DetectorClient::Connect,
// ShardedStream, health, bench) opens its channels through OpenChannel below,
// the one place these take effect. Default: plaintext, no token.
struct ChannelSecurity {
  // PEM CA certificates that must have signed dwaed's certificate. Setting
  // this (or tls_cert) turns TLS on; TLS with tls_cert but no tls_ca trusts
  // gRPC's default root certificates.
  std::string tls_ca;
  // PEM client certificate chain and its private key, for a dwaed started
  // with --tls_client_ca (mutual TLS). Both or neither.
  std::string tls_cert;
  std::string tls_key;
  // The name to check dwaed's certificate against instead of the address's
  // host (GRPC_SSL_TARGET_NAME_OVERRIDE_ARG). Needs TLS.
  std::string tls_server_name;
  // File holding the admin token; every call then carries
  // `authorization: Bearer <token>` (only the admin RPCs need it).
  std::string token_file;

  bool tls() const { return !tls_ca.empty() || !tls_cert.empty(); }
  // InvalidArgument naming the flag for an inconsistent combination.
  absl::Status Validate() const;
};

// Opens a channel to `address` with `security` applied (TLS credentials,
// server-name override, a token-adding interceptor) and waits up to
// `timeout` for it to connect. Errors: InvalidArgument naming the flag and
// file when a file cannot be read; UNAVAILABLE "cannot reach ADDRESS ..."
// when the daemon does not answer, or a TLS handshake fails, in time.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(
    const std::string& address, const ChannelSecurity& security,
    grpc::ChannelArguments args, absl::Duration timeout);

// The one place where a grpc::Status becomes an absl::Status. The message is
// kept as is; an OK status maps to absl::OkStatus().
absl::Status FromGrpcStatus(const grpc::Status& status);

// A VerdictBatch that refuses `batch` as a whole (error_code non-zero, no
// verdicts: detector.proto) made into one error verdict per record or
// connection of `batch`, in order: its id and sensor_id, the batch's
// error_code, and "batch refused: " and the daemon's message. Other answers
// are left as they are.
void ExpandBatchRefusal(const v1::RecordBatch& batch,
                        v1::VerdictBatch* verdicts);

class DetectorClient {
 public:
  // Produces the next batch to send into `batch` (cleared beforehand).
  // Returns true when a batch was produced, false at the end of the input,
  // or an error, which cancels the stream and is returned by StreamBatches.
  using BatchSource = std::function<absl::StatusOr<bool>(v1::RecordBatch*)>;
  // Called once per VerdictBatch received, in the order the batches were
  // sent, from StreamBatches' reader thread (never concurrently with
  // itself). A batch the daemon refused as a whole (the batch-level
  // error_code) comes with one error verdict per entry of the batch sent
  // (ExpandBatchRefusal), so that every entry is accounted for.
  using VerdictSink = std::function<void(const v1::VerdictBatch&)>;

  // Opens a channel to `address` (host:port) with OpenChannel and waits up
  // to `timeout` for it to connect. Errors: UNAVAILABLE "cannot reach
  // ADDRESS within 5s" when the daemon does not answer in time.
  static absl::StatusOr<std::unique_ptr<DetectorClient>> Connect(
      const std::string& address, absl::Duration timeout,
      const ChannelSecurity& security = {});

  const std::string& address() const { return address_; }
  v1::Detector::Stub& stub() { return *stub_; }

  // Runs one bidirectional Stream RPC: writes the batches `next` produces on
  // the calling thread while a reader thread hands each VerdictBatch to
  // `sink`. At most `max_in_flight` batches are sent but not yet answered,
  // which keeps the pipeline full and the memory bounded. Returns the RPC's
  // final status (converted with FromGrpcStatus), or the source's error.
  absl::Status StreamBatches(const BatchSource& next, const VerdictSink& sink,
                             int max_in_flight = 8);

 private:
  DetectorClient(std::string address, std::shared_ptr<grpc::Channel> channel);

  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Detector::Stub> stub_;
};

}  // namespace dwae

#endif  // DWAE_CLIENT_GRPC_CLIENT_H_
