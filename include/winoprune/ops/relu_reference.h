#pragma once
// Plain reference twin of relu (src/ops/relu.cpp).
//   out, inp, dout, dinp: [n] (any shape, flat)
//   y = max(x, 0);  dx += dy * [x > 0]   (the subgradient at x = 0 is taken as 0)
#include <cstdint>

namespace wp {

template <typename T>
void relu_forward_reference(T* out, const T* inp, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = inp[i] > T(0) ? inp[i] : T(0);
}

template <typename T>
void relu_backward_reference(T* dinp, const T* dout, const T* inp, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (inp[i] > T(0)) dinp[i] += dout[i];
}

}  // namespace wp
