#include "winoprune/io/json_reader.h"

#include <cmath>
#include <limits>

#include "winoprune/error.h"

namespace wp {

json json_parse_bounded(const std::string& text, std::string* error) {
  bool too_deep = false;
  // Values opened below the limit are dropped (keep = false) rather than built, so the parser
  // never produces a deep document; the flag turns that into an error.
  json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json&) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= kMaxJsonDepth)
      too_deep = true;
    return !too_deep;
  };
  json out;
  try {
    out = json::parse(text, cb);
  } catch (const json::exception& e) {
    if (error) *error = e.what();
    return json(json::value_t::discarded);
  }
  if (too_deep) {
    if (error) *error = "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return json(json::value_t::discarded);
  }
  return out;
}

std::string json_brief(const json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array of " + std::to_string(v.size());
  std::string s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

std::string json_path_join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string json_path_index(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

JsonReader::JsonReader(const json& object, std::string path, std::string file)
    : JsonReader(object, std::move(path), std::move(file), false) {}

JsonReader::JsonReader(const json& object, std::string path, std::string file, bool lenient)
    : object_(object), path_(std::move(path)), file_(std::move(file)), lenient_(lenient) {
  if (!object_.is_object()) fail("expected an object, got " + json_brief(object_));
}

JsonReader JsonReader::lenient(const json& object, std::string path, std::string file) {
  return JsonReader(object, std::move(path), std::move(file), true);
}

bool JsonReader::has(const char* key) const {
  auto it = object_.find(key);
  return it != object_.end() && !(lenient_ && it->is_null());
}
std::string JsonReader::path(const char* key) const { return json_path_join(path_, key); }

void JsonReader::fail(const char* key, const std::string& message) const {
  std::string where = path(key);
  throw InputError((file_.empty() ? "" : file_ + ": ") + where + ": " + message);
}

void JsonReader::fail(const std::string& message) const {
  std::string where = path_.empty() ? "(root)" : path_;
  throw InputError((file_.empty() ? "" : file_ + ": ") + where + ": " + message);
}

const json& JsonReader::get(const char* key) {
  known_.insert(key);
  return object_.at(key);
}

static std::string range_text(double lo, double hi, bool lo_open, bool hi_open) {
  auto fmt = [](double x) {
    if (std::isinf(x)) return std::string(x < 0 ? "-inf" : "inf");
    json j = x;
    if (x == std::floor(x) && std::fabs(x) < 1e15) j = static_cast<int64_t>(x);
    return j.dump();
  };
  return std::string(lo_open ? "(" : "[") + fmt(lo) + ", " + fmt(hi) + (hi_open ? ")" : "]");
}

std::optional<double> JsonReader::optional_number(const char* key, double lo, double hi,
                                                  bool lo_open, bool hi_open) {
  if (!has(key)) {
    known_.insert(key);
    return std::nullopt;
  }
  const json& v = get(key);
  bool unbounded = std::isinf(lo) && lo < 0 && std::isinf(hi) && hi > 0;
  std::string expect = std::string("expected a number") +
                       (unbounded ? "" : " in " + range_text(lo, hi, lo_open, hi_open)) +
                       or_null();
  if (!v.is_number()) fail(key, expect + ", got " + json_brief(v));
  double x = v.get<double>();
  bool ok = std::isfinite(x) && (lo_open ? x > lo : x >= lo) && (hi_open ? x < hi : x <= hi);
  if (!ok) fail(key, expect + ", got " + json_brief(v));
  return x;
}

double JsonReader::number(const char* key, double def, double lo, double hi, bool lo_open,
                          bool hi_open) {
  auto v = optional_number(key, lo, hi, lo_open, hi_open);
  return v ? *v : def;
}

int64_t JsonReader::integer(const char* key, int64_t def, int64_t lo, int64_t hi) {
  known_.insert(key);
  if (!has(key)) return def;
  const json& v = get(key);
  bool unbounded = lo == std::numeric_limits<int64_t>::min() &&
                   hi == std::numeric_limits<int64_t>::max();
  std::string expect =
      std::string("expected an integer") +
      (unbounded ? "" : " in " + range_text(double(lo), double(hi), false, false)) + or_null();
  if (!v.is_number_integer() && !(v.is_number_float() && v.get<double>() == std::floor(v.get<double>())))
    fail(key, expect + ", got " + json_brief(v));
  double x = v.get<double>();
  if (x < double(lo) || x > double(hi)) fail(key, expect + ", got " + json_brief(v));
  return static_cast<int64_t>(x);
}

bool JsonReader::boolean(const char* key, bool def) {
  known_.insert(key);
  if (!has(key)) return def;
  const json& v = get(key);
  if (!v.is_boolean()) fail(key, "expected true or false, got " + json_brief(v));
  return v.get<bool>();
}

std::string JsonReader::string(const char* key, const std::string& def,
                               const std::vector<std::string>& choices) {
  known_.insert(key);
  std::string s = def;
  if (has(key)) {
    const json& v = get(key);
    if (!v.is_string()) fail(key, "expected a string" + or_null() + ", got " + json_brief(v));
    s = v.get<std::string>();
  }
  if (!choices.empty()) {
    bool ok = false;
    std::string list;
    for (const auto& c : choices) {
      ok = ok || c == s;
      list += (list.empty() ? "\"" : ", \"") + c + "\"";
    }
    if (!ok) fail(key, "expected one of " + list + ", got \"" + s + "\"");
  }
  return s;
}

std::optional<std::string> JsonReader::optional_string(const char* key) {
  known_.insert(key);
  if (!has(key)) return std::nullopt;
  const json& v = get(key);
  if (!v.is_string()) fail(key, "expected a string" + or_null() + ", got " + json_brief(v));
  return v.get<std::string>();
}

std::vector<std::string> JsonReader::string_list(const char* key,
                                                 const std::vector<std::string>& def) {
  known_.insert(key);
  if (!has(key)) return def;
  const json& v = get(key);
  if (!v.is_array()) fail(key, "expected an array of strings, got " + json_brief(v));
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string())
      throw InputError((file_.empty() ? "" : file_ + ": ") + json_path_index(path(key), i) +
                       ": expected a string, got " + json_brief(v[i]));
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

const json& JsonReader::raw(const char* key) {
  if (!has(key)) fail(key, "is required");
  return get(key);
}

std::optional<json> JsonReader::optional_raw(const char* key) {
  known_.insert(key);
  if (!has(key)) return std::nullopt;
  return get(key);
}

JsonReader JsonReader::object(const char* key) {
  known_.insert(key);
  if (!has(key)) return JsonReader(json::object(), path(key), file_, lenient_);
  return JsonReader(get(key), path(key), file_, lenient_);
}

const json& JsonReader::array(const char* key) {
  static const json empty = json::array();
  known_.insert(key);
  if (!has(key)) return empty;
  const json& v = get(key);
  if (!v.is_array()) fail(key, "expected an array, got " + json_brief(v));
  return v;
}

std::vector<JsonReader> JsonReader::object_list(const char* key) {
  const json& v = array(key);
  std::vector<JsonReader> out;
  for (size_t i = 0; i < v.size(); ++i)
    out.push_back(JsonReader(v[i], json_path_index(path(key), i), file_, lenient_));
  return out;
}

template <typename T>
std::vector<T> JsonReader::list(const char* key, bool (*ok)(const json&), const char* what) {
  const json& v = array(key);
  std::vector<T> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!ok(v[i]))
      throw InputError((file_.empty() ? "" : file_ + ": ") + json_path_index(path(key), i) +
                       ": expected " + what + ", got " + json_brief(v[i]));
    out.push_back(v[i].get<T>());
  }
  return out;
}

std::vector<double> JsonReader::number_list(const char* key) {
  return list<double>(key, [](const json& x) { return x.is_number(); }, "a number");
}

std::vector<int64_t> JsonReader::integer_list(const char* key) {
  return list<int64_t>(key, [](const json& x) { return x.is_number_integer(); }, "an integer");
}

void JsonReader::finish() const {
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    if (known_.count(it.key())) continue;
    std::string list;
    for (const auto& k : known_) list += (list.empty() ? "" : ", ") + k;
    fail(it.key().c_str(), "unknown key (expected one of: " + list + ")");
  }
}

}  // namespace wp
