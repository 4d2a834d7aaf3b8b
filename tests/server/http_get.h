// Tiny HTTP and Prometheus helpers for the server tests: a blocking
// HTTP/1.0 GET on the loopback interface and a parser for the Prometheus
// text exposition format's sample lines.
//
// Thread-safety: pure functions.
#ifndef DWAE_TESTS_SERVER_HTTP_GET_H_
#define DWAE_TESTS_SERVER_HTTP_GET_H_

#include <map>
#include <string>

#include "absl/strings/string_view.h"

namespace dwae {
namespace testutil {

// A minimal blocking HTTP/1.0 GET of 127.0.0.1:port/path with 5 s socket
// timeouts. Returns the whole response (status line, headers, body) or ""
// on a socket error.
std::string HttpGet(int port, const std::string& path);

// The body of an HTTP response (after the first blank line), or "" if the
// response has no header/body separator.
std::string HttpBody(const std::string& response);

// One scrape of a Prometheus text exposition.
struct MetricsScrape {
  std::map<std::string, std::string> types;  // family name -> TYPE
  // "name{labels}" exactly as exposed -> value.
  std::map<std::string, double> samples;

  // The value of `series`, or NaN if it is absent.
  double Value(const std::string& series) const;
  bool Has(const std::string& series) const {
    return samples.count(series) > 0;
  }
};

// Parses the text exposition format (comments other than # TYPE skipped).
MetricsScrape ParseMetricsText(absl::string_view text);

}  // namespace testutil
}  // namespace dwae

#endif  // DWAE_TESTS_SERVER_HTTP_GET_H_
