#include "client/grpc_client.h"

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/record_proto.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/client_interceptor.h"

namespace dwae {
namespace {

// `path` of `flag`, read whole; an error names both.
absl::StatusOr<std::string> ReadFlagFile(absl::string_view flag,
                                         const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, ": cannot read ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": error reading ", path));
  }
  return text.str();
}

// Adds `authorization: Bearer <token>` to every call of the channel.
class TokenInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit TokenInterceptor(std::string header) : header_(std::move(header)) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::
                PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", header_});
    }
    methods->Proceed();
  }

 private:
  const std::string header_;
};

class TokenInterceptorFactory
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit TokenInterceptorFactory(const std::string& token)
      : header_(absl::StrCat("Bearer ", token)) {}

  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new TokenInterceptor(header_);
  }

 private:
  const std::string header_;
};

}  // namespace

void ExpandBatchRefusal(const v1::RecordBatch& batch,
                        v1::VerdictBatch* verdicts) {
  if (verdicts->error_code() == 0) return;
  verdicts->clear_verdicts();
  auto refuse = [&](const std::string& id, const std::string& sensor_id) {
    v1::Verdict* v = verdicts->add_verdicts();
    v->set_id(id);
    v->set_sensor_id(sensor_id);
    v->set_error_code(verdicts->error_code());
    v->set_error_message(
        absl::StrCat("batch refused: ", verdicts->error_message()));
  };
  for (const v1::Record& r : batch.records()) refuse(r.id(), r.sensor_id());
  for (const v1::Connection& c : batch.connections()) {
    refuse(ConnectionVerdictId(c), c.sensor_id());
  }
}

absl::Status ChannelSecurity::Validate() const {
  if (tls_cert.empty() != tls_key.empty()) {
    return absl::InvalidArgumentError(
        tls_cert.empty()
            ? absl::StrCat("--tls_key=", tls_key, " needs --tls_cert")
            : absl::StrCat("--tls_cert=", tls_cert, " needs --tls_key"));
  }
  if (!tls_server_name.empty() && !tls()) {
    return absl::InvalidArgumentError(
        "--tls_server_name needs TLS: give --tls_ca");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(
    const std::string& address, const ChannelSecurity& security,
    grpc::ChannelArguments args, absl::Duration timeout) {
  if (address.empty()) {
    return absl::InvalidArgumentError("no server address given");
  }
  if (absl::Status s = security.Validate(); !s.ok()) return s;
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (security.tls()) {
    grpc::SslCredentialsOptions ssl;
    if (!security.tls_ca.empty()) {
      absl::StatusOr<std::string> pem = ReadFlagFile("tls_ca", security.tls_ca);
      if (!pem.ok()) return pem.status();
      ssl.pem_root_certs = *std::move(pem);
    }
    if (!security.tls_cert.empty()) {
      absl::StatusOr<std::string> pem =
          ReadFlagFile("tls_cert", security.tls_cert);
      if (!pem.ok()) return pem.status();
      ssl.pem_cert_chain = *std::move(pem);
      pem = ReadFlagFile("tls_key", security.tls_key);
      if (!pem.ok()) return pem.status();
      ssl.pem_private_key = *std::move(pem);
    }
    credentials = grpc::SslCredentials(ssl);
    if (!security.tls_server_name.empty()) {
      args.SetSslTargetNameOverride(security.tls_server_name);
    }
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  std::vector<
      std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
      interceptors;
  if (!security.token_file.empty()) {
    absl::StatusOr<std::string> token =
        ReadFlagFile("token_file", security.token_file);
    if (!token.ok()) return token.status();
    const absl::string_view trimmed =
        absl::StripTrailingAsciiWhitespace(*token);
    if (trimmed.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--token_file: ", security.token_file, " is empty"));
    }
    interceptors.push_back(
        std::make_unique<TokenInterceptorFactory>(std::string(trimmed)));
  }
  std::shared_ptr<grpc::Channel> channel =
      grpc::experimental::CreateCustomChannelWithInterceptors(
          address, credentials, args, std::move(interceptors));
  if (channel == nullptr ||
      !channel->WaitForConnected(absl::ToChronoTime(absl::Now() + timeout))) {
    return absl::UnavailableError(absl::StrCat(
        "cannot reach ", address, " within ", absl::FormatDuration(timeout),
        security.tls()
            ? " over TLS (is dwaed running with TLS, signed by --tls_ca, "
              "and does it accept this client's certificate?)"
            : " (is dwaed running? with TLS it needs --tls_ca)"));
  }
  return channel;
}

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
    const std::string& address, absl::Duration timeout,
    const ChannelSecurity& security) {
  grpc::ChannelArguments args;
  // Verdict batches carry the top features of every record; do not cap them
  // at gRPC's 4 MiB default.
  args.SetMaxReceiveMessageSize(-1);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      OpenChannel(address, security, std::move(args), timeout);
  if (!channel.ok()) return channel.status();
  return std::unique_ptr<DetectorClient>(
      new DetectorClient(address, *std::move(channel)));
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
  // The batches written and not yet answered, in order (the daemon answers
  // in order), for the ids of a batch refused as a whole; and answered ones
  // kept for reuse (Clear keeps their records' allocations). Guarded by mu.
  // The reader only reads a batch in `sent`; the writer takes one from
  // `spare` only after the Write that sent it returned.
  std::deque<std::unique_ptr<v1::RecordBatch>> sent;
  std::vector<std::unique_ptr<v1::RecordBatch>> spare;

  // One reader and one writer may use a sync stream concurrently. Reading on
  // a thread of its own means the daemon never blocks writing verdicts while
  // we block writing records.
  std::thread reader([&] {
    v1::VerdictBatch verdicts;
    while (stream->Read(&verdicts)) {
      std::unique_ptr<v1::RecordBatch> answered;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!sent.empty()) {
          answered = std::move(sent.front());
          sent.pop_front();
        }
      }
      if (answered != nullptr) ExpandBatchRefusal(*answered, &verdicts);
      sink(verdicts);
      std::lock_guard<std::mutex> lock(mu);
      --in_flight;
      if (answered != nullptr) spare.push_back(std::move(answered));
      cv.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu);
    reader_done = true;
    cv.notify_all();
  });

  absl::Status source_status;
  while (true) {
    std::unique_ptr<v1::RecordBatch> batch;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight < max_in_flight || reader_done; });
      // The daemon ended the stream early; Finish() says why.
      if (reader_done) break;
      if (!spare.empty()) {
        batch = std::move(spare.back());
        spare.pop_back();
      }
    }
    if (batch == nullptr) batch = std::make_unique<v1::RecordBatch>();
    batch->Clear();
    absl::StatusOr<bool> produced = next(batch.get());
    if (!produced.ok()) {
      source_status = produced.status();
      context.TryCancel();
      break;
    }
    if (!*produced) break;
    const v1::RecordBatch* to_write = batch.get();
    {
      std::lock_guard<std::mutex> lock(mu);
      ++in_flight;
      sent.push_back(std::move(batch));
    }
    if (!stream->Write(*to_write)) break;  // broken; see Finish()
  }
  if (source_status.ok()) stream->WritesDone();
  reader.join();
  const grpc::Status status = stream->Finish();
  if (!source_status.ok()) return source_status;
  return FromGrpcStatus(status);
}

}  // namespace dwae
