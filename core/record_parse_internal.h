// The two halves of ParseRecordLine (record.h), exposed for its tests, its
// fuzzer and its benchmark; everything else calls ParseRecordLine.
//
// ParseRecordLineReference is the parser's specification in code: it trims
// the line, splits it, converts every number with std::from_chars and
// produces every error message. ParseWellFormedLine is the fast path for the
// lines real files are made of; it either produces exactly the record the
// reference produces (every double bit for bit, every string) or declines,
// and ParseRecordLine then returns the reference's answer. Tests compare the
// two on the NSL-KDD files, on mutated lines and on random bytes; the record
// parser fuzzer compares them on whatever it finds.
//
// Thread-safety: pure functions.
#ifndef DWAE_CORE_RECORD_PARSE_INTERNAL_H_
#define DWAE_CORE_RECORD_PARSE_INTERNAL_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/record.h"

namespace dwae {
namespace record_internal {

// The general parser: ParseRecordLine's documented behaviour, errors
// included, with no fast path.
absl::StatusOr<Record> ParseRecordLineReference(absl::string_view line,
                                                RecordFormat format);

// The fast path. `line` must be non-empty, at most kMaxLineBytes long and
// must not start or end with whitespace; `*record` must be a
// default-constructed Record. Returns true when it took the line, with
// `*record` filled exactly as ParseRecordLineReference fills its result;
// false when the line has anything it does not handle (numbers other than
// plain decimals of at most 15 digits, spaces around fields, any error),
// leaving `*record` partly written.
bool ParseWellFormedLine(absl::string_view line, RecordFormat format,
                         Record* record);

}  // namespace record_internal
}  // namespace dwae

#endif  // DWAE_CORE_RECORD_PARSE_INTERNAL_H_
