#pragma once
// A trainable parameter with everything the optimizer, the pruner and the checkpoint need.
// Names are model paths: "conv3.weight", "conv3.bias", "fc6.weight"; checkpoints add suffixes
// ".mask" (U8), ".momentum" and ".second_moment".
#include <string>

#include "winoprune/autograd.h"

namespace wp {

struct Parameter {
  std::string name;
  Var var;                 // leaf with requires_grad: value and accumulated gradient
  float lr_mult = 1.0f;    // Caffe's lr_mult / decay_mult (biases: decay_mult 0 by default)
  float decay_mult = 1.0f;
  bool prunable = false;   // weights of conv, winograd and fc layers
  float l1 = 0.0f;         // L1 penalty strength: the optimizer adds l1 * sign(value) to the
                           // gradient, so it is scaled like the gradient by the lr, lr_mult and
                           // lr_scale (decay_mult does not apply); set by the pruner
  Tensor lr_scale;         // optional [value.dim(0)]: lr multiplier of each slice along dim 0
                           // (Winograd weights: one per position, see WinogradConv2dLayer);
                           // applied when the optimizer's position_lr_scale is on
  Tensor tile_precond;     // optional [t, t] symmetric Q (Winograd weights [t*t, K, C/g]: Q = G G^T):
                           // the optimizer's spatial preconditioner maps each (k, c) t x t slice
                           // X of the gradient to Q X Q (see optim/optimizer.h)
  Tensor momentum;         // optimizer state, same shape as the value; undefined until first
                           // step: SGD's velocity, or Adam's first moment
  Tensor second_moment;    // Adam's second moment (running mean of grad^2); undefined for SGD
  Tensor mask;             // 0/1 floats, same shape; undefined = not pruned. Invariant after
                           // every optimizer step: value == value * mask, momentum == momentum * mask
                           // (and second_moment == second_moment * mask)
  Tensor& value() { return var->value; }
  const Tensor& value() const { return var->value; }
};

// value, momentum and second_moment *= mask (no-op without a mask); call after changing a mask.
// Here, beside the mask's invariant, so that pruning (which sets masks) and the optimizer (which
// keeps them) share it without depending on each other. InputError if a state tensor's shape
// differs from the value's.
void apply_mask(Parameter& p);

}  // namespace wp
