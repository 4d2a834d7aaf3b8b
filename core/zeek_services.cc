// KddServiceName: Zeek's service or the responder port -> NSL-KDD service
// name. The port table follows the IANA assignments the KDD names stand for.
#include <cstdint>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "core/encoder.h"
#include "core/zeek_features.h"

namespace dwae {
namespace {

struct PortName {
  int port;
  const char* name;
};

constexpr PortName kTcpPorts[] = {
    {5, "rje"},           {7, "echo"},          {9, "discard"},
    {11, "systat"},       {13, "daytime"},      {15, "netstat"},
    {20, "ftp_data"},     {21, "ftp"},          {22, "ssh"},
    {23, "telnet"},       {25, "smtp"},         {37, "time"},
    {42, "name"},         {43, "whois"},        {53, "domain"},
    {57, "mtp"},          {70, "gopher"},       {71, "remote_job"},
    {72, "remote_job"},   {73, "remote_job"},   {74, "remote_job"},
    {79, "finger"},       {80, "http"},         {84, "ctf"},
    {87, "link"},         {95, "supdup"},       {101, "hostnames"},
    {102, "iso_tsap"},    {105, "csnet_ns"},    {109, "pop_2"},
    {110, "pop_3"},       {111, "sunrpc"},      {113, "auth"},
    {117, "uucp_path"},   {119, "nntp"},        {137, "netbios_ns"},
    {138, "netbios_dgm"}, {139, "netbios_ssn"}, {143, "imap4"},
    {150, "sql_net"},     {175, "vmnet"},       {179, "bgp"},
    {194, "IRC"},         {210, "Z39_50"},      {389, "ldap"},
    {443, "http_443"},    {512, "exec"},        {513, "login"},
    {514, "shell"},       {515, "printer"},     {520, "efs"},
    {530, "courier"},     {540, "uucp"},        {543, "klogin"},
    {544, "kshell"},      {2784, "http_2784"},  {5190, "aol"},
    {6667, "IRC"},        {8001, "http_8001"},
};

constexpr PortName kUdpPorts[] = {
    {53, "domain_u"},    {69, "tftp_u"},       {123, "ntp_u"},
    {137, "netbios_ns"}, {138, "netbios_dgm"},
};

// ICMP: Zeek puts the type in id.orig_p.
constexpr PortName kIcmpTypes[] = {
    {0, "ecr_i"}, {3, "urp_i"},  {5, "red_i"},
    {8, "eco_i"}, {13, "tim_i"}, {14, "tim_i"},
};

// Zeek analyzer names that are KDD services ("dns" and "ssl" are handled
// apart: they depend on the proto and the port).
struct ServiceAlias {
  const char* zeek;
  const char* kdd;
};
constexpr ServiceAlias kZeekServices[] = {
    {"http", "http"},     {"ftp", "ftp"},       {"ftp-data", "ftp_data"},
    {"smtp", "smtp"},     {"ssh", "ssh"},       {"telnet", "telnet"},
    {"finger", "finger"}, {"gopher", "gopher"}, {"ldap", "ldap"},
    {"nntp", "nntp"},     {"whois", "whois"},   {"irc", "IRC"},
    {"pop3", "pop_3"},    {"imap", "imap4"},    {"ntp", "ntp_u"},
    {"sunrpc", "sunrpc"},
};

struct Tables {
  std::vector<const char*> tcp = std::vector<const char*>(65536, nullptr);
  std::vector<const char*> udp = std::vector<const char*>(65536, nullptr);
  const char* icmp[256] = {};
};

const Tables& GetTables() {
  static const Tables* const kTables = [] {
    auto* t = new Tables();
    for (const PortName& p : kTcpPorts) t->tcp[p.port] = p.name;
    for (const PortName& p : kUdpPorts) t->udp[p.port] = p.name;
    for (const PortName& p : kIcmpTypes) t->icmp[p.port] = p.name;
    return t;
  }();
  return *kTables;
}

// The KDD name of one Zeek service token, or nullptr.
const char* FromZeekService(absl::string_view token, const Connection& c) {
  if (absl::EqualsIgnoreCase(token, "dns")) {
    return c.proto == "udp" ? "domain_u" : "domain";
  }
  if (absl::EqualsIgnoreCase(token, "ssl") && c.resp_p == 443) {
    return "http_443";
  }
  for (const ServiceAlias& alias : kZeekServices) {
    if (absl::EqualsIgnoreCase(token, alias.zeek)) return alias.kdd;
  }
  return nullptr;
}

}  // namespace

const char* KddServiceName(const Connection& c) {
  if (c.has_service && !c.service.empty()) {
    for (absl::string_view token : absl::StrSplit(c.service, ',')) {
      if (const char* name = FromZeekService(token, c)) return name;
    }
  }
  const Tables& t = GetTables();
  const uint32_t port = static_cast<uint32_t>(c.resp_p) & 0xffff;
  const char* name = nullptr;
  if (c.proto == "tcp") {
    name = t.tcp[port];
  } else if (c.proto == "udp") {
    name = t.udp[port];
  } else if (c.proto == "icmp") {
    name = t.icmp[static_cast<uint32_t>(c.orig_p) & 0xff];
    return name != nullptr ? name : "other";
  }
  if (name != nullptr) return name;
  return c.resp_p >= 1024 ? "private" : "other";
}

}  // namespace dwae
