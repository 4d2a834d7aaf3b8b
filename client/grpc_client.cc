#include "client/grpc_client.h"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace dwae {

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

DetectorClient::DetectorClient(std::string address,
                               std::shared_ptr<grpc::Channel> channel)
    : address_(std::move(address)),
      channel_(std::move(channel)),
      stub_(v1::Detector::NewStub(channel_)) {}

absl::StatusOr<std::unique_ptr<DetectorClient>> DetectorClient::Connect(
    const std::string& address, absl::Duration timeout) {
  if (address.empty()) {
    return absl::InvalidArgumentError("no server address given");
  }
  grpc::ChannelArguments args;
  // Verdict batches carry the top features of every record; do not cap them
  // at gRPC's 4 MiB default.
  args.SetMaxReceiveMessageSize(-1);
  std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(
      address, grpc::InsecureChannelCredentials(), args);
  if (channel == nullptr ||
      !channel->WaitForConnected(absl::ToChronoTime(absl::Now() + timeout))) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach ", address, " within ",
                     absl::FormatDuration(timeout), " (is dwaed running?)"));
  }
  return std::unique_ptr<DetectorClient>(
      new DetectorClient(address, std::move(channel)));
}

absl::Status DetectorClient::StreamBatches(const BatchSource& next,
                                           const VerdictSink& sink,
                                           int max_in_flight) {
  if (max_in_flight < 1) max_in_flight = 1;
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<v1::RecordBatch, v1::VerdictBatch>>
      stream = stub_->Stream(&context);

  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;         // guarded by mu
  bool reader_done = false;  // guarded by mu

  // One reader and one writer may use a sync stream concurrently. Reading on
  // a thread of its own means the daemon never blocks writing verdicts while
  // we block writing records.
  std::thread reader([&] {
    v1::VerdictBatch verdicts;
    while (stream->Read(&verdicts)) {
      sink(verdicts);
      std::lock_guard<std::mutex> lock(mu);
      --in_flight;
      cv.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu);
    reader_done = true;
    cv.notify_all();
  });

  absl::Status source_status;
  v1::RecordBatch batch;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight < max_in_flight || reader_done; });
      // The daemon ended the stream early; Finish() says why.
      if (reader_done) break;
    }
    batch.Clear();
    absl::StatusOr<bool> produced = next(&batch);
    if (!produced.ok()) {
      source_status = produced.status();
      context.TryCancel();
      break;
    }
    if (!*produced) break;
    {
      std::lock_guard<std::mutex> lock(mu);
      ++in_flight;
    }
    if (!stream->Write(batch)) break;  // the stream is broken; see Finish()
  }
  if (source_status.ok()) stream->WritesDone();
  reader.join();
  const grpc::Status status = stream->Finish();
  if (!source_status.ok()) return source_status;
  return FromGrpcStatus(status);
}

}  // namespace dwae
