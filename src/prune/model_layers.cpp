// The prunable layers of a Model (include/winoprune/prune/scheduler.h). Kept apart from the rest
// of the area: it is the only file that needs wp_nn's Model.
#include <stdexcept>

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
      if (!info->tile) throw std::logic_error(info->name + ": Winograd layer without a tile");
      pl.m = info->tile->m;
      pl.r = info->tile->r;
    }
    out.push_back(pl);
  }
  return out;
}

}  // namespace wp
