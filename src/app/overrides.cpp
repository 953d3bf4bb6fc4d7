#include "winoprune/app/overrides.h"

#include <cctype>
#include <vector>

#include "winoprune/error.h"

namespace wp {

namespace {

struct PathStep {
  std::string key;   // object key, or empty for an index
  long index = -1;
};

std::vector<PathStep> parse_path(const std::string& path, const std::string& assignment) {
  std::vector<PathStep> steps;
  size_t i = 0;
  auto bad = [&](const std::string& why) {
    throw InputError("--set " + assignment + ": " + why);
  };
  while (i < path.size()) {
    if (path[i] == '.') {
      ++i;
      continue;
    }
    if (path[i] == '[') {
      size_t close = path.find(']', i);
      if (close == std::string::npos) bad("unclosed '[' in the key path");
      std::string digits = path.substr(i + 1, close - i - 1);
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
        bad("expected an array index in [], got '" + digits + "'");
      if (digits.size() > 9) bad("array index " + digits + " is out of range");
      steps.push_back({"", std::stol(digits)});
      i = close + 1;
      continue;
    }
    size_t end = path.find_first_of(".[", i);
    if (end == std::string::npos) end = path.size();
    std::string key = path.substr(i, end - i);
    bool numeric = !key.empty() && key.find_first_not_of("0123456789") == std::string::npos;
    if (numeric && key.size() > 9) bad("array index " + key + " is out of range");
    if (numeric) steps.push_back({"", std::stol(key)});
    else steps.push_back({key, -1});
    i = end;
  }
  if (steps.empty()) bad("empty key path");
  return steps;
}

}  // namespace

void apply_override(json& config, const std::string& assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw InputError("--set " + assignment + ": expected key.path=value");
  std::string path = assignment.substr(0, eq);
  std::string text = assignment.substr(eq + 1);
  try {
    (void)json(assignment).dump();   // throws type_error 316 on bytes that are not UTF-8
  } catch (const json::exception&) {
    throw InputError("--set: the assignment is not valid UTF-8 text");
  }
  std::string why;
  json value = json_parse_bounded(text, &why);
  if (value.is_discarded() && why.find("nested deeper") != std::string::npos)
    throw InputError("--set " + assignment + ": the value is " + why);
  if (value.is_discarded()) value = text;

  std::vector<PathStep> steps = parse_path(path, assignment);
  json* node = &config;
  std::string where;
  for (size_t s = 0; s < steps.size(); ++s) {
    const PathStep& step = steps[s];
    bool last = s + 1 == steps.size();
    if (step.index >= 0) {
      where = json_path_index(where, static_cast<size_t>(step.index));
      if (!node->is_array())
        throw InputError("--set " + assignment + ": " + (where.empty() ? "(root)" : where) +
                         " indexes something that is not an array");
      if (static_cast<size_t>(step.index) >= node->size())
        throw InputError("--set " + assignment + ": " + where + " is beyond the array's " +
                         std::to_string(node->size()) + " elements");
      node = &(*node)[static_cast<size_t>(step.index)];
    } else {
      where = json_path_join(where, step.key);
      if (node->is_null()) *node = json::object();
      if (!node->is_object())
        throw InputError("--set " + assignment + ": the parent of " + where + " is not an object");
      if (!last && !node->contains(step.key)) (*node)[step.key] = json::object();
      node = &(*node)[step.key];
    }
    if (last) *node = value;
  }
}

}  // namespace wp
