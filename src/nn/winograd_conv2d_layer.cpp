// WinogradConv2dLayer: a stride-1 convolution computed in the Winograd domain, whose parameter
// is the transformed kernel itself (docs/method.md section 1).
//   x [N, C, H, W], weight W [t*t, K, C/groups], bias [K]
//   y [N, K, H + 2 pad - r + 1, W + 2 pad - r + 1]
//   conversion / init: W[:, k, c] = G g[k, c] G^T    (spatial_to_winograd)
// Inference with InferenceKernel::sparse (grad mode off) runs the packed sparse kernel of
// src/sparse; the pack is built by prepare_inference(sparse) (or on first use) and is NOT
// refreshed when the weights change: call prepare_inference again after training or pruning.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "winoprune/autograd.h"
#include "winoprune/error.h"
#include "winoprune/nn/layers.h"
#include "winoprune/sparse/sparse_winograd.h"
#include "winoprune/winograd/masked_products.h"
#include "winoprune/winograd/transform.h"

namespace wp {

namespace {

// Prune phases take the sparse forward at or below this density. Measured, AlexNet-227 conv4
// at batch 64 (bench --suite layer, forward): dense Winograd 37 ms, sparse kernel 29 ms at 50%
// sparsity and 8 ms at 90%.
constexpr double kSparseForwardMaxDensity = 0.5;

}  // namespace

struct WinogradConv2dLayer::Packed {
  SparseWinogradConv conv;
  // For a training pack and the masked-product pattern of the same mask: the pack entry of each
  // of the pattern's entries in its by-input-channel order, and the pattern it was built for.
  std::shared_ptr<const MaskedProductPattern> by_c_pattern;
  std::vector<int32_t> by_c_entry;

  Tensor by_c_weights(const std::shared_ptr<const MaskedProductPattern>& pattern,
                      int64_t weights);
};

namespace {

// The pack entry holding each of pattern's entries, in its by-input-channel order. The pack
// and the pattern come from the same mask: every entry is in the pack.
std::vector<int32_t> by_c_entry_of(const SparseWinogradConv& conv,
                                   const MaskedProductPattern& pattern, int64_t weights) {
  std::vector<int32_t> entry_of(size_t(weights), -1);   // W index -> pack entry
  const std::vector<int32_t>& widx = conv.weight_index();
  for (size_t e = 0; e < widx.size(); ++e)
    if (widx[e] >= 0) entry_of[size_t(widx[e])] = int32_t(e);
  std::vector<int32_t> out(size_t(pattern.nnz()));
  const int64_t per_position = weights / pattern.positions;
  for (int j = 0; j < pattern.positions; ++j)
    for (int64_t e = pattern.by_c_start[size_t(j) * pattern.C];
         e < pattern.by_c_start[size_t(j + 1) * pattern.C]; ++e) {
      out[size_t(e)] = entry_of[size_t(j * per_position + pattern.by_c_w[size_t(e)])];
      if (out[size_t(e)] < 0)
        throw std::logic_error("sparse training pack: a pattern entry is not in the pack");
    }
  return out;
}

}  // namespace

// The data gradient's weights (winograd_conv2d's by_c_weights) from a training pack's compact
// values, refreshed by the forward: gathered from W instead, each entry of the by-input-channel
// order is a new cache line of W_j (AlexNet conv2..conv5 at 90%: 0.7% of a fine-tune step's
// samples, latency-bound). The entry map is built once per pack and pattern.
Tensor WinogradConv2dLayer::Packed::by_c_weights(
    const std::shared_ptr<const MaskedProductPattern>& pattern, int64_t weights) {
  if (by_c_pattern != pattern) {
    by_c_entry = by_c_entry_of(conv, *pattern, weights);
    by_c_pattern = pattern;
  }
  const int64_t n = pattern->nnz();
  Tensor out = Tensor::empty({n});
  const float* val = conv.val().data();
  const int32_t* entry = by_c_entry.data();
  float* o = out.data();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t e = 0; e < n; ++e) o[e] = val[entry[e]];
  return out;
}

WinogradConv2dLayer::WinogradConv2dLayer(std::string name, int in_channels, int out_channels,
                                         WinogradConvParams p)
    : Layer(std::move(name)), in_channels_(in_channels), out_channels_(out_channels), params_(p) {
  if (in_channels < 1 || out_channels < 1 || p.r < 1 || p.pad < 0 || p.groups < 1 ||
      in_channels % p.groups || out_channels % p.groups)
    throw InputError(this->name() + ": invalid Winograd convolution C=" +
                     std::to_string(in_channels) + " K=" + std::to_string(out_channels) +
                     " r=" + std::to_string(p.r) + " groups=" + std::to_string(p.groups) +
                     " (groups must divide C and K)");
  (void)winograd_transform(p.m, p.r);   // throws InputError for an unsupported F(m, r)
  const int t = p.m + p.r - 1;
  weight_ = make_parameter(this->name(), "weight",
                           {int64_t(t) * t, out_channels, in_channels / p.groups}, true);
  bias_ = make_parameter(this->name(), "bias", {out_channels}, false);
  weight_.lr_scale = position_lr_scale(p.m, p.r);
  weight_.tile_precond = spatial_preconditioner(p.m, p.r);
}

Tensor WinogradConv2dLayer::spatial_preconditioner(int m, int r) {
  const WinogradTransform& tr = winograd_transform(m, r);
  const int t = tr.t;
  Tensor q = Tensor::empty({t, t});
  for (int a = 0; a < t; ++a)
    for (int b = 0; b < t; ++b) {
      double s = 0;
      for (int i = 0; i < r; ++i) s += tr.G[size_t(a) * r + i] * tr.G[size_t(b) * r + i];
      q[a * t + b] = static_cast<float>(s);
    }
  return q;
}

WinogradConv2dLayer::~WinogradConv2dLayer() = default;

Tensor WinogradConv2dLayer::position_lr_scale(int m, int r) {
  const TransformRowGains g = transform_row_gains(m, r);
  const int t = int(g.a.size());
  std::vector<double> ab(t);   // a_p * b_p
  for (int p = 0; p < t; ++p) ab[p] = g.a[size_t(p)] * g.b[size_t(p)];
  Tensor scale = Tensor::empty({int64_t(t) * t});
  for (int p = 0; p < t; ++p)
    for (int q = 0; q < t; ++q) {
      const double x = double(m) / (ab[p] * ab[q]);
      scale[p * t + q] = static_cast<float>(x * x);
    }
  return scale;
}

std::unique_ptr<WinogradConv2dLayer> WinogradConv2dLayer::from_conv(const Conv2dLayer& conv,
                                                                     int m) {
  const Conv2dParams& cp = conv.params();
  if (cp.stride != 1)
    throw InputError(conv.name() + ": cannot convert to a Winograd layer: stride " +
                     std::to_string(cp.stride) + " (a Winograd layer needs stride 1)");
  WinogradConvParams wp_params;
  wp_params.m = m;
  wp_params.r = conv.kernel();
  wp_params.pad = cp.pad;
  wp_params.groups = cp.groups;
  auto layer = std::make_unique<WinogradConv2dLayer>(conv.name(), conv.in_channels(),
                                                     conv.out_channels(), wp_params);
  layer->set_from_spatial(conv.weight().value());
  layer->bias_.value().copy_from(conv.bias().value());
  layer->weight_.lr_mult = conv.weight().lr_mult;
  layer->weight_.decay_mult = conv.weight().decay_mult;
  layer->bias_.lr_mult = conv.bias().lr_mult;
  layer->bias_.decay_mult = conv.bias().decay_mult;
  return layer;
}

void WinogradConv2dLayer::set_from_spatial(const Tensor& g) {
  Shape expect{out_channels_, in_channels_ / params_.groups, params_.r, params_.r};
  if (g.shape() != expect)
    throw InputError(name() + ": spatial kernel " + shape_str(g.shape()) + ", expected " +
                     shape_str(expect));
  weight_.value().copy_from(spatial_to_winograd(g, params_.m));
  packed_.reset();
}

// The packed sparse kernel (packed on first use), optionally applying a ReLU as it stores.
Var WinogradConv2dLayer::sparse_forward(const Var& x, bool relu) {
  if (!packed_) prepare_inference(InferenceKernel::sparse);
  return leaf(packed_->conv.forward(x->value, bias_.value().data(), relu));
}

bool WinogradConv2dLayer::frozen_pack_ready(
    const std::shared_ptr<const MaskedProductPattern>& checked, bool now, double max_density,
    int64_t step) {
  const Tensor& m = weight_.mask;
  // The pattern this forward already matched against the mask is the one the pack was built
  // beside: the mask has not changed since, and a second pass over it is saved (AlexNet: two
  // serial passes over 56 MB per step were 2.5% of a fine-tune step's samples).
  if (frozen_ && checked && frozen_pattern_ == checked) return true;
  if (frozen_ && same_nonzeros(m, frozen_mask_)) {
    frozen_pattern_ = checked;
    return true;
  }
  frozen_.reset();
  frozen_pattern_.reset();
  if (!now && !same_nonzeros(m, seen_mask_)) {   // a new mask: wait for a second sighting
    seen_mask_ = nonzero_bytes(m);
    seen_step_ = step;
    return false;
  }
  if (!now && step >= 0 && step == seen_step_) return false;   // another slice of that step
  std::vector<uint8_t> bytes = nonzero_bytes(m);
  int64_t kept = 0;
  for (uint8_t b : bytes) kept += b;
  if (double(kept) > max_density * double(bytes.size())) return false;
  frozen_mask_ = std::move(bytes);
  frozen_pattern_ = checked;
  frozen_ = std::make_unique<Packed>();
  frozen_->conv = SparseWinogradConv::pack(m, params_.m, params_.r, params_.pad, params_.groups);
  return true;
}

Var WinogradConv2dLayer::forward(const Var& x, ForwardContext& ctx) {
  return forward_with(x, ctx, false);
}

Var WinogradConv2dLayer::forward_with(const Var& x, ForwardContext& ctx, bool relu) {
  if (ctx.kernel == InferenceKernel::sparse && !grad_enabled())
    return sparse_forward(x, relu);   // the packed kernel, no gradients
  WinogradConvParams params = params_;
  params.relu = relu;
  if (!grad_enabled() || !weight_.mask.defined() || !(ctx.masked_products || ctx.sparse_forward))
    return winograd_conv2d(x, weight_.var, bias_.var, params);
  // Backward on the masked products in fine-tune phases, dense in prune phases (where the
  // masked products lose below ~80% sparsity).
  std::shared_ptr<const MaskedProductPattern> masked;
  if (ctx.masked_products) {
    // Under frozen masks, once per frozen_masks value (layer.h); else every forward.
    const bool checked = pattern_ && ctx.frozen_masks != 0 && ctx.frozen_masks == pattern_frozen_;
    if (!checked && (!pattern_ || !pattern_->matches(weight_.mask)))
      pattern_ = build_masked_product_pattern(weight_.mask, params_.groups);
    pattern_frozen_ = ctx.frozen_masks;
    masked = pattern_;
  }
  // The forward value on the sparse kernel, packed from the mask and refreshed with the current
  // weights (its fused transforms and products). Fine-tune phases pack at once (their mask is
  // frozen); prune phases once the mask has held for two forwards (pruners active at every
  // step, e.g. threshold, change it every step and a pack per step costs more than it saves)
  // and only at or below kSparseForwardMaxDensity. Measured (bench --suite train, 90% masks):
  // fine-tune step against the dense Winograd step 0.86x -> 0.78x for alexnet-small at batch
  // 128, 0.96x -> 0.77x for AlexNet-227 at 64.
  if (SparseWinogradConv::supports(x->value, params_.groups) &&
      frozen_pack_ready(masked, ctx.masked_products,
                        ctx.masked_products ? 1.0 : kSparseForwardMaxDensity, ctx.step)) {
    frozen_->conv.refresh_values(weight_.value());
    const SparseWinogradConv& conv = frozen_->conv;
    const Tensor by_c =
        masked ? frozen_->by_c_weights(masked, weight_.value().numel()) : Tensor();
    const float* bias = bias_.value().data();
    return winograd_conv2d(x, weight_.var, bias_.var, params, masked,
                           [&conv, bias, relu](const Tensor& in, Tensor& y) {
                             conv.forward(in, bias, relu, y);
                           },
                           by_c);
  }
  return winograd_conv2d(x, weight_.var, bias_.var, params, masked);
}

// Every path applies it as it stores the output: the sparse kernel, the dense and masked
// training paths (WinogradConvParams::relu, with its backward).
bool WinogradConv2dLayer::fuses_relu(const ForwardContext&) const { return true; }

Var WinogradConv2dLayer::forward_relu(const Var& x, ForwardContext& ctx) {
  return forward_with(x, ctx, true);
}

void WinogradConv2dLayer::prepare_inference(InferenceKernel kernel) {
  if (kernel == InferenceKernel::dense) {
    packed_.reset();
    return;
  }
  packed_ = std::make_unique<Packed>();
  packed_->conv =
      SparseWinogradConv::pack(weight_.value(), params_.m, params_.r, params_.pad, params_.groups);
}

Shape WinogradConv2dLayer::output_shape(const Shape& in) const {
  if (in.size() != 4 || in[1] != in_channels_)
    throw InputError(name() + ": expected input [N, " + std::to_string(in_channels_) +
                     ", H, W], got " + shape_str(in));
  if (in[2] + 2 * params_.pad < params_.r || in[3] + 2 * params_.pad < params_.r)
    throw InputError(name() + ": input " + shape_str(in) + " is smaller than the " +
                     std::to_string(params_.r) + "x" + std::to_string(params_.r) + " kernel");
  return {in[0], out_channels_, in[2] + 2 * params_.pad - params_.r + 1,
          in[3] + 2 * params_.pad - params_.r + 1};
}

std::optional<WeightLayerInfo> WinogradConv2dLayer::weight_info() const {
  WeightLayerInfo info;
  info.name = name();
  info.kind = "winograd";
  info.tile = WinogradTile{params_.m, params_.r};
  info.weight_shape = weight_.value().shape();
  info.groups = params_.groups;
  return info;
}

double WinogradConv2dLayer::dense_flops_per_image(const Shape& input) const {
  Shape out = output_shape(input);
  return 2.0 * out_channels_ * (in_channels_ / params_.groups) * params_.r * params_.r *
         out[2] * out[3];
}

}  // namespace wp
