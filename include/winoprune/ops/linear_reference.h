#pragma once
// Plain reference twin of linear (src/ops/linear.cpp). Accumulation in double.
// Legend: N rows (batch), I input features, O output features.
//   out   [N, O]
//   inp   [N, I]
//   weight[O, I]
//   bias  [O]   (may be null)
//   y[n,o] = b[o] + sum_i x[n,i] w[o,i]
#include <cstdint>

namespace wp {

template <typename T>
void linear_forward_reference(T* out, const T* inp, const T* weight, const T* bias, int N, int I,
                              int O) {
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < O; ++o) {
      double acc = bias ? double(bias[o]) : 0.0;
      for (int i = 0; i < I; ++i)
        acc += double(inp[int64_t(n) * I + i]) * weight[int64_t(o) * I + i];
      out[int64_t(n) * O + o] = T(acc);
    }
}

// Adds into whichever of dinp [N,I], dweight [O,I], dbias [O] is not null:
//   dinp[n,i]    += sum_o dout[n,o] w[o,i]
//   dweight[o,i] += sum_n dout[n,o] x[n,i]
//   dbias[o]     += sum_n dout[n,o]
template <typename T>
void linear_backward_reference(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                               const T* weight, int N, int I, int O) {
  if (dinp)
    for (int n = 0; n < N; ++n)
      for (int i = 0; i < I; ++i) {
        double acc = 0;
        for (int o = 0; o < O; ++o)
          acc += double(dout[int64_t(n) * O + o]) * weight[int64_t(o) * I + i];
        dinp[int64_t(n) * I + i] += T(acc);
      }
  if (dweight)
    for (int o = 0; o < O; ++o)
      for (int i = 0; i < I; ++i) {
        double acc = 0;
        for (int n = 0; n < N; ++n)
          acc += double(dout[int64_t(n) * O + o]) * inp[int64_t(n) * I + i];
        dweight[int64_t(o) * I + i] += T(acc);
      }
  if (dbias)
    for (int o = 0; o < O; ++o) {
      double acc = 0;
      for (int n = 0; n < N; ++n) acc += dout[int64_t(n) * O + o];
      dbias[o] += T(acc);
    }
}

}  // namespace wp
