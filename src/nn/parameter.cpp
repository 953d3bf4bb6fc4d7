// make_parameter: the one place that sets the default multipliers of weights and biases.
//   weights: lr_mult 1, decay_mult 1, prunable      biases: lr_mult 1, decay_mult 0
// (Caffe's AlexNet uses bias lr_mult 2; the optimizer's bias_lr_mult overrides it per run.)
#include <utility>

#include "winoprune/error.h"
#include "winoprune/nn/layers.h"

namespace wp {

void apply_mask(Parameter& p) {
  if (!p.mask.defined()) return;
  for (const auto& [t, what] : {std::pair<const Tensor*, const char*>{&p.mask, "mask"},
                                {&p.momentum, "momentum"}, {&p.second_moment, "second moment"}})
    if (t->defined() && t->shape() != p.value().shape())
      throw InputError(p.name + ": " + what + " has shape " + shape_str(t->shape()) +
                       ", expected " + shape_str(p.value().shape()));
  const float* m = p.mask.data();
  const int64_t n = p.value().numel();
  for (Tensor* t : {&p.value(), &p.momentum, &p.second_moment}) {
    if (!t->defined()) continue;
    float* x = t->data();
    for (int64_t i = 0; i < n; ++i) x[i] *= m[i];
  }
}

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
