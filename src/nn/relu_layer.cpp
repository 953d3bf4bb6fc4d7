// ReLULayer: y = max(x, 0), any shape.
#include "winoprune/nn/layers.h"

namespace wp {

Var ReLULayer::forward(const Var& x, ForwardContext&) { return relu(x); }

}  // namespace wp
