// JsonValue: a read-only JSON tree for tests, parsed by nlohmann-json.
//
// ParseJson runs nlohmann-json's strict RFC 8259 parser (one value with
// optional whitespace around it; no trailing commas, comments, NaN, leading
// zeros, lone surrogates or overflowing numbers) and adds two checks tests
// rely on: duplicate object keys and nesting deeper than kMaxDepth are
// errors. Errors are InvalidArgument with the byte offset and line:column.
//
// Accessors are forgiving so tests read naturally: operator[] on a missing
// key (or on a non-object) returns a null value, so
// `doc["results"]["float"]["mean"]["accuracy"].as_number()` never throws;
// check has()/is_*() first when absence matters. as_number() on a
// non-number returns NaN, as_string() on a non-string returns "".
//
// Thread-safety: a value; const methods may be called concurrently.
#ifndef DWAE_TESTS_TESTING_JSON_VALUE_H_
#define DWAE_TESTS_TESTING_JSON_VALUE_H_

#include <cstddef>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace dwae {
namespace testutil {

class JsonValue {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  using Member = std::pair<std::string, JsonValue>;

  static constexpr int kMaxDepth = 256;

  JsonValue() = default;  // null
  static JsonValue Null() { return JsonValue(); }
  static JsonValue Bool(bool value);
  static JsonValue Number(double value);
  static JsonValue String(std::string value);
  static JsonValue Array(std::vector<JsonValue> items);
  // Members in document order; keys are assumed unique.
  static JsonValue Object(std::vector<Member> members);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  bool as_bool() const { return is_bool() && bool_; }
  double as_number() const;
  const std::string& as_string() const { return string_; }

  // Array elements (empty for non-arrays).
  const std::vector<JsonValue>& items() const { return items_; }
  // Object members in document order (empty for non-objects).
  const std::vector<Member>& members() const { return members_; }
  // Object keys in document order (empty for non-objects).
  std::vector<std::string> keys() const;
  // Elements of an array or members of an object; 0 otherwise.
  size_t size() const;

  bool has(absl::string_view key) const;
  // The member named `key`; a null value if absent or if this is no object.
  const JsonValue& operator[](absl::string_view key) const;
  // Array element `index`; a null value if out of range or no array.
  const JsonValue& at(size_t index) const;

  // Compact JSON text (nlohmann-json's dump: doubles round-trip).
  std::string ToString() const;

  // Building (ParseJson's, and tests that make expected values): appends a
  // member to an object or an element to an array.
  void AddMember(std::string key, JsonValue value);
  void AddItem(JsonValue value);

  // Deep equality; objects compare members in order, numbers with ==.
  friend bool operator==(const JsonValue& a, const JsonValue& b);
  friend bool operator!=(const JsonValue& a, const JsonValue& b) {
    return !(a == b);
  }

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<JsonValue> items_;
  std::vector<Member> members_;
};

// Parses `text` as one JSON document.
absl::StatusOr<JsonValue> ParseJson(absl::string_view text);

// Lets gtest print values in assertion failures.
void PrintTo(const JsonValue& value, std::ostream* os);

}  // namespace testutil
}  // namespace dwae

#endif  // DWAE_TESTS_TESTING_JSON_VALUE_H_
