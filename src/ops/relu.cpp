// relu: y = max(x, 0)
//   x, y [any shape]
//   dx += dy * [x > 0]        (subgradient 0 at x = 0, as PyTorch and Caffe)
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

Var relu(const Var& x) {
  const int64_t n = x->value.numel();
  Tensor y = Tensor::empty(x->value.shape());
  const float* in = x->value.data();
  float* out = y.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
  return make_result(std::move(y), {x}, [n](Node& self) {
    Node& x = *self.inputs[0];
    float* dx = x.grad_buffer().data();
    const float* dy = self.grad.data();
    const float* in = x.value.data();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) dx[i] += in[i] > 0.0f ? dy[i] : 0.0f;
  });
}

}  // namespace wp
