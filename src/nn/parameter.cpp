// make_parameter: the one place that sets the default multipliers of weights and biases.
//   weights: lr_mult 1, decay_mult 1, prunable      biases: lr_mult 1, decay_mult 0
// (Caffe's AlexNet uses bias lr_mult 2; the optimizer's bias_lr_mult overrides it per run.)
#include "winoprune/nn/layers.h"

namespace wp {

Parameter make_parameter(const std::string& layer, const char* suffix, const Shape& shape,
                         bool is_weight) {
  Parameter p;
  p.name = layer + "." + suffix;
  p.var = leaf(Tensor::zeros(shape), true);
  p.lr_mult = 1.0f;
  p.decay_mult = is_weight ? 1.0f : 0.0f;
  p.prunable = is_weight;
  return p;
}

}  // namespace wp
