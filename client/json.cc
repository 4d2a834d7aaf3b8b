#include "client/json.h"

#include <string>

namespace dwae {

std::string DumpJson(const Json& doc) {
  return doc.dump(/*indent=*/-1, ' ', /*ensure_ascii=*/false,
                  Json::error_handler_t::replace);
}

Json NumberOrNull(bool present, double value) {
  return present ? Json(value) : Json(nullptr);
}

std::string QuoteJson(absl::string_view value) {
  return DumpJson(Json(std::string(value)));
}

}  // namespace dwae
