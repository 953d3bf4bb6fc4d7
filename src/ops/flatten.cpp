// flatten: [N, d1, d2, ...] -> [N, d1*d2*...], a view of the same storage (no copy).
//   dx += dy viewed as x's shape
// No kernel, so no reference twin: the backward is one element-wise add.
#include "winoprune/error.h"
#include "winoprune/ops/ops.h"

namespace wp {

Var flatten(const Var& x) {
  if (x->value.ndim() < 1)
    throw InputError("flatten: expected a tensor with a batch dimension, got shape " +
                     shape_str(x->value.shape()));
  const int64_t n = x->value.dim(0);
  Tensor y = x->value.reshape({n, n ? x->value.numel() / n : 0});
  Var result = make_result(std::move(y), {x}, [](Node& self) {
    float* __restrict dx = self.inputs[0]->grad_buffer().data();
    const float* __restrict dy = self.grad.data();
    const int64_t count = self.grad.numel();
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < count; ++i) dx[i] += dy[i];
  });
  result->reads_input_values = false;
  return result;
}

}  // namespace wp
