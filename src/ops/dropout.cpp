// dropout (inverted): in training, y = x * mask with mask_i = [u_i >= p] / (1 - p); identity
// otherwise (and when p == 0).
//   x, y, mask [any shape]
//   dx += dy * mask
// u_i is counter-based (dropout_uniform(key, i): a hash of a per-call key and the element
// index), so the mask does not depend on the thread count, and the op draws exactly one 64-bit
// key from the caller's Rng per call: a resumed run reproduces its masks.
// Reference twin: include/winoprune/ops/dropout_reference.h. Fast path: the same per-element
// formula in an OpenMP loop (AlexNet fc6 at batch 64: 262k elements, well under 1 ms).
#include "winoprune/error.h"
#include "winoprune/ops/dropout_reference.h"
#include "winoprune/ops/ops.h"

namespace wp {

template void dropout_forward_reference<float>(float*, float*, const float*, int64_t, float,
                                               uint64_t);
template void dropout_forward_reference<double>(double*, double*, const double*, int64_t, float,
                                                uint64_t);
template void dropout_backward_reference<float>(float*, const float*, const float*, int64_t);
template void dropout_backward_reference<double>(double*, const double*, const double*, int64_t);

Var dropout(const Var& x, float p, bool training, Rng& rng) {
  if (!(p >= 0.0f && p < 1.0f))
    throw InputError("dropout: probability " + std::to_string(p) + " is not in [0, 1)");
  if (!training || p == 0.0f) return x;
  const uint64_t key = (uint64_t(rng.next_u32()) << 32) | rng.next_u32();
  const int64_t n = x->value.numel();
  const float scale = 1.0f / (1.0f - p);
  Tensor y = Tensor::empty(x->value.shape());
  Tensor mask = Tensor::empty(x->value.shape());
  const float* in = x->value.data();
  float* out = y.data();
  float* m = mask.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    m[i] = dropout_uniform(key, i) >= p ? scale : 0.0f;
    out[i] = in[i] * m[i];
  }
  Var result = make_result(std::move(y), {x}, [mask, n](Node& self) {
    float* __restrict dx = self.inputs[0]->grad_buffer().data();
    const float* __restrict dy = self.grad.data();
    const float* __restrict m = mask.data();
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * m[i];
  });
  result->reads_input_values = false;   // the mask is all backward needs
  return result;
}

}  // namespace wp
