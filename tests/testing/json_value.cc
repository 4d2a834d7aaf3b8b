#include "tests/testing/json_value.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace dwae {
namespace testutil {

JsonValue JsonValue::Bool(bool value) {
  JsonValue v;
  v.type_ = Type::kBool;
  v.bool_ = value;
  return v;
}

JsonValue JsonValue::Number(double value) {
  JsonValue v;
  v.type_ = Type::kNumber;
  v.number_ = value;
  return v;
}

JsonValue JsonValue::String(std::string value) {
  JsonValue v;
  v.type_ = Type::kString;
  v.string_ = std::move(value);
  return v;
}

JsonValue JsonValue::Array(std::vector<JsonValue> items) {
  JsonValue v;
  v.type_ = Type::kArray;
  v.items_ = std::move(items);
  return v;
}

JsonValue JsonValue::Object(std::vector<Member> members) {
  JsonValue v;
  v.type_ = Type::kObject;
  v.members_ = std::move(members);
  return v;
}

double JsonValue::as_number() const {
  return is_number() ? number_ : std::numeric_limits<double>::quiet_NaN();
}

std::vector<std::string> JsonValue::keys() const {
  std::vector<std::string> out;
  out.reserve(members_.size());
  for (const Member& m : members_) out.push_back(m.first);
  return out;
}

size_t JsonValue::size() const {
  if (is_array()) return items_.size();
  if (is_object()) return members_.size();
  return 0;
}

bool JsonValue::has(absl::string_view key) const {
  for (const Member& m : members_) {
    if (m.first == key) return true;
  }
  return false;
}

namespace {
const JsonValue& NullValue() {
  static const JsonValue* const kNull = new JsonValue();
  return *kNull;
}
}  // namespace

const JsonValue& JsonValue::operator[](absl::string_view key) const {
  for (const Member& m : members_) {
    if (m.first == key) return m.second;
  }
  return NullValue();
}

const JsonValue& JsonValue::at(size_t index) const {
  return index < items_.size() ? items_[index] : NullValue();
}

bool operator==(const JsonValue& a, const JsonValue& b) {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case JsonValue::Type::kNull:
      return true;
    case JsonValue::Type::kBool:
      return a.bool_ == b.bool_;
    case JsonValue::Type::kNumber:
      return a.number_ == b.number_;
    case JsonValue::Type::kString:
      return a.string_ == b.string_;
    case JsonValue::Type::kArray:
      return a.items_ == b.items_;
    case JsonValue::Type::kObject:
      return a.members_ == b.members_;
  }
  return false;
}

namespace {

// Converts to nlohmann's ordered value (member order kept), whose dump()
// writes the compact text.
nlohmann::ordered_json ToNlohmann(const JsonValue& v) {
  switch (v.type()) {
    case JsonValue::Type::kNull:
      return nullptr;
    case JsonValue::Type::kBool:
      return v.as_bool();
    case JsonValue::Type::kNumber: {
      // Integral values print as integers ("2", not nlohmann's "2.0").
      const double x = v.as_number();
      if (std::trunc(x) == x && std::abs(x) < 9.2e18) {
        return static_cast<int64_t>(x);
      }
      return x;
    }
    case JsonValue::Type::kString:
      return v.as_string();
    case JsonValue::Type::kArray: {
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      for (const JsonValue& item : v.items()) out.push_back(ToNlohmann(item));
      return out;
    }
    case JsonValue::Type::kObject: {
      nlohmann::ordered_json out = nlohmann::ordered_json::object();
      for (const JsonValue::Member& m : v.members()) {
        out[m.first] = ToNlohmann(m.second);
      }
      return out;
    }
  }
  return nullptr;
}

// "line L, column C" of byte offset `offset` (both 1-based).
std::string Where(absl::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return absl::StrCat("offset ", offset, " (line ", line, ", column ",
                      offset - line_start + 1, ")");
}

// Builds a JsonValue from nlohmann's SAX events. The grammar (RFC 8259) is
// nlohmann's; this adds what tests want on top: duplicate object keys and
// nesting deeper than kMaxDepth are errors.
class Builder final : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit Builder(absl::string_view text) : text_(text) {}

  bool null() override { return Add(JsonValue::Null()); }
  bool boolean(bool value) override { return Add(JsonValue::Bool(value)); }
  bool number_integer(number_integer_t value) override {
    return Add(JsonValue::Number(static_cast<double>(value)));
  }
  bool number_unsigned(number_unsigned_t value) override {
    return Add(JsonValue::Number(static_cast<double>(value)));
  }
  bool number_float(number_float_t value, const string_t&) override {
    return Add(JsonValue::Number(value));
  }
  bool string(string_t& value) override {
    return Add(JsonValue::String(std::move(value)));
  }
  bool binary(binary_t&) override { return Fail("binary values"); }
  bool start_object(std::size_t) override {
    return Open(JsonValue::Object({}));
  }
  bool key(string_t& key) override {
    Frame& frame = stack_.back();
    if (!frame.keys.insert(key).second) {
      return Fail(absl::StrCat("duplicate key \"", key, "\""));
    }
    frame.key = std::move(key);
    return true;
  }
  bool end_object() override { return Close(); }
  bool start_array(std::size_t) override { return Open(JsonValue::Array({})); }
  bool end_array() override { return Close(); }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& error) override {
    // nlohmann's message starts with "[json.exception.parse_error.101] ".
    absl::string_view what = error.what();
    if (size_t bracket = what.find("] "); bracket != what.npos) {
      what.remove_prefix(bracket + 2);
    }
    // `position` counts the bytes read, the offending one included.
    const size_t offset = position > 0 ? position - 1 : 0;
    status_ = absl::InvalidArgumentError(
        absl::StrCat("bad JSON at ", Where(text_, offset), ": ", what));
    return false;
  }

  absl::StatusOr<JsonValue> Take() && {
    if (!status_.ok()) return status_;
    return std::move(root_);
  }

 private:
  struct Frame {
    JsonValue value;
    std::string key;  // of the member being read (objects)
    absl::flat_hash_set<std::string> keys;
  };

  bool Add(JsonValue value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return true;
    }
    Frame& frame = stack_.back();
    if (frame.value.is_object()) {
      frame.value.AddMember(std::move(frame.key), std::move(value));
    } else {
      frame.value.AddItem(std::move(value));
    }
    return true;
  }
  bool Open(JsonValue container) {
    if (stack_.size() >= static_cast<size_t>(JsonValue::kMaxDepth)) {
      return Fail("nesting too deep");
    }
    stack_.push_back(Frame{std::move(container), {}, {}});
    return true;
  }
  bool Close() {
    JsonValue done = std::move(stack_.back().value);
    stack_.pop_back();
    return Add(std::move(done));
  }
  // An error of ours (not the grammar's); nlohmann stops at `false`.
  bool Fail(absl::string_view what) {
    status_ = absl::InvalidArgumentError(absl::StrCat("bad JSON: ", what));
    return false;
  }

  absl::string_view text_;
  std::vector<Frame> stack_;
  JsonValue root_;
  absl::Status status_;
};

}  // namespace

std::string JsonValue::ToString() const {
  return ToNlohmann(*this).dump(
      -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void JsonValue::AddMember(std::string key, JsonValue value) {
  members_.emplace_back(std::move(key), std::move(value));
}

void JsonValue::AddItem(JsonValue value) { items_.push_back(std::move(value)); }

absl::StatusOr<JsonValue> ParseJson(absl::string_view text) {
  Builder builder(text);
  const bool ok = nlohmann::json::sax_parse(
      text.begin(), text.end(), &builder, nlohmann::json::input_format_t::json,
      /*strict=*/true);
  absl::StatusOr<JsonValue> value = std::move(builder).Take();
  if (value.ok() && !ok) {
    return absl::InvalidArgumentError("bad JSON: rejected by the parser");
  }
  return value;
}

void PrintTo(const JsonValue& value, std::ostream* os) {
  *os << value.ToString();
}

}  // namespace testutil
}  // namespace dwae
