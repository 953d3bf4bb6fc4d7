// Sensitivity sweeps (include/winoprune/prune/sensitivity.h).
#include "winoprune/prune/sensitivity.h"

#include <stdexcept>
#include <string>

#include "winoprune/error.h"
#include "winoprune/prune/magnitude.h"
#include "winoprune/prune/schedule.h"

namespace wp {

std::vector<double> SensitivityConfig::levels() const { return sweep_values(start, stop, step); }

SensitivityConfig parse_sensitivity_config(JsonReader& r) {
  SensitivityConfig c;
  c.layers = parse_layer_selection(r);
  if (c.layers.names.empty() && !c.layers.all_winograd && c.layers.regex.empty())
    r.fail("layers", "is required: [names], \"winograd\", or \"regex\": \"...\" instead");
  if (std::optional<json> range = r.optional_raw("range")) {
    const json& v = *range;
    const std::string expect =
        "expected [start, stop, step] with 0 <= start <= stop <= 1 and step > 0, got ";
    bool ok = v.is_array() && v.size() == 3;
    for (size_t i = 0; ok && i < 3; ++i) ok = v[i].is_number();
    if (ok) {
      c.start = v[0].get<double>();
      c.stop = v[1].get<double>();
      c.step = v[2].get<double>();
      ok = c.start >= 0 && c.start <= c.stop && c.stop <= 1 && c.step > 0;
    }
    if (!ok) r.fail("range", expect + v.dump());
  }
  c.position_scale = parse_position_scale_key(r);
  return c;
}

json sensitivity_config_to_json(const SensitivityConfig& c) {
  json j = json::object();
  if (c.layers.all_winograd) j["layers"] = "winograd";
  else if (!c.layers.regex.empty()) j["regex"] = c.layers.regex;
  else j["layers"] = c.layers.names;
  j["range"] = {c.start, c.stop, c.step};
  j["position_scale"] = position_scale_name(c.position_scale);
  return j;
}

namespace {
// Restores a weight when it goes out of scope, so an evaluate() that throws leaves no trace.
struct RestoreValue {
  Parameter& p;
  Tensor saved;
  ~RestoreValue() { p.value().copy_from(saved); }
};
}  // namespace

std::vector<SensitivityRow> sensitivity_analysis(const std::vector<PrunableLayer>& layers,
                                                 const std::vector<double>& levels,
                                                 const std::function<EvalMetrics()>& evaluate,
                                                 PositionScale position_scale) {
  std::vector<SensitivityRow> rows;
  for (const PrunableLayer& layer : layers) {
    Parameter& p = *layer.weight;
    RestoreValue restore{p, p.value().clone()};
    const int64_t n = p.value().numel();
    std::vector<float> scratch_mask(static_cast<size_t>(n));
    const std::vector<double> factors =
        layer.kind == "winograd" ? position_scale_factors(position_scale, layer.m, layer.r)
                                 : std::vector<double>();
    WeightSpan span{restore.saved.data(), n};
    if (!factors.empty()) {
      const int64_t positions = restore.saved.dim(0);
      if (positions != int64_t(factors.size()) || n % positions != 0)
        throw std::logic_error(layer.name + ": weight has " + std::to_string(positions) +
                               " positions, its tile needs " + std::to_string(factors.size()));
      span.scale = factors.data();
      span.block = n / positions;
    }
    for (double level : levels) {
      p.value().copy_from(restore.saved);
      // The cut is computed on the saved weights, zeros applied to the live ones; the mask and
      // momentum of the parameter are not touched.
      MagnitudeCut cut = magnitude_cut({span}, prune_count(level, n));
      apply_cut(span, scratch_mask.data(), cut);
      float* w = p.value().data();
      for (int64_t i = 0; i < n; ++i)
        if (scratch_mask[size_t(i)] == 0.0f) w[i] = 0.0f;
      EvalMetrics m = evaluate();
      rows.push_back({layer.name, level, m.top1, m.top5, m.loss});
    }
  }
  return rows;
}

}  // namespace wp
