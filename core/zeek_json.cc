// ZeekJsonParser: Zeek's JSON conn.log lines through simdjson's on-demand
// API.
#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/zeek_parser.h"
#include "core/zeek_values.h"
#include "simdjson.h"

namespace dwae {

namespace od = simdjson::ondemand;

struct ZeekJsonParser::Impl {
  od::parser parser;
  std::vector<char> buffer;  // the line plus simdjson's padding
  bool seen[kNumZeekColumns] = {};

  absl::Status ParseObject(od::object object, absl::string_view prefix,
                           Connection* out);
  absl::Status ParseValue(ZeekColumn column, od::value value, Connection* out);
};

namespace {

absl::Status JsonError(simdjson::error_code error) {
  return absl::InvalidArgumentError(
      absl::StrCat("not valid JSON: ", simdjson::error_message(error)));
}

absl::Status ColumnError(ZeekColumn column, absl::string_view reason) {
  return absl::InvalidArgumentError(
      absl::StrCat(ZeekColumnName(column), ": ", reason));
}

}  // namespace

absl::Status ZeekJsonParser::Impl::ParseValue(ZeekColumn column,
                                              od::value value,
                                              Connection* out) {
  od::json_type type;
  if (auto error = value.type().get(type)) return JsonError(error);
  if (type == od::json_type::null) return absl::OkStatus();  // unset
  seen[static_cast<int>(column)] = true;
  switch (type) {
    case od::json_type::number: {
      if (column == ZeekColumn::kTs || column == ZeekColumn::kDuration) {
        double d = 0;
        if (auto error = value.get_double().get(d)) return JsonError(error);
        return SetZeekNumber(column, d, out);
      }
      uint64_t n = 0;
      if (value.get_uint64().get(n) != simdjson::SUCCESS) {
        double d = 0;
        if (auto error = value.get_double().get(d)) return JsonError(error);
        return SetZeekNumber(column, d, out);
      }
      return SetZeekCount(column, n, out);
    }
    case od::json_type::string: {
      std::string_view view;
      if (auto error = value.get_string().get(view)) return JsonError(error);
      const absl::string_view text(view.data(), view.size());
      if (column == ZeekColumn::kTs) {
        absl::StatusOr<double> ts = ParseIsoTime(text);
        if (!ts.ok()) return ts.status();
        return SetZeekNumber(column, *ts, out);
      }
      if (column == ZeekColumn::kLocalOrig ||
          column == ZeekColumn::kLocalResp) {
        return absl::InvalidArgumentError("expected true or false");
      }
      // JSON has no unset or empty spelling: "" is an empty string.
      return SetZeekValue(column, text, ZeekValueSyntax{}, out);
    }
    case od::json_type::boolean: {
      bool b = false;
      if (auto error = value.get_bool().get(b)) return JsonError(error);
      if (column != ZeekColumn::kLocalOrig &&
          column != ZeekColumn::kLocalResp) {
        return absl::InvalidArgumentError("unexpected true/false");
      }
      SetZeekBool(column, b, out);
      return absl::OkStatus();
    }
    case od::json_type::array:
      return absl::InvalidArgumentError("unexpected array");
    case od::json_type::object:
      return absl::InvalidArgumentError("unexpected object");
    default:
      return absl::InvalidArgumentError("unexpected value");
  }
}

absl::Status ZeekJsonParser::Impl::ParseObject(od::object object,
                                               absl::string_view prefix,
                                               Connection* out) {
  std::string dotted;
  for (auto field_result : object) {
    od::field field;
    if (auto error = std::move(field_result).get(field))
      return JsonError(error);
    std::string_view key_view;
    if (auto error = field.unescaped_key().get(key_view)) {
      return JsonError(error);
    }
    const absl::string_view key(key_view.data(), key_view.size());
    int column = -1;
    if (prefix.empty()) {
      column = ZeekColumnFromName(key);
    } else {
      dotted.assign(prefix.data(), prefix.size());
      dotted.append(key.data(), key.size());
      column = ZeekColumnFromName(dotted);
    }
    od::value value = field.value();
    if (column < 0) {
      // {"id": {"orig_h": ...}} is the nested spelling of the dotted keys.
      if (prefix.empty() && key == "id") {
        od::json_type type;
        if (auto error = value.type().get(type)) return JsonError(error);
        if (type == od::json_type::object) {
          od::object inner;
          if (auto error = value.get_object().get(inner)) {
            return JsonError(error);
          }
          absl::Status s = ParseObject(inner, "id.", out);
          if (!s.ok()) return s;
        }
      }
      continue;  // unknown keys are ignored (on-demand skips them)
    }
    absl::Status s = ParseValue(static_cast<ZeekColumn>(column), value, out);
    if (!s.ok()) {
      return ColumnError(static_cast<ZeekColumn>(column), s.message());
    }
  }
  return absl::OkStatus();
}

ZeekJsonParser::ZeekJsonParser() : impl_(std::make_unique<Impl>()) {}
ZeekJsonParser::~ZeekJsonParser() = default;
ZeekJsonParser::ZeekJsonParser(ZeekJsonParser&&) noexcept = default;
ZeekJsonParser& ZeekJsonParser::operator=(ZeekJsonParser&&) noexcept = default;

absl::StatusOr<bool> ZeekJsonParser::ParseLine(absl::string_view line,
                                               Connection* out) {
  line = absl::StripAsciiWhitespace(line);
  if (line.empty()) return false;
  if (line.size() > kMaxZeekLineBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "line is ", line.size(), " bytes, limit is ", kMaxZeekLineBytes));
  }
  Impl& impl = *impl_;
  const size_t capacity = line.size() + simdjson::SIMDJSON_PADDING;
  if (impl.buffer.size() < capacity) impl.buffer.resize(capacity);
  std::memcpy(impl.buffer.data(), line.data(), line.size());
  std::memset(impl.buffer.data() + line.size(), 0, simdjson::SIMDJSON_PADDING);

  od::document doc;
  if (auto error =
          impl.parser.iterate(impl.buffer.data(), line.size(), capacity)
              .get(doc)) {
    return JsonError(error);
  }
  od::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("not a JSON object");
  }
  out->Clear();
  std::fill(std::begin(impl.seen), std::end(impl.seen), false);
  absl::Status status = impl.ParseObject(object, "", out);
  if (!status.ok()) return status;
  for (int c = 0; c < kNumZeekColumns; ++c) {
    if (!impl.seen[c] && IsRequiredZeekColumn(static_cast<ZeekColumn>(c))) {
      return absl::InvalidArgumentError(
          absl::StrCat("missing required column '",
                       ZeekColumnName(static_cast<ZeekColumn>(c)), "'"));
    }
  }
  return true;
}

}  // namespace dwae
