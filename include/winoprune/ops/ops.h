#pragma once
// The differentiable ops of the engine, on Vars. Each is one file in src/ops/ holding forward
// and backward; its plain reference twin is include/winoprune/ops/<op>_reference.h (templates on
// T, instantiated for float and double). Shapes use N batch, C/K in/out channels, H/W spatial.
#include <cstdint>
#include <vector>

#include "winoprune/autograd.h"
#include "winoprune/rng.h"

namespace wp {

struct Conv2dParams {
  int stride = 1;
  int pad = 0;      // symmetric zero padding
  int groups = 1;
};
// x [N, C, H, W], w [K, C/groups, R, S], b [K] (null: no bias)
// -> y [N, K, (H + 2 pad - R) / stride + 1, (W + 2 pad - S) / stride + 1]
Var conv2d(const Var& x, const Var& w, const Var& b, const Conv2dParams& p);
// max(0, conv2d(x, w, b)) for inference: oneDNN applies the ReLU as a post-op while it writes y
// (one pass over the output instead of two). No backward: throws std::logic_error if grad mode
// is on and an input requires a gradient.
Var conv2d_relu_inference(const Var& x, const Var& w, const Var& b, const Conv2dParams& p);

// x [N, in], w [out, in], b [out] (null: none) -> y [N, out] = x w^T + b
Var linear(const Var& x, const Var& w, const Var& b);

Var relu(const Var& x);
// dy = 0 where y = max(0, .) is 0, in place: the backward of a ReLU fused into the op before
// it (the Winograd layers, conv2d_relu_lrn_pool), through the ReLU's output y; any layout, as
// long as dy and y share it.
void relu_backward_in_place(float* dy, const float* y, int64_t n);

// Max pooling, no padding, floor mode: Ho = (H - kernel) / stride + 1.
// AlexNet: kernel 3 stride 2; alexnet-small: kernel 2 stride 2 (7 -> 3).
Var max_pool2d(const Var& x, int kernel, int stride);

// Local response normalization across channels (Caffe ACROSS_CHANNELS):
//   y = x / (k + alpha/size * sum_{c' in window(size) around c} x_{c'}^2)^beta
Var lrn(const Var& x, int size = 5, float alpha = 1e-4f, float beta = 0.75f, float k = 1.0f);

// The parameters of lrn() below, for the ops that take them as one argument.
struct LrnParams {
  int size = 5;
  float alpha = 1e-4f, beta = 0.75f, k = 1.0f;
};

// max_pool2d(lrn(max(0, conv2d(x, w, b)))) as one op (AlexNet's conv1 block; lrn null: no LRN,
// alexnet-small's), forward and backward: the activations between the primitives stay in the
// layout oneDNN's convolution writes, converted to and from NCHW once, at the pooled output.
Var conv2d_relu_lrn_pool(const Var& x, const Var& w, const Var& b, const Conv2dParams& p,
                         const LrnParams* lrn, int pool_kernel, int pool_stride);

// Inverted dropout: in training, zeroes with probability p and scales survivors by 1/(1-p);
// identity when !training or p == 0.
Var dropout(const Var& x, float p, bool training, Rng& rng);

// [N, ...] -> [N, prod(...)]
Var flatten(const Var& x);

// Mean over the batch of -log softmax(logits)[label]. logits [N, classes]; labels in [0, classes).
Var softmax_cross_entropy(const Var& logits, const std::vector<int32_t>& labels);

// Knowledge distillation: (1 - weight) * softmax_cross_entropy(logits, labels) + weight * T^2 *
// mean over rows of KL(softmax(teacher / T) || softmax(logits / T)), T = temperature > 0,
// weight in [0, 1]. teacher_logits [N, classes] is a constant (no gradient).
Var distillation_loss(const Var& logits, const Tensor& teacher_logits,
                      const std::vector<int32_t>& labels, float temperature, float weight);

// Number of rows whose label is among the k largest logits (ties counted pessimistically).
int64_t count_topk_correct(const Tensor& logits, const std::vector<int32_t>& labels, int k);

}  // namespace wp
