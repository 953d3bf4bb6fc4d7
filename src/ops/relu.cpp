// relu: y = max(x, 0)
//   x, y [any shape]
//   dx += dy * [x > 0] = dy * [y > 0]     (subgradient 0 at x = 0, as PyTorch and Caffe)
// The backward reads the output (kept by the closure), not the input: a convolution's output
// feeding ReLU is then read by no closure and backward() frees it early (autograd.h).
// Reference twin: include/winoprune/ops/relu_reference.h.
// Fast path: one OpenMP-parallel pass (static schedule: deterministic, no reductions). Memory
// bound: 2 x 4 bytes per element forward, 12 backward; AlexNet's largest (64x96x55x55, 74 MB)
// takes ~4 ms forward at this machine's ~35 GB/s.
#include "winoprune/ops/ops.h"
#include "winoprune/ops/relu_reference.h"

namespace wp {

template void relu_forward_reference<float>(float*, const float*, int64_t);
template void relu_forward_reference<double>(double*, const double*, int64_t);
template void relu_backward_reference<float>(float*, const float*, const float*, int64_t);
template void relu_backward_reference<double>(double*, const double*, const double*, int64_t);

namespace {

// Loads before the select, so it is a select and not a branch (GCC does not if-convert a
// conditional load) and the loop vectorizes. The branchy scalar loop GCC made of
// `dx += x > 0 ? dy : 0` mispredicted on every other element of random-sign data and cost 11% of
// an alexnet-small training step (perf, 1 thread).
void relu_forward_fast(float* __restrict out, const float* __restrict in, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

// out: relu's output, whose sign pattern is the input's.
void relu_backward_fast(float* __restrict dx, const float* __restrict dy,
                        const float* __restrict out, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float g = dy[i];
    dx[i] += out[i] > 0.0f ? g : 0.0f;
  }
}

}  // namespace

void relu_backward_in_place(float* dy, const float* y, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

Var relu(const Var& x) {
  const int64_t n = x->value.numel();
  Tensor y = Tensor::empty(x->value.shape());
  relu_forward_fast(y.data(), x->value.data(), n);
  Var result = make_result(y, {x}, [y, n](Node& self) {
    relu_backward_fast(self.inputs[0]->grad_buffer().data(), self.grad.data(), y.data(), n);
  });
  result->reads_input_values = false;
  return result;
}

}  // namespace wp
