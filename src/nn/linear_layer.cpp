// LinearLayer: y = x weight^T + bias.   x [N, in], weight [out, in], bias [out], y [N, out]
#include "winoprune/error.h"
#include "winoprune/nn/layers.h"
#include "winoprune/ops/packed_linear.h"

namespace wp {

LinearLayer::LinearLayer(std::string name, int in_features, int out_features)
    : Layer(std::move(name)), in_features_(in_features), out_features_(out_features) {
  if (in_features < 1 || out_features < 1)
    throw InputError(this->name() + ": invalid linear layer " + std::to_string(in_features) +
                     " -> " + std::to_string(out_features));
  weight_ = make_parameter(this->name(), "weight", {out_features, in_features}, true);
  bias_ = make_parameter(this->name(), "bias", {out_features}, false);
}

LinearLayer::~LinearLayer() = default;

Var LinearLayer::forward(const Var& x, ForwardContext& ctx) {
  if (packed_ && ctx.kernel == InferenceKernel::sparse && !grad_enabled())
    return leaf(packed_->forward(x->value));
  return linear(x, weight_.var, bias_.var);
}

// The packed inner product goes with the sparse kernel (the optimized inference path that
// evaluation, eval phases and the net bench prepare); dense keeps the training path's sgemm.
void LinearLayer::prepare_inference(InferenceKernel kernel) {
  if (kernel == InferenceKernel::dense) {
    packed_.reset();
    return;
  }
  packed_ = std::make_unique<PackedLinear>(weight_.value(), bias_.value());
}

Shape LinearLayer::output_shape(const Shape& in) const {
  if (in.size() != 2 || in[1] != in_features_)
    throw InputError(name() + ": expected input [N, " + std::to_string(in_features_) +
                     "], got " + shape_str(in));
  return {in[0], out_features_};
}

std::optional<WeightLayerInfo> LinearLayer::weight_info() const {
  WeightLayerInfo info;
  info.name = name();
  info.kind = "fc";
  info.weight_shape = weight_.value().shape();
  return info;
}

double LinearLayer::dense_flops_per_image(const Shape& input) const {
  (void)output_shape(input);
  return 2.0 * in_features_ * out_features_;
}

}  // namespace wp
