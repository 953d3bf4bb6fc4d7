// Conv2dLayer: y = conv2d(x, weight, bias).
//   x [N, C, H, W], weight [K, C/groups, r, r], bias [K]
//   y [N, K, (H + 2 pad - r) / stride + 1, (W + 2 pad - r) / stride + 1]
#include <stdexcept>

#include "winoprune/error.h"
#include "winoprune/nn/layers.h"

namespace wp {

Conv2dLayer::Conv2dLayer(std::string name, int in_channels, int out_channels, int kernel,
                         Conv2dParams p)
    : Layer(std::move(name)),
      in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_(kernel),
      params_(p) {
  if (in_channels < 1 || out_channels < 1 || kernel < 1 || p.stride < 1 || p.pad < 0 ||
      p.groups < 1 || in_channels % p.groups || out_channels % p.groups)
    throw InputError(this->name() + ": invalid convolution C=" + std::to_string(in_channels) +
                     " K=" + std::to_string(out_channels) + " r=" + std::to_string(kernel) +
                     " groups=" + std::to_string(p.groups) + " (groups must divide C and K)");
  weight_ = make_parameter(this->name(), "weight",
                           {out_channels, in_channels / p.groups, kernel, kernel}, true);
  bias_ = make_parameter(this->name(), "bias", {out_channels}, false);
}

Var Conv2dLayer::forward(const Var& x, ForwardContext&) {
  return conv2d(x, weight_.var, bias_.var, params_);
}

bool Conv2dLayer::fuses_relu(const ForwardContext&) const { return !grad_enabled(); }

Var Conv2dLayer::forward_relu(const Var& x, ForwardContext&) {
  return conv2d_relu_inference(x, weight_.var, bias_.var, params_);
}

Var Conv2dLayer::forward_relu_lrn_pool(const Var& x, const LrnParams* lrn, int pool_kernel,
                                        int pool_stride) {
  return conv2d_relu_lrn_pool(x, weight_.var, bias_.var, params_, lrn, pool_kernel,
                              pool_stride);
}

Shape Conv2dLayer::output_shape(const Shape& in) const {
  if (in.size() != 4 || in[1] != in_channels_)
    throw InputError(name() + ": expected input [N, " + std::to_string(in_channels_) +
                     ", H, W], got " + shape_str(in));
  int64_t ho = (in[2] + 2 * params_.pad - kernel_) / params_.stride + 1;
  int64_t wo = (in[3] + 2 * params_.pad - kernel_) / params_.stride + 1;
  if (in[2] + 2 * params_.pad < kernel_ || in[3] + 2 * params_.pad < kernel_)
    throw InputError(name() + ": input " + shape_str(in) + " is smaller than the " +
                     std::to_string(kernel_) + "x" + std::to_string(kernel_) + " kernel");
  return {in[0], out_channels_, ho, wo};
}

std::optional<WeightLayerInfo> Conv2dLayer::weight_info() const {
  WeightLayerInfo info;
  info.name = name();
  info.kind = "conv";
  info.weight_shape = weight_.value().shape();
  info.groups = params_.groups;
  return info;
}

double Conv2dLayer::dense_flops_per_image(const Shape& input) const {
  Shape out = output_shape(input);
  return 2.0 * out_channels_ * (in_channels_ / params_.groups) * kernel_ * kernel_ * out[2] *
         out[3];
}

}  // namespace wp
