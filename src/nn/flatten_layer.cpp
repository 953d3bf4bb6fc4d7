// FlattenLayer: [N, ...] -> [N, prod(...)] (a view; no copy).
#include "winoprune/error.h"
#include "winoprune/nn/layers.h"

namespace wp {

Var FlattenLayer::forward(const Var& x, ForwardContext&) { return flatten(x); }

Shape FlattenLayer::output_shape(const Shape& in) const {
  if (in.empty()) throw InputError(name() + ": cannot flatten a scalar");
  int64_t rest = 1;
  for (size_t i = 1; i < in.size(); ++i) rest *= in[i];
  return {in[0], rest};
}

}  // namespace wp
