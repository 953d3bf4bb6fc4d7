#pragma once
// A layer of a sequential model. Layers own their parameters and call ops; they hold no
// optimizer or pruning logic.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "winoprune/autograd.h"
#include "winoprune/nn/parameter.h"
#include "winoprune/rng.h"

namespace wp {

// Which implementation a Winograd layer uses without gradients (evaluation):
//   dense  = the training path (transform, dense GEMMs, transform)
//   sparse = the packed sparse kernel (src/sparse), rebuilt when the weights change
enum class InferenceKernel { dense, sparse };

struct ForwardContext {
  bool training = false;          // dropout on, batch statistics etc.
  Rng* rng = nullptr;             // dropout masks; required when training
  InferenceKernel kernel = InferenceKernel::dense;
  // Training under frozen masks (fine-tune phases): masked weight layers may run their products
  // over the unmasked entries only and leave the masked entries of the weight gradient
  // untouched (Winograd layers: forward on the sparse kernel packed from the mask, backward on
  // winograd/masked_products.h). Forward and data gradient are the dense path's up to rounding;
  // the optimizer multiplies the weight gradient by the mask.
  bool masked_products = false;
  // Training with masks that hold between pruning events (prune phases): masked Winograd
  // layers keeping at most kSparseForwardMaxDensity of their weights compute the forward value
  // on the sparse kernel packed from the mask (masked weights are exactly zero: the optimizer
  // multiplies its updates by the mask); backward stays dense. The dense value up to rounding.
  bool sparse_forward = false;
  // The training step this forward belongs to (the runner's step count; the slices of one
  // step, data.accumulate, share it); -1: every forward is a step of its own.
  int64_t step = -1;
  // Nonzero (new_frozen_masks_id()): the caller promises that no mask changes while it passes
  // this value (a fine-tune phase, beside Optimizer::set_masks_frozen). Masked layers then check
  // their mask against the pattern they built from it once per value instead of every forward
  // (AlexNet-227: a pass over 14 M mask entries per step).
  uint64_t frozen_masks = 0;
};

// A value for ForwardContext::frozen_masks no earlier call returned.
uint64_t new_frozen_masks_id();

// A Winograd layer's tile F(m x m, r x r): m x m outputs per tile from an r x r kernel.
struct WinogradTile {
  int m = 0, r = 0;
  // "F(4x4,3x3)": how reports, logs and the plan print it (docs/contracts.md, report.json).
  std::string name() const {
    return "F(" + std::to_string(m) + "x" + std::to_string(m) + "," + std::to_string(r) + "x" +
           std::to_string(r) + ")";
  }
};

// What reports and checkpoints need to know about a weight layer (conv, winograd, fc).
struct WeightLayerInfo {
  std::string name;               // "conv3"
  std::string kind;               // "conv" | "winograd" | "fc"
  std::optional<WinogradTile> tile;   // winograd only
  Shape weight_shape;             // [t*t, K, C/g] | [K, C/g, r, r] | [out, in]
  int groups = 1;
  // Dense direct-convolution multiply-adds x 2 per image (fc: 2*in*out), for MFLOP columns.
  double dense_flops_per_image = 0;
};

class Layer {
 public:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  virtual ~Layer() = default;
  const std::string& name() const { return name_; }
  virtual Var forward(const Var& x, ForwardContext& ctx) = 0;
  virtual std::vector<Parameter*> parameters() { return {}; }
  // Output shape for an input shape (with batch dimension); throws InputError if it does not fit.
  virtual Shape output_shape(const Shape& input) const = 0;
  // Kind, tile, weight shape and groups; dense_flops_per_image is left 0 here (it needs the
  // input size: Model::weight_layers() fills it from dense_flops_per_image(input)).
  virtual std::optional<WeightLayerInfo> weight_info() const { return std::nullopt; }
  // Dense direct-convolution FLOPs (2 x multiply-adds) per image for an input of `input`
  // ([1, C, H, W] or [1, in]); 0 for layers without weights.
  virtual double dense_flops_per_image(const Shape& input) const {
    (void)input;
    return 0.0;
  }
  // Readies the no-grad forward with `kernel` (the Winograd layer packs its pruned weights for
  // InferenceKernel::sparse). Call again after the weights change (training, pruning, loading):
  // a packed copy is not refreshed automatically. No-op for other layers.
  virtual void prepare_inference(InferenceKernel kernel) { (void)kernel; }
  // ReLU fusion (Model::forward): true when this layer, in this context, can apply the ReLU
  // that follows it to its own output as it writes it, which forward_relu then does:
  // forward_relu(x, ctx) = relu(forward(x, ctx)), one pass over the activation instead of two.
  // The Winograd layer does on every path, in training too (its backward masks dy by y > 0);
  // a spatial convolution in inference only (oneDNN's post-op).
  virtual bool fuses_relu(const ForwardContext& ctx) const {
    (void)ctx;
    return false;
  }
  virtual Var forward_relu(const Var& x, ForwardContext& ctx);

 private:
  std::string name_;
};

}  // namespace wp
