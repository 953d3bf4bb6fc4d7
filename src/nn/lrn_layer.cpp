// LRNLayer: Caffe's ACROSS_CHANNELS normalization, shape-preserving on [N, C, H, W]:
//   y = x / (k + alpha/size * sum_{window of `size` channels around c} x^2)^beta
#include "winoprune/error.h"
#include "winoprune/nn/layers.h"

namespace wp {

LRNLayer::LRNLayer(std::string name, int size, float alpha, float beta, float k)
    : Layer(std::move(name)), size_(size), alpha_(alpha), beta_(beta), k_(k) {
  if (size < 1 || size % 2 == 0)
    throw InputError(this->name() + ": LRN size must be odd and positive, got " +
                     std::to_string(size));
}

Var LRNLayer::forward(const Var& x, ForwardContext&) { return lrn(x, size_, alpha_, beta_, k_); }

Shape LRNLayer::output_shape(const Shape& in) const {
  if (in.size() != 4) throw InputError(name() + ": expected input [N, C, H, W], got " + shape_str(in));
  return in;
}

}  // namespace wp
