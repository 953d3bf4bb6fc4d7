#pragma once
// The layers of the AlexNet family, one class per source file in src/nn/. Weight layers own
// "<name>.weight" and "<name>.bias" parameters (weights: lr_mult 1, decay_mult 1, prunable;
// biases: lr_mult 1, decay_mult 0). Initialization is build_model's job (model.cpp); a fresh
// layer holds zeros.
//
// Shapes: N batch, C in channels, K out channels, r kernel size, t = m + r - 1 Winograd tile.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "winoprune/nn/layer.h"
#include "winoprune/ops/ops.h"
#include "winoprune/winograd/winograd_conv2d.h"

namespace wp {

// Spatial convolution (wp::conv2d). weight [K, C/groups, r, r], bias [K].
class Conv2dLayer : public Layer {
 public:
  Conv2dLayer(std::string name, int in_channels, int out_channels, int kernel, Conv2dParams p);
  Var forward(const Var& x, ForwardContext& ctx) override;
  // Without gradients a following ReLU runs as oneDNN's post-op (conv2d_relu_inference).
  bool fuses_relu(const ForwardContext& ctx) const override;
  Var forward_relu(const Var& x, ForwardContext& ctx) override;
  // max_pool(lrn(relu(forward(x)))) in one op, training or not (conv2d_relu_lrn_pool; lrn
  // null: no LRN).
  Var forward_relu_lrn_pool(const Var& x, const LrnParams* lrn, int pool_kernel,
                            int pool_stride);
  std::vector<Parameter*> parameters() override { return {&weight_, &bias_}; }
  Shape output_shape(const Shape& input) const override;
  std::optional<WeightLayerInfo> weight_info() const override;
  double dense_flops_per_image(const Shape& input) const override;

  Parameter& weight() { return weight_; }
  Parameter& bias() { return bias_; }
  const Parameter& weight() const { return weight_; }
  const Parameter& bias() const { return bias_; }
  int in_channels() const { return in_channels_; }
  int out_channels() const { return out_channels_; }
  int kernel() const { return kernel_; }
  const Conv2dParams& params() const { return params_; }

 private:
  int in_channels_, out_channels_, kernel_;
  Conv2dParams params_;
  Parameter weight_, bias_;
};

// Winograd-domain convolution (wp::winograd_conv2d): a stride-1 conv whose parameter is
// W [t*t, K, C/groups] itself (docs/method.md section 1). bias [K].
// Its weight carries lr_scale = position_lr_scale(m, r) and tile_precond =
// spatial_preconditioner(m, r) (see there and optim/optimizer.h): plain SGD on W diverges.
// Inference: with InferenceKernel::sparse and grad mode off, forward uses the packed sparse
// kernel built by prepare_inference(sparse); otherwise the dense training path.
// Training with ForwardContext::masked_products and a mask: the masked products of
// winograd/masked_products.h, under a pattern rebuilt whenever the mask differs from the one
// it was built from (checked every forward: one pass over the mask).
class WinogradConv2dLayer : public Layer {
 public:
  WinogradConv2dLayer(std::string name, int in_channels, int out_channels, WinogradConvParams p);
  ~WinogradConv2dLayer() override;
  // The "convert" phase: W = G g G^T from a stride-1 spatial conv, bias copied, lr/decay
  // multipliers kept; masks and momentum are not carried over (they live in another basis).
  // Throws InputError for stride != 1 or an unsupported (m, r).
  static std::unique_ptr<WinogradConv2dLayer> from_conv(const Conv2dLayer& conv, int m);

  Var forward(const Var& x, ForwardContext& ctx) override;
  // A following ReLU is applied in the output transform on every path: the sparse kernel
  // without gradients, the dense and masked training paths (their backward masks dy by y > 0).
  bool fuses_relu(const ForwardContext& ctx) const override;
  Var forward_relu(const Var& x, ForwardContext& ctx) override;
  std::vector<Parameter*> parameters() override { return {&weight_, &bias_}; }
  Shape output_shape(const Shape& input) const override;
  std::optional<WeightLayerInfo> weight_info() const override;
  double dense_flops_per_image(const Shape& input) const override;
  void prepare_inference(InferenceKernel kernel) override;

  // weight := G g G^T for g [K, C/groups, r, r] (initialization and conversion).
  void set_from_spatial(const Tensor& g);

  // Per-position lr multipliers [t*t] that equalize the curvature of the loss in W with that
  // of the spatial weights (a diagonal preconditioner). Position j = (p, q) of a tile scales the
  // output through rows p, q of A and sees the transformed input V_j = (B^T d B)_pq, so for
  // white inputs of variance s^2 its diagonal curvature is a_p^2 a_q^2 b_p^2 b_q^2 s^2 per tile,
  // a_p = ||row p of A||, b_p = ||row p of B^T||, against m^2 s^2 for a spatial weight:
  //   lr_scale[j] = m^2 / (a_p b_p a_q b_q)^2.
  // F(4x4,3x3): a b = [6.5, 11.7, 11.7, 29.1, 29.1, 6.5], scales 9.1e-3 (corners) down to
  // 2.2e-5 (p = q = 3). Without it, plain SGD on a fresh Winograd net diverged even at lr 1e-4
  // on a tiny random batch that the spatial net memorizes at lr 0.02 (tests/nn/test_train.cpp);
  // with it both train at 0.02. On Fashion-MNIST (alexnet-small, 100 steps of 128, lr 0.02
  // Nesterov, no dropout) Winograd conv2..5 reached 0.846 top-1 (2000 test images), spatial 0.774.
  static Tensor position_lr_scale(int m, int r);
  // Q = G G^T [t, t]: the optimizer's spatial preconditioner (optim/optimizer.h). For W = G g G^T,
  // the spatial gradient step on g is the step Q dW Q on W.
  static Tensor spatial_preconditioner(int m, int r);

  Parameter& weight() { return weight_; }
  Parameter& bias() { return bias_; }
  const Parameter& weight() const { return weight_; }
  const Parameter& bias() const { return bias_; }
  int in_channels() const { return in_channels_; }
  int out_channels() const { return out_channels_; }
  const WinogradConvParams& params() const { return params_; }
  int tile() const { return params_.m + params_.r - 1; }   // t
  bool has_packed_sparse() const { return packed_ != nullptr; }
  // Whether a training forward has the sparse kernel packed for the current mask (tests).
  bool has_training_pack() const { return frozen_ != nullptr; }

 private:
  Var sparse_forward(const Var& x, bool relu);
  // forward, or forward_relu with relu.
  Var forward_with(const Var& x, ForwardContext& ctx, bool relu);
  struct Packed;   // the sparse engineer's packed weights (src/nn/winograd_conv2d_layer.cpp)
  int in_channels_, out_channels_;
  WinogradConvParams params_;
  Parameter weight_, bias_;
  std::unique_ptr<Packed> packed_;
  std::shared_ptr<const MaskedProductPattern> pattern_;   // of weight_.mask, for masked_products
  uint64_t pattern_frozen_ = 0;   // the ForwardContext::frozen_masks pattern_ was checked under
  // The sparse kernel packed from a mask for training forwards (fine-tune, prune phases), the
  // mask it was packed from, and the mask seen at the last forward that had no pack (and that
  // forward's step): a mask is packed at once when `now` (fine-tune), else once it holds for
  // two steps (prune; ForwardContext::step: the slices of one step are one sighting), and
  // only if it keeps at most max_density of the weights. `checked`: the masked-product
  // pattern this forward has just matched against the mask (fine-tune), or null; while the
  // pack was built beside that same pattern, the mask is not compared again.
  bool frozen_pack_ready(const std::shared_ptr<const MaskedProductPattern>& checked, bool now,
                         double max_density, int64_t step);
  std::unique_ptr<Packed> frozen_;
  std::vector<uint8_t> frozen_mask_, seen_mask_;
  int64_t seen_step_ = -1;
  std::shared_ptr<const MaskedProductPattern> frozen_pattern_;
};

// Fully connected (wp::linear). Input [N, in]. weight [out, in], bias [out].
class PackedLinear;   // ops/packed_linear.h

class LinearLayer : public Layer {
 public:
  LinearLayer(std::string name, int in_features, int out_features);
  ~LinearLayer() override;
  // Without gradients, after prepare_inference(sparse): oneDNN's inner product on a packed copy
  // of the weights (ops/packed_linear.h), which is not refreshed when they change.
  Var forward(const Var& x, ForwardContext& ctx) override;
  void prepare_inference(InferenceKernel kernel) override;
  std::vector<Parameter*> parameters() override { return {&weight_, &bias_}; }
  Shape output_shape(const Shape& input) const override;
  std::optional<WeightLayerInfo> weight_info() const override;
  double dense_flops_per_image(const Shape& input) const override;

  Parameter& weight() { return weight_; }
  Parameter& bias() { return bias_; }
  int in_features() const { return in_features_; }
  int out_features() const { return out_features_; }

 private:
  int in_features_, out_features_;
  Parameter weight_, bias_;
  std::unique_ptr<PackedLinear> packed_;
};

class ReLULayer : public Layer {
 public:
  explicit ReLULayer(std::string name) : Layer(std::move(name)) {}
  Var forward(const Var& x, ForwardContext& ctx) override;
  Shape output_shape(const Shape& input) const override { return input; }
};

// Max pooling, no padding, floor mode (wp::max_pool2d).
class MaxPoolLayer : public Layer {
 public:
  MaxPoolLayer(std::string name, int kernel, int stride);
  Var forward(const Var& x, ForwardContext& ctx) override;
  Shape output_shape(const Shape& input) const override;
  int kernel() const { return kernel_; }
  int stride() const { return stride_; }

 private:
  int kernel_, stride_;
};

// Cross-channel LRN (wp::lrn); AlexNet: size 5, alpha 1e-4, beta 0.75, k 1.
class LRNLayer : public Layer {
 public:
  LRNLayer(std::string name, int size = 5, float alpha = 1e-4f, float beta = 0.75f,
           float k = 1.0f);
  Var forward(const Var& x, ForwardContext& ctx) override;
  Shape output_shape(const Shape& input) const override;
  int size() const { return size_; }
  float alpha() const { return alpha_; }
  float beta() const { return beta_; }
  float k() const { return k_; }

 private:
  int size_;
  float alpha_, beta_, k_;
};

// Inverted dropout with probability p while ctx.training (ctx.rng required then); identity
// otherwise.
class DropoutLayer : public Layer {
 public:
  DropoutLayer(std::string name, float p);
  Var forward(const Var& x, ForwardContext& ctx) override;
  Shape output_shape(const Shape& input) const override { return input; }
  float p() const { return p_; }

 private:
  float p_;
};

// [N, ...] -> [N, prod(...)]
class FlattenLayer : public Layer {
 public:
  explicit FlattenLayer(std::string name) : Layer(std::move(name)) {}
  Var forward(const Var& x, ForwardContext& ctx) override;
  Shape output_shape(const Shape& input) const override;
};

// A parameter "<layer>.<suffix>" of `shape`, zero-filled, requires_grad.
Parameter make_parameter(const std::string& layer, const char* suffix, const Shape& shape,
                         bool is_weight);

}  // namespace wp
