#pragma once
// Plain reference twin of lrn (src/ops/lrn.cpp): Caffe's ACROSS_CHANNELS local response
// normalization (also oneDNN's lrn_across_channels). Accumulation in double.
// Legend: N batch, C channels, H x W spatial; size odd, half = (size - 1) / 2;
// window(c) = channels [max(0, c-half), min(C-1, c+half)].
//   out, inp, dout, dinp: [N, C, H, W]
//   s_c  = k + alpha/size * sum_{c' in window(c)} x_{c'}^2
//   y_c  = x_c * s_c^-beta
//   dx_c += dy_c * s_c^-beta - 2*alpha*beta/size * x_c * sum_{c' in window(c)} dy_c' * x_c' * s_c'^(-beta-1)
// (the window is symmetric, so c is in window(c') exactly when c' is in window(c)).
#include <cmath>
#include <cstdint>
#include <vector>

namespace wp {

template <typename T>
void lrn_forward_reference(T* out, const T* inp, int N, int C, int H, int W, int size,
                           double alpha, double beta, double k) {
  const int half = (size - 1) / 2;
  const int64_t HW = int64_t(H) * W;
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      for (int64_t j = 0; j < HW; ++j) {
        double sum = 0;
        for (int q = c - half; q <= c + half; ++q)
          if (q >= 0 && q < C) {
            const double v = inp[(int64_t(n) * C + q) * HW + j];
            sum += v * v;
          }
        const int64_t at = (int64_t(n) * C + c) * HW + j;
        out[at] = T(double(inp[at]) * std::pow(k + alpha / size * sum, -beta));
      }
}

template <typename T>
void lrn_backward_reference(T* dinp, const T* dout, const T* inp, int N, int C, int H, int W,
                            int size, double alpha, double beta, double k) {
  const int half = (size - 1) / 2;
  const int64_t HW = int64_t(H) * W;
  std::vector<double> scale(C), ratio(C);   // per pixel: s_c and dy_c * x_c * s_c^(-beta-1)
  for (int n = 0; n < N; ++n)
    for (int64_t j = 0; j < HW; ++j) {
      auto at = [&](int c) { return (int64_t(n) * C + c) * HW + j; };
      for (int c = 0; c < C; ++c) {
        double sum = 0;
        for (int q = c - half; q <= c + half; ++q)
          if (q >= 0 && q < C) sum += double(inp[at(q)]) * double(inp[at(q)]);
        scale[c] = k + alpha / size * sum;
        ratio[c] = double(dout[at(c)]) * double(inp[at(c)]) * std::pow(scale[c], -beta - 1);
      }
      for (int c = 0; c < C; ++c) {
        double sum = 0;
        for (int q = c - half; q <= c + half; ++q)
          if (q >= 0 && q < C) sum += ratio[q];
        dinp[at(c)] += T(double(dout[at(c)]) * std::pow(scale[c], -beta) -
                         2.0 * alpha * beta / size * double(inp[at(c)]) * sum);
      }
    }
}

}  // namespace wp
