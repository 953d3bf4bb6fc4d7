#pragma once
// Sensitivity analysis (Distiller's): prune ONE layer at a time by magnitude to each sparsity of
// a sweep, evaluate the network, restore the layer's weights exactly, go on. The result says
// how much each layer tolerates and guides per-layer targets.
//
// Config (keys of the object given to parse_sensitivity_config, e.g. a "sensitivity" phase):
//   "layers": [...] | "winograd"  or  "regex": "...",   "range": [start, stop, step],
//   "position_scale": "none" | "output" | "output_input" (default "output_input")
// with 0 <= start <= stop <= 1, step > 0; stop is INCLUDED: [0, 0.95, 0.05] is 20 levels.
// position_scale ranks a Winograd layer's coefficients as the magnitude pruners do
// (position_scale.h), so the sweep measures what those pruners would do.
#include <functional>
#include <string>
#include <vector>

#include "winoprune/io/json_reader.h"
#include "winoprune/report/report.h"
#include "winoprune/prune/config.h"
#include "winoprune/prune/scheduler.h"

namespace wp {

struct SensitivityConfig {
  LayerSelection layers;
  double start = 0, stop = 0.95, step = 0.05;
  PositionScale position_scale = kDefaultPositionScale;
  std::vector<double> levels() const;   // sweep_values(start, stop, step)
};
SensitivityConfig parse_sensitivity_config(JsonReader& r);

// The keys parse_sensitivity_config reads, defaults filled in ("layers"/"regex", "range",
// "position_scale"), for the resolved config.json.
json sensitivity_config_to_json(const SensitivityConfig& c);

struct EvalMetrics {
  double top1 = 0, top5 = 0, loss = 0;
};
// Rows are report's SensitivityRow (include/winoprune/report/report.h): the type sensitivity.csv is
// written from and read back as.

// For each layer (outer loop, in the given order) and each level (inner loop): prune a copy of
// the weights to the level (mask and momentum untouched; Winograd layers ranked with the
// factors of `position_scale`), call evaluate(), restore the value. Rows come out in that
// order. The model is bit-identical afterwards, even if evaluate throws.
std::vector<SensitivityRow> sensitivity_analysis(
    const std::vector<PrunableLayer>& layers, const std::vector<double>& levels,
    const std::function<EvalMetrics()>& evaluate,
    PositionScale position_scale = kDefaultPositionScale);

}  // namespace wp
