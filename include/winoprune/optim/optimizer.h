#pragma once
// The optimizer of a training phase: type "sgd" or "adam" (OptimizerConfig::type), one class.
// SGD with momentum (optionally Nesterov), weight decay and an L1 term with per-parameter
// multipliers, and 0/1 masks that keep pruned entries exactly zero. The update is PyTorch's
// torch.optim.SGD (dampening 0), per element of a parameter with learning rate lr:
//   g  = grad * mask                                        (mask: when the parameter has one)
//   g += weight_decay * decay_mult * w + l1 * sign(w)       (sign(0) = 0)
//   v  = momentum * v + g                                   (v: Parameter::momentum, from 0)
//   d  = nesterov ? g + momentum * v : v
//   w -= lr * lr_mult * lr_scale[row] * d      (lr_scale: Parameter::lr_scale when defined and
//                                                position_lr_scale is on; row = index along dim 0)
//   w *= mask;  v *= mask
// so a masked entry stays 0 through any number of steps (nothing regrows, not even through
// momentum or decay). Note the velocity is in gradient units (PyTorch), not lr-scaled (Caffe):
// the two agree at constant lr and differ by when an lr change takes effect.
// Parameters whose gradient is undefined (nothing flowed into them) are skipped.
//
// Winograd weights (Parameter::tile_precond Q = G G^T and lr_scale D defined) get a
// preconditioned gradient instead; with X the t x t slice of one (k, c) of grad * mask and
// pen = decay * w + l1 * sign(w):
//   g = spatial_preconditioner * (Q X Q + pen) + [position_lr_scale] D (.) (X + pen)
// and the update above runs with that g (no second penalty) and lr * lr_mult.
// Why: W = G g_s G^T, so SGD on the spatial kernel g_s moves W by exactly
// -lr (Q X Q + decay * W) when W lies in the image of G (x) G: the Q term alone trains the
// Winograd net along the spatial net's trajectory (same function, same accuracy), and the
// diagonal D term (the per-position curvature scale of WinogradConv2dLayer::position_lr_scale)
// lets W leave that r^2-dimensional subspace, which native pruning needs. Masking X before the
// product keeps the step a descent direction on the unpruned entries. D alone trains too, but
// slowly (docs/measurements.md).
// Every update is elementwise, so results do not depend on the thread count.
//
// type "adam" (torch.optim.Adam with coupled L2, plus the L1 term and masks), per element at
// step t = 1, 2, ... of the phase:
//   g  = grad * mask + weight_decay * decay_mult * w + l1 * sign(w)
//   m  = beta1 * m + (1 - beta1) * g              (m: Parameter::momentum)
//   v  = beta2 * v + (1 - beta2) * g^2            (v: Parameter::second_moment)
//   w -= lr * lr_mult * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
//   w *= mask;  m *= mask;  v *= mask
// with lr * lr_mult * sqrt(D_j) = lr * lr_mult / s_j for the coefficients of Winograd position j
// when position_lr_scale is on (D = Parameter::lr_scale; the Q term does not apply). Why: s_j =
// a_p a_q b_p b_q / m is the RMS output change per unit of W_j (prune/position_scale.h), and Adam
// moves every coordinate by about lr per step whatever its gradient scale, so lr / s_j moves each
// output pixel by about lr, as lr does for a spatial weight (measured: docs/measurements.md).
#include <cstdint>
#include <optional>
#include <vector>

#include "winoprune/io/json_reader.h"
#include "winoprune/nn/parameter.h"

namespace wp {

enum class OptimizerType { sgd, adam };

struct OptimizerConfig {
  OptimizerType type = OptimizerType::sgd;
  double lr = 0.01;                       // base learning rate (schedules scale from it)
  double momentum = 0.9;
  bool nesterov = false;
  double weight_decay = 5e-4;
  std::optional<double> bias_lr_mult;     // overrides lr_mult of every "*.bias" (Caffe: 2)
  std::optional<double> bias_decay_mult;  // overrides decay_mult of every "*.bias" (default 0)
  bool position_lr_scale = true;          // apply Parameter::lr_scale (Winograd positions)
  double spatial_preconditioner = 1.0;    // weight of the Q X Q term (Winograd weights);
                                          // prune and finetune phases default to 0 (experiment.cpp)
  double beta1 = 0.9, beta2 = 0.999;      // Adam: "betas" [beta1, beta2]
  double eps = 1e-8;                      // Adam
};

// The "optimizer" object: {"type": "sgd", "lr", "momentum", "nesterov", "weight_decay",
// "bias_lr_mult", "bias_decay_mult", "position_lr_scale", "spatial_preconditioner"} or
// {"type": "adam", "lr", "betas", "eps", "weight_decay", "bias_lr_mult", "bias_decay_mult",
// "position_lr_scale"};
// a key of the other type is an error; errors name the JSON path; calls reader.finish().
OptimizerConfig parse_optimizer_config(JsonReader& reader);
json optimizer_config_to_json(const OptimizerConfig& config);

class Optimizer {
 public:
  // Applies bias_lr_mult / bias_decay_mult to the ".bias" parameters, checks mask and momentum
  // shapes, and masks every parameter that has a mask (value and momentum).
  Optimizer(std::vector<Parameter*> params, OptimizerConfig config);

  // One update of every parameter with learning rate `lr` (the schedule's value now).
  void step(float lr);
  // Steps taken so far (Adam's bias correction uses it); a resumed phase sets it to the
  // iterations already done, since each phase starts with fresh state.
  int64_t step_count() const { return steps_; }
  void set_step_count(int64_t steps) { steps_ = steps; }
  // Releases every parameter's gradient, PyTorch's zero_grad(set_to_none=True): the next
  // backward allocates it afresh (in the same buffer, Node::release_grad), and an op computing
  // its whole contribution in one pass (a GEMM) writes it with no zero fill and no read
  // (Node::grad_target). A parameter no gradient reaches before the next step() is skipped by
  // it: no decay, no momentum (as PyTorch).
  void zero_grad();

  // Frozen masks (fine-tune phases): the caller promises that no mask changes until
  // set_masks_frozen(false) or the optimizer's end. Each step then updates only the kept
  // entries of a parameter whose mask keeps at most 20% (listed once here; denser masks keep
  // the masked loop, which is faster there), by the formulas above at mask 1: the same floats.
  // Its masked entries hold zero weight and state (masked here once more) and would only be
  // rewritten with zeros. AlexNet-227's Winograd weights at 90%: 14 M entries read, masked and
  // written back per step for 1.4 M that change. check_masks_frozen() throws std::logic_error
  // naming the first listed parameter whose mask no longer matches its list.
  void set_masks_frozen(bool frozen);
  bool masks_frozen() const { return frozen_; }
  void check_masks_frozen() const;

  const OptimizerConfig& config() const { return config_; }
  const std::vector<Parameter*>& parameters() const { return params_; }

 private:
  std::vector<Parameter*> params_;
  OptimizerConfig config_;
  std::vector<Tensor> scratch_;   // per parameter: the preconditioned gradient (Winograd weights)
  int64_t steps_ = 0;
  bool frozen_ = false;
  // Frozen: per parameter, its mask's kept indices (none: no mask, or one too dense to list).
  std::vector<std::optional<std::vector<int32_t>>> kept_;
};

// One parameter's update (the formula above) on raw arrays, serial (Optimizer::step runs chunks of
// every parameter in one parallel loop); `mask` and `v` may be null (no mask; momentum 0).
void sgd_update(float* w, float* v, const float* grad, const float* mask, int64_t n, float lr,
                float momentum, bool nesterov, float decay, float l1);
// One parameter's Adam update at step t >= 1 (the formula above); `mask` may be null.
void adam_update(float* w, float* m, float* v, const float* grad, const float* mask, int64_t n,
                 float lr, float beta1, float beta2, float eps, int64_t t, float decay, float l1);

}  // namespace wp
