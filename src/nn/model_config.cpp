// The "model" object of a config: parsing, validation, arch defaults and the JSON rendering
// (the resolved config written to RUN_DIR/config.json and to checkpoint metadata).
#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>

#include "arch.h"
#include "winoprune/error.h"
#include "winoprune/nn/model.h"
#include "winoprune/winograd/transform.h"

namespace wp {

namespace {

// Reports an error at a key relative to the "model" object ("winograd.layers[0]").
using FailFn = std::function<void(const std::string& key, const std::string& message)>;

[[noreturn]] void fail_at(const FailFn& fail, const std::string& key, const std::string& message) {
  fail(key, message);
  throw std::logic_error("model config: fail handler returned");   // not reached
}

std::string dims(int64_t h) { return std::to_string(h) + "x" + std::to_string(h); }

ModelConfig resolve(ModelConfig c, const FailFn& fail) {
  if (c.arch != "alexnet" && c.arch != "alexnet-small")
    fail_at(fail, "arch", "expected one of \"alexnet\", \"alexnet-small\", got \"" + c.arch + "\"");
  const arch::ArchSpec& a = arch::spec(c.arch);
  if (c.widths.empty()) c.widths.assign(a.widths.begin(), a.widths.end());
  if (c.fc_widths.empty()) c.fc_widths.assign(a.fc_widths.begin(), a.fc_widths.end());
  if (c.input_channels == 0) c.input_channels = a.input_channels;
  if (c.input_size == 0) c.input_size = a.input_size;

  if (c.widths.size() != 5)
    fail_at(fail, "widths", "expected 5 conv widths (conv1..conv5), got " +
                                std::to_string(c.widths.size()));
  if (c.fc_widths.size() != 2)
    fail_at(fail, "fc_widths", "expected 2 widths (fc6, fc7), got " +
                                   std::to_string(c.fc_widths.size()));
  for (size_t i = 0; i < 5; ++i)
    if (c.widths[i] < 1)
      fail_at(fail, "widths[" + std::to_string(i) + "]",
              "expected a positive integer, got " + std::to_string(c.widths[i]));
  for (size_t i = 0; i < 2; ++i)
    if (c.fc_widths[i] < 1)
      fail_at(fail, "fc_widths[" + std::to_string(i) + "]",
              "expected a positive integer, got " + std::to_string(c.fc_widths[i]));
  if (c.classes < 2) fail_at(fail, "classes", "expected at least 2, got " + std::to_string(c.classes));
  if (c.input_channels < 1) fail_at(fail, "input_channels", "expected a positive integer");
  if (c.input_size < 1) fail_at(fail, "input_size", "expected a positive integer");
  if (!(c.dropout >= 0.0f && c.dropout < 1.0f))
    fail_at(fail, "dropout", "expected a number in [0, 1), got " + std::to_string(c.dropout));
  if (c.groups < 1) fail_at(fail, "groups", "expected a positive integer");
  for (int i = 0; i < 5; ++i) {
    if (!arch::grouped(i)) continue;
    int in = c.widths[i - 1], out = c.widths[i];
    std::string conv = "conv" + std::to_string(i + 1);
    if (in % c.groups)
      fail_at(fail, "groups", std::to_string(c.groups) + " does not divide " + conv + "'s " +
                                  std::to_string(in) + " input channels");
    if (out % c.groups)
      fail_at(fail, "groups", std::to_string(c.groups) + " does not divide " + conv + "'s " +
                                  std::to_string(out) + " output channels");
  }

  // The spatial sizes through conv1..conv5 and pool1, pool2, pool5 must stay >= 1.
  int64_t h = c.input_size;
  for (int i = 0; i < 5; ++i) {
    if (h + 2 * a.pad[i] < a.kernel[i])
      fail_at(fail, "input_size", "input " + dims(c.input_size) + " is too small: conv" +
                                      std::to_string(i + 1) + " gets " + dims(h));
    h = (h + 2 * a.pad[i] - a.kernel[i]) / a.stride[i] + 1;
    if (i == 0 || i == 1 || i == 4) {
      if (h < a.pool_kernel)
        fail_at(fail, "input_size", "input " + dims(c.input_size) + " is too small: the pool after conv" +
                                        std::to_string(i + 1) + " gets " + dims(h));
      h = (h - a.pool_kernel) / a.pool_stride + 1;
    }
  }

  // Winograd layers: conv1..conv5, stride 1, each once; kept in network order.
  for (size_t i = 0; i < c.winograd_layers.size(); ++i) {
    const std::string& name = c.winograd_layers[i];
    std::string key = "winograd.layers[" + std::to_string(i) + "]";
    int idx = arch::conv_index(name);
    if (idx < 0) fail_at(fail, key, "unknown layer \"" + name + "\" (expected conv1..conv5)");
    if (a.stride[idx] != 1)
      fail_at(fail, key, name + " has stride " + std::to_string(a.stride[idx]) + " in " + c.arch +
                             "; a Winograd layer needs a stride-1 convolution");
    for (size_t j = 0; j < i; ++j)
      if (c.winograd_layers[j] == name) fail_at(fail, key, name + " is listed twice");
  }
  std::sort(c.winograd_layers.begin(), c.winograd_layers.end());
  for (size_t i = 0; i < c.winograd_m.size(); ++i) {
    const std::string& name = c.winograd_m[i].first;
    if (std::find(c.winograd_layers.begin(), c.winograd_layers.end(), name) ==
        c.winograd_layers.end())
      fail_at(fail, "winograd.m." + name, name + " is not a Winograd layer (not in winograd.layers)");
    for (size_t j = 0; j < i; ++j)
      if (c.winograd_m[j].first == name) fail_at(fail, "winograd.m." + name, "given twice");
  }
  std::vector<std::pair<std::string, int>> ms;
  for (const std::string& name : c.winograd_layers) {
    int m = winograd_m_of(c, name);
    int r = a.kernel[arch::conv_index(name)];
    try {
      (void)winograd_transform(m, r);
    } catch (const InputError& e) {
      fail_at(fail, "winograd.m." + name, "tile m = " + std::to_string(m) + " with the " +
                                              std::to_string(r) + "x" + std::to_string(r) +
                                              " kernel of " + name + " is not supported: " + e.what());
    }
    ms.emplace_back(name, m);
  }
  c.winograd_m = ms;
  return c;
}

// An array of exactly n integers in [1, 2^20] at `key`.
std::vector<int> int_list(JsonReader& r, const char* key, size_t n, const std::vector<int>& def) {
  if (!r.has(key)) {
    (void)r.optional_string(key);   // marks the key as known
    return def;
  }
  const json& v = r.raw(key);
  std::string expect = "expected an array of " + std::to_string(n) + " positive integers";
  if (!v.is_array() || v.size() != n) r.fail(key, expect + ", got " + json_brief(v));
  std::vector<int> out;
  for (size_t i = 0; i < n; ++i) {
    const json& e = v[i];
    if (!e.is_number_integer() || e.get<int64_t>() < 1 || e.get<int64_t>() > (1 << 20))
      r.fail((std::string(key) + "[" + std::to_string(i) + "]").c_str(),
             "expected an integer in [1, 1048576], got " + json_brief(e));
    out.push_back(static_cast<int>(e.get<int64_t>()));
  }
  return out;
}

int tile_m(JsonReader& w, const std::string& key, const json& v) {
  if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 8)
    w.fail(key.c_str(), "expected an integer in [1, 8], got " + json_brief(v));
  return static_cast<int>(v.get<int64_t>());
}

}  // namespace

int winograd_m_of(const ModelConfig& config, const std::string& layer) {
  for (const auto& [name, m] : config.winograd_m)
    if (name == layer) return m;
  return 4;
}

ModelConfig resolve_model_config(ModelConfig config) {
  return resolve(std::move(config), [](const std::string& key, const std::string& message) {
    throw InputError("model." + key + ": " + message);
  });
}

ModelConfig parse_model_config(JsonReader& r) {
  ModelConfig c;
  c.arch = r.string("arch", "alexnet-small", {"alexnet", "alexnet-small"});
  const arch::ArchSpec& a = arch::spec(c.arch);
  c.classes = static_cast<int>(r.integer("classes", a.classes, 2, 1000000));
  c.widths = int_list(r, "widths", 5, {a.widths.begin(), a.widths.end()});
  c.fc_widths = int_list(r, "fc_widths", 2, {a.fc_widths.begin(), a.fc_widths.end()});
  c.groups = static_cast<int>(r.integer("groups", 1, 1, 1 << 20));
  c.lrn = r.boolean("lrn", a.lrn);
  c.dropout = static_cast<float>(r.number("dropout", 0.5, 0.0, 1.0, false, true));
  c.input_channels = static_cast<int>(r.integer("input_channels", a.input_channels, 1, 1 << 20));
  c.input_size = static_cast<int>(r.integer("input_size", a.input_size, 1, 1 << 20));

  JsonReader w = r.object("winograd");
  if (w.has("layers")) {
    const json& v = w.raw("layers");
    if (v.is_string() && v.get<std::string>() == "all") {
      for (int i = 0; i < 5; ++i)
        if (a.stride[i] == 1) c.winograd_layers.push_back("conv" + std::to_string(i + 1));
    } else if (v.is_array()) {
      c.winograd_layers = w.string_list("layers", {});
    } else {
      w.fail("layers", "expected \"all\" or an array of layer names, got " + json_brief(v));
    }
  }
  if (w.has("m")) {
    const json& v = w.raw("m");
    if (v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it)
        c.winograd_m.emplace_back(it.key(), tile_m(w, "m." + it.key(), it.value()));
    } else {
      int m = tile_m(w, "m", v);
      for (const std::string& name : c.winograd_layers) {
        int idx = arch::conv_index(name);
        int r_ = idx >= 0 ? a.kernel[idx] : 3;
        try {
          (void)winograd_transform(m, r_);
        } catch (const InputError& e) {
          w.fail("m", "tile m = " + std::to_string(m) + " with the " + std::to_string(r_) + "x" +
                          std::to_string(r_) + " kernel of " + name + " is not supported: " + e.what());
        }
        if (idx >= 0) c.winograd_m.emplace_back(name, m);
      }
    }
  }
  w.finish();
  r.finish();
  return resolve(std::move(c), [&r](const std::string& key, const std::string& message) {
    r.fail(key.c_str(), message);
  });
}

json model_config_to_json(const ModelConfig& config) {
  json m = json::object();
  for (const auto& [name, tile] : config.winograd_m) m[name] = tile;
  return json{{"arch", config.arch},
              {"classes", config.classes},
              {"widths", config.widths},
              {"fc_widths", config.fc_widths},
              {"groups", config.groups},
              {"lrn", config.lrn},
              {"dropout", config.dropout},
              {"input_channels", config.input_channels},
              {"input_size", config.input_size},
              {"winograd", json{{"layers", config.winograd_layers}, {"m", m}}}};
}

}  // namespace wp
