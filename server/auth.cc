#include "server/auth.h"

#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace dwae::server {
namespace {

bool IsSpaceOrTab(char c) { return c == ' ' || c == '\t'; }

absl::string_view TrimSpaces(absl::string_view s) {
  while (!s.empty() && IsSpaceOrTab(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpaceOrTab(s.back())) s.remove_suffix(1);
  return s;
}

// "127.a.b.c" (any IPv4 in 127.0.0.0/8).
bool IsLoopbackIpv4(absl::string_view host) {
  if (!absl::ConsumePrefix(&host, "127.")) return false;
  int parts = 1;
  for (absl::string_view rest = host; !rest.empty();) {
    const size_t dot = rest.find('.');
    absl::string_view part = rest.substr(0, dot);
    int value = 0;
    if (part.empty() || !absl::SimpleAtoi(part, &value) || value < 0 ||
        value > 255) {
      return false;
    }
    ++parts;
    if (dot == absl::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return parts == 4;
}

// A host (no port, no brackets) on loopback.
bool IsLoopbackHost(absl::string_view host) {
  if (absl::EqualsIgnoreCase(host, "localhost") || host == "::1") return true;
  if (IsLoopbackIpv4(host)) return true;
  // IPv4-mapped IPv6.
  if (absl::ConsumePrefix(&host, "::ffff:") ||
      absl::ConsumePrefix(&host, "::FFFF:")) {
    return IsLoopbackIpv4(host);
  }
  return false;
}

// The host of "host:port", "[v6]:port" or a bare host.
absl::string_view HostOf(absl::string_view address) {
  if (absl::StartsWith(address, "[")) {
    const size_t close = address.find(']');
    if (close == absl::string_view::npos) return address;
    return address.substr(1, close - 1);
  }
  const size_t colon = address.rfind(':');
  // More than one colon without brackets: a bare IPv6 address.
  if (colon != absl::string_view::npos && address.find(':') == colon) {
    return address.substr(0, colon);
  }
  return address;
}

}  // namespace

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  std::array<unsigned char, kMaxTokenBytes> pa{};
  std::array<unsigned char, kMaxTokenBytes> pb{};
  const size_t na = a.size() < kMaxTokenBytes ? a.size() : kMaxTokenBytes;
  const size_t nb = b.size() < kMaxTokenBytes ? b.size() : kMaxTokenBytes;
  std::memcpy(pa.data(), a.data(), na);
  std::memcpy(pb.data(), b.data(), nb);
  // volatile: keeps the compiler from turning the loop into an early-exit
  // memcmp.
  volatile unsigned char diff = 0;
  for (size_t i = 0; i < kMaxTokenBytes; ++i) {
    diff = diff | static_cast<unsigned char>(pa[i] ^ pb[i]);
  }
  const uint64_t length_diff =
      static_cast<uint64_t>(a.size()) ^ static_cast<uint64_t>(b.size());
  // Over-long inputs: never equal (their tails were not compared).
  const uint64_t too_long = static_cast<uint64_t>(a.size() > kMaxTokenBytes) |
                            static_cast<uint64_t>(b.size() > kMaxTokenBytes);
  return (static_cast<uint64_t>(diff) | length_diff | too_long) == 0;
}

std::optional<absl::string_view> ParseBearerToken(absl::string_view header) {
  header = TrimSpaces(header);
  constexpr absl::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(header.substr(0, kScheme.size()), kScheme) ||
      !IsSpaceOrTab(header[kScheme.size()])) {
    return std::nullopt;
  }
  absl::string_view token = TrimSpaces(header.substr(kScheme.size()));
  if (token.empty()) return std::nullopt;
  for (char c : token) {
    if (IsSpaceOrTab(c)) return std::nullopt;  // "Bearer a b"
  }
  return token;
}

absl::StatusOr<std::string> LoadTokenFile(const std::string& path,
                                          absl::string_view flag,
                                          std::string* warning) {
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": empty path"));
  }
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": ", path, " is not a regular file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat(flag, ": cannot read ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat(flag, ": error reading ", path));
  }
  std::string token(absl::StripTrailingAsciiWhitespace(contents.str()));
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": ", path, " is empty (expected a token)"));
  }
  if (token.size() > kMaxTokenBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": ", path, ": token longer than ", kMaxTokenBytes, " bytes"));
  }
  for (char c : token) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return absl::InvalidArgumentError(absl::StrCat(
          flag, ": ", path,
          ": the token must be one line of printable characters without "
          "spaces"));
    }
  }
  if (warning != nullptr && ::stat(path.c_str(), &st) == 0 &&
      (st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    *warning = absl::StrFormat(
        "%s: %s is readable by group or others (mode %04o); chmod 600 it", flag,
        path, st.st_mode & 07777);
  }
  return token;
}

bool IsLoopbackListenAddress(absl::string_view listen) {
  if (absl::StartsWith(listen, "unix:") ||
      absl::StartsWith(listen, "unix-abstract:")) {
    return true;
  }
  absl::ConsumePrefix(&listen, "dns:");
  absl::ConsumePrefix(&listen, "ipv4:");
  absl::ConsumePrefix(&listen, "ipv6:");
  return IsLoopbackHost(HostOf(listen));
}

bool IsLoopbackPeer(absl::string_view peer) {
  if (absl::StartsWith(peer, "unix:") ||
      absl::StartsWith(peer, "unix-abstract:")) {
    return true;
  }
  if (absl::ConsumePrefix(&peer, "ipv4:") ||
      absl::ConsumePrefix(&peer, "ipv6:")) {
    return IsLoopbackHost(HostOf(peer));
  }
  return false;
}

absl::Status AdminAuth::Check(std::optional<absl::string_view> authorization,
                              absl::string_view peer) const {
  if (token_.empty()) {
    if (IsLoopbackPeer(peer)) return absl::OkStatus();
    return absl::PermissionDeniedError(
        "permission denied: admin calls from non-loopback clients need a "
        "token: start dwaed with --admin_token_file");
  }
  if (!authorization.has_value()) {
    return absl::UnauthenticatedError(
        "unauthenticated: admin call without a token: send "
        "'authorization: Bearer <token>' (dwae --token_file=FILE)");
  }
  const std::optional<absl::string_view> token =
      ParseBearerToken(*authorization);
  if (!token.has_value()) {
    return absl::UnauthenticatedError(
        "unauthenticated: malformed authorization metadata: expected "
        "'Bearer <token>'");
  }
  if (!ConstantTimeEquals(*token, token_)) {
    return absl::PermissionDeniedError("permission denied: wrong admin token");
  }
  return absl::OkStatus();
}

}  // namespace dwae::server
