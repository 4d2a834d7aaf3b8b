// HealthService over a real loopback gRPC server: Check and Watch as the
// grpc.health.v1 protocol defines them, through the generated client stub.
#include "server/health_service.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/testing/grpc_loopback.h"

namespace dwae::server {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

constexpr char kDetector[] = "dwae.v1.Detector";

class HealthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_ = std::make_unique<HealthService>(
        std::vector<std::string>{kDetector}, absl::Milliseconds(50));
    loopback_ = testutil::StartLoopbackServer(service_.get());
    ASSERT_NE(loopback_.server, nullptr);
    stub_ = Health::NewStub(loopback_.channel);
  }
  void TearDown() override {
    service_->Shutdown();
    if (loopback_.server != nullptr) loopback_.server->Shutdown();
  }

  // Check(service): the gRPC status and the reply's serving status.
  std::pair<grpc::StatusCode, int> Check(const std::string& service) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    const grpc::Status s = stub_->Check(&context, request, &response);
    return {s.error_code(), int(response.status())};
  }

  std::unique_ptr<HealthService> service_;
  testutil::LoopbackServer loopback_;
  std::unique_ptr<Health::Stub> stub_;
};

TEST_F(HealthServiceTest, CheckFollowsSetServingForTheServerAndItsServices) {
  EXPECT_EQ(Check(""), std::make_pair(grpc::StatusCode::OK,
                                      int(HealthCheckResponse::NOT_SERVING)));
  service_->SetServing(true);
  EXPECT_EQ(Check(""), std::make_pair(grpc::StatusCode::OK,
                                      int(HealthCheckResponse::SERVING)));
  EXPECT_EQ(
      Check(kDetector),
      std::make_pair(grpc::StatusCode::OK, int(HealthCheckResponse::SERVING)));
  service_->SetServing(false);
  EXPECT_EQ(Check(kDetector).second, int(HealthCheckResponse::NOT_SERVING));
}

TEST_F(HealthServiceTest, CheckOfAnUnknownServiceIsNotFound) {
  service_->SetServing(true);
  EXPECT_EQ(Check("no.such.Service").first, grpc::StatusCode::NOT_FOUND);
}

TEST_F(HealthServiceTest, ShutdownIsNotServingForGood) {
  service_->SetServing(true);
  service_->Shutdown();
  service_->SetServing(true);
  EXPECT_EQ(Check("").second, int(HealthCheckResponse::NOT_SERVING));
}

TEST_F(HealthServiceTest, WatchSendsTheStatusThenEachChangeAndEndsAtShutdown) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  HealthCheckRequest request;
  auto reader = stub_->Watch(&context, request);
  HealthCheckResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  service_->SetServing(true);
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
  service_->Shutdown();
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(reader->Read(&response));
  const grpc::Status s = reader->Finish();
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(HealthServiceTest, WatchOfAnUnknownServiceStaysOpenUntilCancelled) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  HealthCheckRequest request;
  request.set_service("no.such.Service");
  auto reader = stub_->Watch(&context, request);
  HealthCheckResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVICE_UNKNOWN);
  // A status change of the known services is not this call's business.
  service_->SetServing(true);
  std::thread cancel([&] {
    absl::SleepFor(absl::Milliseconds(200));
    context.TryCancel();
  });
  EXPECT_FALSE(reader->Read(&response));
  cancel.join();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

}  // namespace
}  // namespace dwae::server
