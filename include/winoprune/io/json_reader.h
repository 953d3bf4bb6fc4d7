#pragma once
// Validated reading of one JSON object of a config. Every accessor records the key as known and
// checks type and range; finish() rejects any key that was never asked for. Errors are
// InputError naming the JSON path and what was expected, e.g.
//   phases[2].pruners.g1.final_sparsity: expected a number in [0, 1), got 1.5
// Ranges are closed unless the *_open flags say otherwise.
// JsonReader::lenient reads documents winoprune itself writes (report.json, metrics.jsonl
// records): there null reads as absent ("expected a number or null") and, since their contracts
// may grow, the caller does not call finish(), so unknown keys are ignored.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace wp {

using json = nlohmann::json;

class JsonReader {
 public:
  // `path` is the JSON path of `object` ("" for the root, "data", "phases[2]"); `file` is
  // prefixed to messages when known ("configs/x.json: data.batch: ...").
  JsonReader(const json& object, std::string path, std::string file = "");
  // The lenient mode (above); nested readers (object, object_list) inherit the mode.
  static JsonReader lenient(const json& object, std::string path, std::string file = "");

  bool has(const char* key) const;
  std::string path(const char* key) const;  // "data.batch"
  std::string path() const { return path_; }

  double number(const char* key, double def, double lo, double hi, bool lo_open = false,
                bool hi_open = false);
  std::optional<double> optional_number(const char* key, double lo, double hi,
                                        bool lo_open = false, bool hi_open = false);
  int64_t integer(const char* key, int64_t def, int64_t lo, int64_t hi);
  bool boolean(const char* key, bool def);
  // choices empty: any string.
  std::string string(const char* key, const std::string& def,
                     const std::vector<std::string>& choices = {});
  std::optional<std::string> optional_string(const char* key);
  std::vector<std::string> string_list(const char* key, const std::vector<std::string>& def);
  // Raw access for values with several accepted shapes (a number or an object, ...). Marks the
  // key as known. Throws if absent.
  const json& raw(const char* key);
  // The same for an optional key: marks it as known (finish() lists it), nullopt if absent.
  std::optional<json> optional_raw(const char* key);
  // A nested object (must be an object if present; an empty object if absent).
  JsonReader object(const char* key);
  // Arrays (empty if absent); elements are checked one by one, errors name "key[i]".
  std::vector<JsonReader> object_list(const char* key);
  std::vector<double> number_list(const char* key);
  std::vector<int64_t> integer_list(const char* key);

  // Throws on the first unknown key (listing the known ones).
  void finish() const;

  // An InputError for this object's key: "<file>: <path.key>: <message>".
  [[noreturn]] void fail(const char* key, const std::string& message) const;
  [[noreturn]] void fail(const std::string& message) const;  // about the object itself

  const json& value() const { return object_; }

 private:
  JsonReader(const json& object, std::string path, std::string file, bool lenient);
  const json& get(const char* key);
  const json& array(const char* key);   // the array at key, or an empty one if absent
  template <typename T>   // the array at key, each element passing ok (json_reader.cpp only)
  std::vector<T> list(const char* key, bool (*ok)(const json&), const char* what);
  std::string or_null() const { return lenient_ ? " or null" : ""; }
  json object_;
  std::string path_;
  std::string file_;
  std::set<std::string> known_;
  bool lenient_ = false;
};

// Every JSON document winoprune reads (configs, --set values, checkpoint and report metadata,
// metrics lines) is parsed through json_parse_bounded: nesting deeper than kMaxJsonDepth levels
// is refused while parsing. (A config needs 5 levels. nlohmann's copy constructor recurses once
// per level, so a 20000-level array in a config overflowed the stack; fuzzing found it.)
constexpr int kMaxJsonDepth = 64;
// The document, or a discarded value (is_discarded()) with `error` set when `text` is not JSON
// (syntax, invalid UTF-8, a number out of double's range) or nests too deeply.
json json_parse_bounded(const std::string& text, std::string* error = nullptr);

// A short rendering of a JSON value for messages ("1.5", "\"abc\"", "an object").
std::string json_brief(const json& v);
// "a.b" joined with a key, "a[3]" with an index.
std::string json_path_join(const std::string& path, const std::string& key);
std::string json_path_index(const std::string& path, size_t index);

}  // namespace wp
