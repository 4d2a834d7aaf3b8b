// What the encoder's layouts (encoder.h) are made of, shared by the
// portable encoder (encoder.cc) and the AVX-512 kdd encoder
// (encoder_avx512.cc), which builds the kdd layout from these constants: the
// kdd numeric columns and which take log1p, the categorical vocabularies
// and their lookup tables. Internal to the encoder.
//
// Thread-safety: constants.
#ifndef DWAE_CORE_ENCODER_LAYOUT_H_
#define DWAE_CORE_ENCODER_LAYOUT_H_

#include "core/encoder.h"
#include "core/name_index.h"
#include "core/record.h"

namespace dwae {
namespace encoder_internal {

// Feature index of kdd numeric column j: duration is feature 0, the other
// 37 follow the three categorical features.
constexpr int NumericFeature(int j) { return j == 0 ? 0 : j + 3; }

// True for the heavy-tailed columns that go through log1p.
constexpr bool UsesLog1p(int feature) {
  switch (feature) {
    case 0:   // duration
    case 4:   // src_bytes
    case 5:   // dst_bytes
    case 7:   // wrong_fragment
    case 8:   // urgent
    case 9:   // hot
    case 10:  // num_failed_logins
    case 12:  // num_compromised
    case 15:  // num_root
    case 16:  // num_file_creations
    case 17:  // num_shells
    case 18:  // num_access_files
    case 22:  // count
    case 23:  // srv_count
    case 31:  // dst_host_count
    case 32:  // dst_host_srv_count
      return true;
    default:
      return false;
  }
}

// Bit i of Log1pGroup(g): kdd numeric column 8g + i takes log1p.
constexpr unsigned Log1pGroup(int g) {
  unsigned bits = 0;
  for (int i = 0; i < 8 && 8 * g + i < kNumNumeric; ++i) {
    if (UsesLog1p(NumericFeature(8 * g + i))) bits |= 1u << i;
  }
  return bits;
}

inline constexpr const char* kProtocolNames[kNumProtocols] = {"tcp", "udp",
                                                              "icmp"};

// The 70 NSL-KDD services in ASCII order. 67 of them occur in
// KDDTrain+_20Percent, KDDTest+ and KDDTest-21; aol, harvest and http_2784
// occur only in the full KDDTrain+.
inline constexpr const char* kServiceNames[kNumServices] = {
    "IRC",       "X11",        "Z39_50",      "aol",        "auth",
    "bgp",       "courier",    "csnet_ns",    "ctf",        "daytime",
    "discard",   "domain",     "domain_u",    "echo",       "eco_i",
    "ecr_i",     "efs",        "exec",        "finger",     "ftp",
    "ftp_data",  "gopher",     "harvest",     "hostnames",  "http",
    "http_2784", "http_443",   "http_8001",   "imap4",      "iso_tsap",
    "klogin",    "kshell",     "ldap",        "link",       "login",
    "mtp",       "name",       "netbios_dgm", "netbios_ns", "netbios_ssn",
    "netstat",   "nnsp",       "nntp",        "ntp_u",      "other",
    "pm_dump",   "pop_2",      "pop_3",       "printer",    "private",
    "red_i",     "remote_job", "rje",         "shell",      "smtp",
    "sql_net",   "ssh",        "sunrpc",      "supdup",     "systat",
    "telnet",    "tftp_u",     "tim_i",       "time",       "urh_i",
    "urp_i",     "uucp",       "uucp_path",   "vmnet",      "whois",
};

inline constexpr const char* kFlagNames[kNumFlags] = {
    "OTH", "REJ", "RSTO", "RSTOS0", "RSTR", "S0", "S1", "S2", "S3", "SF", "SH",
};

// Zeek's conn_state values, the zeek schema's flag vocabulary.
inline constexpr const char* kZeekFlagNames[kNumZeekFlags] = {
    "OTH", "REJ", "RSTO", "RSTOS0", "RSTR", "RSTRH", "S0",
    "S1",  "S2",  "S3",   "SF",     "SH",   "SHR",
};

// Each vocabulary's index: Find(name, n) is the name's position, or n (the
// <unknown> slot) for anything else.
inline constexpr NameIndex kProtocolLookup(kProtocolNames);
inline constexpr NameIndex kServiceLookup(kServiceNames);
inline constexpr NameIndex kFlagLookup(kFlagNames);
inline constexpr NameIndex kZeekFlagLookup(kZeekFlagNames);

}  // namespace encoder_internal
}  // namespace dwae

#endif  // DWAE_CORE_ENCODER_LAYOUT_H_
