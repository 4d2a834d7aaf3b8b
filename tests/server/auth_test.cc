// Unit tests of server/auth: the constant-time compare, the Bearer header
// parsing, the token file and the loopback rules of AdminAuth.
#include "server/auth.h"

#include <sys/stat.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dwae::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ConstantTimeEqualsTest, EqualAndDifferent) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("token", "token"));
  EXPECT_FALSE(ConstantTimeEquals("token", "tokeN"));
  EXPECT_FALSE(ConstantTimeEquals("token", "Token"));
  EXPECT_FALSE(ConstantTimeEquals("token", ""));
  EXPECT_FALSE(ConstantTimeEquals("", "token"));
  // A prefix, and padding bytes, are not equal.
  EXPECT_FALSE(ConstantTimeEquals("tok", "token"));
  EXPECT_FALSE(ConstantTimeEquals("token", "token2"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("ab"), std::string("ab\0", 3)));
}

TEST(ConstantTimeEqualsTest, LongInputsNeverEqual) {
  const std::string max(kMaxTokenBytes, 'x');
  EXPECT_TRUE(ConstantTimeEquals(max, max));
  const std::string longer(kMaxTokenBytes + 1, 'x');
  EXPECT_FALSE(ConstantTimeEquals(longer, longer));
  EXPECT_FALSE(ConstantTimeEquals(max, longer));
}

TEST(ParseBearerTokenTest, Accepts) {
  EXPECT_EQ(ParseBearerToken("Bearer abc"), "abc");
  EXPECT_EQ(ParseBearerToken("bearer abc"), "abc");
  EXPECT_EQ(ParseBearerToken("BEARER abc"), "abc");
  EXPECT_EQ(ParseBearerToken("  Bearer    abc  "), "abc");
  EXPECT_EQ(ParseBearerToken("Bearer\tabc"), "abc");
}

TEST(ParseBearerTokenTest, Rejects) {
  EXPECT_EQ(ParseBearerToken(""), std::nullopt);
  EXPECT_EQ(ParseBearerToken("Bearer"), std::nullopt);
  EXPECT_EQ(ParseBearerToken("Bearer   "), std::nullopt);
  EXPECT_EQ(ParseBearerToken("Bearerabc"), std::nullopt);
  EXPECT_EQ(ParseBearerToken("Basic abc"), std::nullopt);
  EXPECT_EQ(ParseBearerToken("abc"), std::nullopt);
  EXPECT_EQ(ParseBearerToken("Bearer a b"), std::nullopt);
}

TEST(AdminAuthTest, WithToken) {
  const AdminAuth auth("s3cret");
  EXPECT_TRUE(auth.has_token());
  const char* remote = "ipv4:10.1.2.3:5555";
  const char* local = "ipv4:127.0.0.1:5555";
  EXPECT_TRUE(auth.Check("Bearer s3cret", remote).ok());
  EXPECT_TRUE(auth.Check("bearer  s3cret ", local).ok());
  // A token is required from loopback peers too.
  EXPECT_EQ(auth.Check(std::nullopt, local).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.Check(std::nullopt, remote).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.Check("Basic s3cret", remote).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(auth.Check("Bearer", remote).code(),
            absl::StatusCode::kUnauthenticated);
  const absl::Status wrong = auth.Check("Bearer s3cre", remote);
  EXPECT_EQ(wrong.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(wrong.message()), Not(HasSubstr("s3cret")));
  EXPECT_EQ(auth.Check("Bearer s3cret2", remote).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(AdminAuthTest, WithoutTokenOnlyLoopbackPeers) {
  const AdminAuth auth("");
  EXPECT_FALSE(auth.has_token());
  EXPECT_TRUE(auth.Check(std::nullopt, "ipv4:127.0.0.1:4000").ok());
  EXPECT_TRUE(auth.Check(std::nullopt, "ipv4:127.8.9.10:4000").ok());
  EXPECT_TRUE(auth.Check(std::nullopt, "ipv6:[::1]:4000").ok());
  EXPECT_TRUE(auth.Check(std::nullopt, "ipv6:[::ffff:127.0.0.1]:4000").ok());
  EXPECT_TRUE(auth.Check(std::nullopt, "unix:/run/dwae.sock").ok());
  EXPECT_EQ(auth.Check(std::nullopt, "ipv4:10.0.0.1:4000").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(auth.Check("Bearer x", "ipv6:[2001:db8::1]:4000").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(auth.Check(std::nullopt, "ipv4:128.0.0.1:4000").code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(LoopbackTest, ListenAddresses) {
  EXPECT_TRUE(IsLoopbackListenAddress("127.0.0.1:50051"));
  EXPECT_TRUE(IsLoopbackListenAddress("127.0.0.1:0"));
  EXPECT_TRUE(IsLoopbackListenAddress("localhost:50051"));
  EXPECT_TRUE(IsLoopbackListenAddress("[::1]:50051"));
  EXPECT_TRUE(IsLoopbackListenAddress("unix:/run/dwae.sock"));
  EXPECT_FALSE(IsLoopbackListenAddress("0.0.0.0:50051"));
  EXPECT_FALSE(IsLoopbackListenAddress("[::]:50051"));
  EXPECT_FALSE(IsLoopbackListenAddress(":50051"));
  EXPECT_FALSE(IsLoopbackListenAddress("10.0.0.5:50051"));
  EXPECT_FALSE(IsLoopbackListenAddress("dwae.example:50051"));
  EXPECT_FALSE(IsLoopbackListenAddress("127.0.0.1.example:50051"));
}

class TokenFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content,
                    mode_t mode) {
    const std::string path = ::testing::TempDir() + "/auth_test_" + name;
    FILE* f = std::fopen(path.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    std::fwrite(content.data(), 1, content.size(), f);
    std::fclose(f);
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }
};

TEST_F(TokenFileTest, TrimsTheNewline) {
  std::string warning;
  absl::StatusOr<std::string> t =
      LoadTokenFile(Write("ok", "abc123\n", 0600), "--f", &warning);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, "abc123");
  EXPECT_EQ(warning, "");
  t = LoadTokenFile(Write("crlf", "abc123\r\n\n", 0600), "--f", &warning);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, "abc123");
}

TEST_F(TokenFileTest, WarnsWhenOthersCanRead) {
  std::string warning;
  absl::StatusOr<std::string> t =
      LoadTokenFile(Write("open", "abc\n", 0644), "--f", &warning);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(warning, HasSubstr("readable by group or others"));
}

TEST_F(TokenFileTest, Errors) {
  absl::StatusOr<std::string> t =
      LoadTokenFile(Write("empty", "\n", 0600), "--admin_token_file", nullptr);
  EXPECT_FALSE(t.ok());
  EXPECT_THAT(std::string(t.status().message()),
              HasSubstr("--admin_token_file"));
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("empty"));
  t = LoadTokenFile("/nonexistent/dwae/token", "--admin_token_file", nullptr);
  EXPECT_FALSE(t.ok());
  EXPECT_THAT(std::string(t.status().message()),
              HasSubstr("/nonexistent/dwae/token"));
  t = LoadTokenFile(::testing::TempDir(), "--admin_token_file", nullptr);
  EXPECT_FALSE(t.ok());
  EXPECT_THAT(std::string(t.status().message()), HasSubstr("regular file"));
  t = LoadTokenFile(Write("space", "a b\n", 0600), "--f", nullptr);
  EXPECT_FALSE(t.ok());
  t = LoadTokenFile(Write("long", std::string(kMaxTokenBytes + 1, 'a'), 0600),
                    "--f", nullptr);
  EXPECT_FALSE(t.ok());
}

}  // namespace
}  // namespace dwae::server
