// The CLI's --json output: documents built as nlohmann-json values.
//
// Json keeps members in insertion order, so a command's output reads in the
// order its code writes it. Non-finite numbers (a threshold of +inf while
// the daemon warms up, a ratio of 0/0) are written as null.
//
// Thread-safety: values; one thread at a time per document.
#ifndef DWAE_CLIENT_JSON_H_
#define DWAE_CLIENT_JSON_H_

#include <string>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace dwae {

using Json = nlohmann::ordered_json;

// Compact JSON text of `doc`. Invalid UTF-8 in a string (a byte of a
// record's field, say) becomes U+FFFD instead of an exception.
std::string DumpJson(const Json& doc);

// `value` when `present`, else null.
Json NumberOrNull(bool present, double value);

// `value` as a JSON string literal, quotes included (for the few lines the
// CLI writes by hand, such as a one-key answer).
std::string QuoteJson(absl::string_view value);

}  // namespace dwae

#endif  // DWAE_CLIENT_JSON_H_
