// Access control of dwaed's admin RPCs (Checkpoint, SetLearning,
// SetThreshold, ResetModel): a bearer token read from --admin_token_file,
// sent by clients as the gRPC metadata `authorization: Bearer <token>`.
//
//   missing or malformed header        -> UNAUTHENTICATED
//   a token that is not the right one  -> PERMISSION_DENIED
//   no token configured                -> open to loopback peers only
//
// The read path (Score, Stream, QueryVerdicts, GetModelInfo, health) is never
// checked here: sensors and services use it. Transport security (TLS, mTLS)
// is the gRPC listener's business (server/daemon.cc).
//
// Pure functions and an immutable class: no gRPC types, unit-testable
// (tests/server/auth_test.cc). Thread-safe.
#ifndef DWAE_SERVER_AUTH_H_
#define DWAE_SERVER_AUTH_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dwae::server {

// Longest accepted admin token, bytes. ConstantTimeEquals always walks this
// many bytes, so its running time depends on neither input's length nor
// content.
inline constexpr size_t kMaxTokenBytes = 1024;

// True when `a` and `b` are the same bytes, in time independent of where
// they differ and of their lengths: both are copied into zero-padded
// buffers of kMaxTokenBytes, every byte pair is XOR-ed into one accumulator
// without an early exit, and the lengths are compared the same way (so "ab"
// and "ab\0" differ). Inputs longer than kMaxTokenBytes never compare equal.
// (The copies take time proportional to each input's length; that reveals
// only the caller's own length, and the configured token's, which is the
// same on every call.)
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// The token of an `authorization` header value: "Bearer <token>", the scheme
// case-insensitive ("bearer x" is fine), spaces or tabs around and between
// the parts ignored. nullopt for another scheme or an empty token.
std::optional<absl::string_view> ParseBearerToken(absl::string_view header);

// The token file's contents with the trailing newline (and any trailing
// whitespace) removed. Errors name `flag` and `path`: an unreadable file, an
// empty token, a token longer than kMaxTokenBytes or containing whitespace
// or control characters. When the file's mode lets group or others read it,
// `warning` (if not null) gets a message to log; that is not an error (a
// mounted secret may be 0644 inside a container).
absl::StatusOr<std::string> LoadTokenFile(const std::string& path,
                                          absl::string_view flag,
                                          std::string* warning);

// True for a listen address on loopback: 127.0.0.0/8, [::1], localhost, or a
// unix socket ("unix:..."). Anything else (0.0.0.0, [::], a host name, an
// interface address) is reachable from outside.
bool IsLoopbackListenAddress(absl::string_view listen);

// True for a gRPC peer string (grpc::ServerContext::peer()) of a loopback
// client: "ipv4:127.x.x.x:port", "ipv6:[::1]:port",
// "ipv6:[::ffff:127.x.x.x]:port" or "unix:...".
bool IsLoopbackPeer(absl::string_view peer);

class AdminAuth {
 public:
  // `token` empty: no token configured; admin calls are allowed from
  // loopback peers only.
  explicit AdminAuth(std::string token) : token_(std::move(token)) {}

  bool has_token() const { return !token_.empty(); }

  // Decides one admin call. `authorization` is the value of the call's
  // `authorization` metadata (nullopt when absent); `peer` the caller
  // (grpc::ServerContext::peer()). OK, UNAUTHENTICATED or PERMISSION_DENIED;
  // the messages never contain the token.
  absl::Status Check(std::optional<absl::string_view> authorization,
                     absl::string_view peer) const;

 private:
  const std::string token_;
};

}  // namespace dwae::server

#endif  // DWAE_SERVER_AUTH_H_
