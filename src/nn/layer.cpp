// Layer's default behaviour: no ReLU fusion (layer.h); the frozen-mask ids.
#include "winoprune/nn/layer.h"

#include <atomic>
#include <stdexcept>

namespace wp {

uint64_t new_frozen_masks_id() {
  static std::atomic<uint64_t> last{0};
  return ++last;
}

Var Layer::forward_relu(const Var& x, ForwardContext& ctx) {
  (void)x;
  (void)ctx;
  throw std::logic_error("Layer::forward_relu: layer " + name() + " does not fuse a ReLU");
}

}  // namespace wp
