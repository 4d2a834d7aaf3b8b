// JsonWriter: a minimal streaming JSON writer for the CLI's --json output.
//
// Usage: w.BeginObject(); w.Key("a"); w.Number(1); w.EndObject();
// Commas are inserted automatically. Non-finite numbers are written as null.
//
// Thread-safety: a value; one thread at a time.
#ifndef DWAE_CLIENT_JSON_H_
#define DWAE_CLIENT_JSON_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace dwae {

class JsonWriter {
 public:
  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  void Key(absl::string_view key);
  void String(absl::string_view value);
  void Number(double value);
  void Int(long long value);
  void Bool(bool value);
  void Null();

  const std::string& str() const { return out_; }

  // `value` quoted and escaped as a JSON string.
  static std::string Quote(absl::string_view value);

 private:
  void BeforeValue();
  std::string out_;
  // Per open container: whether it already holds an element.
  std::vector<bool> has_element_;
  bool after_key_ = false;
};

}  // namespace dwae

#endif  // DWAE_CLIENT_JSON_H_
