// MaxPoolLayer: x [N, C, H, W] -> [N, C, (H - kernel) / stride + 1, (W - kernel) / stride + 1]
// (no padding, floor mode: alexnet-small's 7x7 -> 3x3 with kernel 2 stride 2).
#include "winoprune/error.h"
#include "winoprune/nn/layers.h"

namespace wp {

MaxPoolLayer::MaxPoolLayer(std::string name, int kernel, int stride)
    : Layer(std::move(name)), kernel_(kernel), stride_(stride) {
  if (kernel < 1 || stride < 1)
    throw InputError(this->name() + ": invalid pooling kernel " + std::to_string(kernel) +
                     " stride " + std::to_string(stride));
}

Var MaxPoolLayer::forward(const Var& x, ForwardContext&) {
  return max_pool2d(x, kernel_, stride_);
}

Shape MaxPoolLayer::output_shape(const Shape& in) const {
  if (in.size() != 4) throw InputError(name() + ": expected input [N, C, H, W], got " + shape_str(in));
  if (in[2] < kernel_ || in[3] < kernel_)
    throw InputError(name() + ": input " + shape_str(in) + " is smaller than the " +
                     std::to_string(kernel_) + "x" + std::to_string(kernel_) + " window");
  return {in[0], in[1], (in[2] - kernel_) / stride_ + 1, (in[3] - kernel_) / stride_ + 1};
}

}  // namespace wp
