// Layer selection and per-layer sparsity statistics (include/winoprune/prune/scheduler.h).
#include <algorithm>
#include <regex>

#include "winoprune/error.h"
#include "winoprune/prune/magnitude.h"
#include "winoprune/prune/scheduler.h"

namespace wp {

namespace {
std::string layer_list(const std::vector<PrunableLayer>& layers) {
  std::string s;
  for (const auto& l : layers) s += (s.empty() ? "" : ", ") + l.name;
  return s.empty() ? "none" : s;
}
}  // namespace

std::vector<PrunableLayer> select_layers(const LayerSelection& sel,
                                         const std::vector<PrunableLayer>& layers) {
  std::vector<PrunableLayer> out;
  if (!sel.names.empty()) {
    for (const auto& name : sel.names) {
      bool found = false;
      for (const auto& l : layers) found = found || l.name == name;
      if (!found)
        throw InputError(json_path_join(sel.path, "layers") + ": no weight layer \"" + name +
                         "\" (the model has: " + layer_list(layers) + ")");
    }
    for (const auto& l : layers)
      for (const auto& name : sel.names)
        if (l.name == name) out.push_back(l);
    return out;
  }
  if (sel.all_winograd) {
    for (const auto& l : layers)
      if (l.kind == "winograd") out.push_back(l);
    if (out.empty())
      throw InputError(json_path_join(sel.path, "layers") +
                       ": \"winograd\" selects nothing: the model has no Winograd layer at this "
                       "phase (a convert phase before it, or model.winograd, makes some)");
    return out;
  }
  std::regex re;
  try {
    re = std::regex(sel.regex, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw InputError(json_path_join(sel.path, "regex") + ": invalid regular expression \"" +
                     sel.regex + "\" (" + e.what() + ")");
  }
  for (const auto& l : layers)
    if (std::regex_match(l.name, re)) out.push_back(l);
  if (out.empty())
    throw InputError(json_path_join(sel.path, "regex") + ": \"" + sel.regex +
                     "\" matches no weight layer (the model has: " + layer_list(layers) + ")");
  return out;
}

LayerSparsity layer_sparsity(const PrunableLayer& layer) {
  LayerSparsity s;
  s.name = layer.name;
  s.kind = layer.kind;
  const Tensor& w = layer.weight->value();
  s.params = w.numel();
  s.nnz = s.params - count_zeros(w.data(), s.params);
  s.sparsity = s.params ? double(s.params - s.nnz) / double(s.params) : 0.0;
  if (layer.kind == "winograd" && w.ndim() == 3 && w.dim(0) > 0) {
    const int64_t positions = w.dim(0), size = s.params / positions;
    double lo = 1, hi = 0;
    for (int64_t j = 0; j < positions; ++j) {
      double z = size ? double(count_zeros(w.data() + j * size, size)) / double(size) : 0.0;
      lo = std::min(lo, z);
      hi = std::max(hi, z);
      s.position_sparsity.push_back(z);
    }
    s.position_sparsity_min = lo;
    s.position_sparsity_max = hi;
  }
  return s;
}

std::vector<LayerSparsity> layer_sparsities(const std::vector<PrunableLayer>& layers) {
  std::vector<LayerSparsity> out;
  for (const auto& l : layers) out.push_back(layer_sparsity(l));
  return out;
}

}  // namespace wp
