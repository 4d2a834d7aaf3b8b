// KddServiceName: Zeek's service or the responder port -> NSL-KDD service
// name. The port table follows the IANA assignments the KDD names stand for.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
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

// Service indices (KddServiceIndex) by port, -1 where KDD has no name.
struct Tables {
  std::vector<int16_t> tcp = std::vector<int16_t>(65536, -1);
  std::vector<int16_t> udp = std::vector<int16_t>(65536, -1);
  int16_t icmp[256];
  int16_t other, private_, domain, domain_u, http_443;
};

const Tables& GetTables() {
  static const Tables* const kTables = [] {
    auto* t = new Tables();
    std::fill(std::begin(t->icmp), std::end(t->icmp), -1);
    auto index = [](const char* name) {
      return static_cast<int16_t>(KddServiceIndex(name));
    };
    for (const PortName& p : kTcpPorts) t->tcp[p.port] = index(p.name);
    for (const PortName& p : kUdpPorts) t->udp[p.port] = index(p.name);
    for (const PortName& p : kIcmpTypes) t->icmp[p.port] = index(p.name);
    t->other = index("other");
    t->private_ = index("private");
    t->domain = index("domain");
    t->domain_u = index("domain_u");
    t->http_443 = index("http_443");
    return t;
  }();
  return *kTables;
}

// The KDD service index of one Zeek service token, or -1.
int FromZeekService(absl::string_view token, const Connection& c,
                    const Tables& t) {
  if (absl::EqualsIgnoreCase(token, "dns")) {
    return c.proto == "udp" ? t.domain_u : t.domain;
  }
  if (absl::EqualsIgnoreCase(token, "ssl")) {
    return c.resp_p == 443 ? t.http_443 : -1;
  }
  for (const ServiceAlias& alias : kZeekServices) {
    if (absl::EqualsIgnoreCase(token, alias.zeek)) {
      return KddServiceIndex(alias.kdd);
    }
  }
  return -1;
}

}  // namespace

int KddServiceIndexOf(const Connection& c) {
  const Tables& t = GetTables();
  if (c.has_service && !c.service.empty()) {
    absl::string_view rest = c.service;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const int index = FromZeekService(rest.substr(0, comma), c, t);
      if (index >= 0) return index;
      if (comma == absl::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  const uint32_t port = static_cast<uint32_t>(c.resp_p) & 0xffff;
  int index = -1;
  if (c.proto == "tcp") {
    index = t.tcp[port];
  } else if (c.proto == "udp") {
    index = t.udp[port];
  } else if (c.proto == "icmp") {
    index = t.icmp[static_cast<uint32_t>(c.orig_p) & 0xff];
    return index >= 0 ? index : t.other;
  }
  if (index >= 0) return index;
  return c.resp_p >= 1024 ? t.private_ : t.other;
}

const char* KddServiceName(const Connection& c) {
  return KddServiceNameAt(KddServiceIndexOf(c));
}

}  // namespace dwae
