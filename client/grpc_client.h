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
#include "grpcpp/support/status.h"

namespace dwae {

// The one place where a grpc::Status becomes an absl::Status. The message is
// kept as is; an OK status maps to absl::OkStatus().
absl::Status FromGrpcStatus(const grpc::Status& status);

class DetectorClient {
 public:
  // Produces the next batch to send into `batch` (cleared beforehand).
  // Returns true when a batch was produced, false at the end of the input,
  // or an error, which cancels the stream and is returned by StreamBatches.
  using BatchSource = std::function<absl::StatusOr<bool>(v1::RecordBatch*)>;
  // Called once per VerdictBatch received, in the order the batches were
  // sent, from StreamBatches' reader thread (never concurrently with
  // itself).
  using VerdictSink = std::function<void(const v1::VerdictBatch&)>;

  // Opens an insecure channel to `address` (host:port) and waits up to
  // `timeout` for it to connect. Errors: UNAVAILABLE "cannot reach ADDRESS
  // within 5s" when the daemon does not answer in time.
  static absl::StatusOr<std::unique_ptr<DetectorClient>> Connect(
      const std::string& address, absl::Duration timeout);

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
