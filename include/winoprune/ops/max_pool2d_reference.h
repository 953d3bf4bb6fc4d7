#pragma once
// Plain reference twin of max_pool2d (src/ops/max_pool2d.cpp). No padding, floor mode.
// Legend: N batch, C channels, H x W input, Ho = (H - kernel)/stride + 1, Wo likewise.
//   out  [N, C, Ho, Wo]
//   inp  [N, C, H, W]
//   y[n,c,i,j] = max_{r,s < kernel} x[n,c,i*stride+r,j*stride+s]
//   dx[argmax] += dy  where argmax is the FIRST maximum in row-major window order
#include <cstdint>

namespace wp {

template <typename T>
void max_pool2d_forward_reference(T* out, const T* inp, int N, int C, int H, int W, int kernel,
                                  int stride) {
  const int Ho = (H - kernel) / stride + 1, Wo = (W - kernel) / stride + 1;
  for (int64_t p = 0; p < int64_t(N) * C; ++p) {
    const T* x = inp + p * H * W;
    for (int i = 0; i < Ho; ++i)
      for (int j = 0; j < Wo; ++j) {
        T m = x[(i * stride) * W + j * stride];
        for (int r = 0; r < kernel; ++r)
          for (int s = 0; s < kernel; ++s) {
            const T v = x[(i * stride + r) * W + j * stride + s];
            if (v > m) m = v;
          }
        out[(p * Ho + i) * Wo + j] = m;
      }
  }
}

template <typename T>
void max_pool2d_backward_reference(T* dinp, const T* dout, const T* inp, int N, int C, int H,
                                   int W, int kernel, int stride) {
  const int Ho = (H - kernel) / stride + 1, Wo = (W - kernel) / stride + 1;
  for (int64_t p = 0; p < int64_t(N) * C; ++p) {
    const T* x = inp + p * H * W;
    for (int i = 0; i < Ho; ++i)
      for (int j = 0; j < Wo; ++j) {
        int best = (i * stride) * W + j * stride;
        for (int r = 0; r < kernel; ++r)
          for (int s = 0; s < kernel; ++s) {
            const int at = (i * stride + r) * W + j * stride + s;
            if (x[at] > x[best]) best = at;
          }
        dinp[p * H * W + best] += dout[(p * Ho + i) * Wo + j];
      }
  }
}

}  // namespace wp
