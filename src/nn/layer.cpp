// Layer's default behaviour: no ReLU fusion (layer.h).
#include "winoprune/nn/layer.h"

#include <stdexcept>

namespace wp {

Var Layer::forward_relu(const Var& x, ForwardContext& ctx) {
  (void)x;
  (void)ctx;
  throw std::logic_error("Layer::forward_relu: layer " + name() + " does not fuse a ReLU");
}

}  // namespace wp
