// The prunable layers of a Model (include/winoprune/prune/scheduler.h). Kept apart from the rest
// of the area: it is the only file that needs wp_nn's Model.
#include <cstdio>

#include "winoprune/error.h"
#include "winoprune/nn/model.h"
#include "winoprune/prune/scheduler.h"

namespace wp {

std::vector<PrunableLayer> prunable_layers(Model& model) {
  std::vector<PrunableLayer> out;
  for (Layer* layer : model.layers()) {
    std::optional<WeightLayerInfo> info = layer->weight_info();
    if (!info) continue;
    PrunableLayer pl;
    pl.name = info->name;
    pl.kind = info->kind;
    for (Parameter* p : layer->parameters())
      if (p->name == info->name + ".weight") pl.weight = p;
    if (!pl.weight) throw std::logic_error(info->name + ": weight layer without a .weight");
    if (pl.kind == "winograd") {
      // tile is "F(4x4,3x3)" (docs/contracts.md, report.json).
      int m1 = 0, m2 = 0, r1 = 0, r2 = 0;
      if (std::sscanf(info->tile.c_str(), "F(%dx%d,%dx%d)", &m1, &m2, &r1, &r2) != 4 ||
          m1 != m2 || r1 != r2)
        throw std::logic_error(info->name + ": cannot read tile \"" + info->tile + "\"");
      pl.m = m1;
      pl.r = r1;
    }
    out.push_back(pl);
  }
  return out;
}

}  // namespace wp
