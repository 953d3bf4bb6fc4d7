#pragma once
// Plain reference twin of dropout (src/ops/dropout.cpp): inverted dropout with a counter-based
// mask, so the mask depends only on (key, element index), never on thread timing.
//   out, mask, inp, dout, dinp: [n] (any shape, flat)
//   u_i    = top 24 bits of mix(key, i) / 2^24         in [0, 1)
//   mask_i = u_i >= p ? 1/(1-p) : 0
//   y_i    = x_i * mask_i;   dx_i += dy_i * mask_i
// The op draws one 64-bit key from its Rng per call (two next_u32()), src/ops/dropout.cpp.
#include <cstdint>

#include "winoprune/rng.h"

namespace wp {

inline float dropout_uniform(uint64_t key, int64_t i) {
  return float(mix(key, uint64_t(i)) >> 40) * (1.0f / 16777216.0f);
}

template <typename T>
void dropout_forward_reference(T* out, T* mask, const T* inp, int64_t n, float p, uint64_t key) {
  const T scale = T(1) / (T(1) - T(p));
  for (int64_t i = 0; i < n; ++i) {
    mask[i] = dropout_uniform(key, i) >= p ? scale : T(0);
    out[i] = inp[i] * mask[i];
  }
}

template <typename T>
void dropout_backward_reference(T* dinp, const T* dout, const T* mask, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dinp[i] += dout[i] * mask[i];
}

}  // namespace wp
