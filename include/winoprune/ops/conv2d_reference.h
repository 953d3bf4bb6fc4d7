#pragma once
// Plain reference twin of conv2d (src/ops/conv2d.cpp): the specification and the oracle of the
// tests. Direct loops, accumulation in double. Templates on T, instantiated for float and double.
//
// Legend: N batch, C input channels, K output channels, G groups, H x W input, R x S kernel,
// Ho x Wo output; Cg = C/G, Kg = K/G; output channel k belongs to group g = k / Kg and reads
// input channels [g*Cg, (g+1)*Cg).
//   out   [N, K, Ho, Wo]
//   inp   [N, C, H, W]
//   weight[K, Cg, R, S]
//   bias  [K]            (may be null)
//   y[n,k,i,j] = b[k] + sum_{c<Cg, r<R, s<S} w[k,c,r,s] * x[n, g*Cg+c, i*stride-pad+r, j*stride-pad+s]
// (x outside [0,H) x [0,W) is zero).
#include <cstdint>
#include <vector>

namespace wp {

struct Conv2dShape {
  int N = 1, C = 1, H = 1, W = 1;   // input
  int K = 1, R = 1, S = 1;          // output channels, kernel
  int stride = 1, pad = 0, groups = 1;
  int Ho() const { return (H + 2 * pad - R) / stride + 1; }
  int Wo() const { return (W + 2 * pad - S) / stride + 1; }
  int Cg() const { return C / groups; }
  int Kg() const { return K / groups; }
  // 2 * multiply-adds of the forward pass (the same for each of the two backward passes).
  double flops() const { return 2.0 * N * K * Cg() * R * S * double(Ho()) * Wo(); }
};

// out = conv(inp, weight) + bias
template <typename T>
void conv2d_forward_reference(T* out, const T* inp, const T* weight, const T* bias,
                              const Conv2dShape& s) {
  const int Ho = s.Ho(), Wo = s.Wo(), Cg = s.Cg(), Kg = s.Kg();
  for (int n = 0; n < s.N; ++n)
    for (int k = 0; k < s.K; ++k) {
      const int g = k / Kg;
      for (int i = 0; i < Ho; ++i)
        for (int j = 0; j < Wo; ++j) {
          double acc = bias ? double(bias[k]) : 0.0;
          for (int c = 0; c < Cg; ++c)
            for (int r = 0; r < s.R; ++r) {
              const int h = i * s.stride - s.pad + r;
              if (h < 0 || h >= s.H) continue;
              for (int q = 0; q < s.S; ++q) {
                const int w = j * s.stride - s.pad + q;
                if (w < 0 || w >= s.W) continue;
                acc += double(weight[((int64_t(k) * Cg + c) * s.R + r) * s.S + q]) *
                       double(inp[((int64_t(n) * s.C + g * Cg + c) * s.H + h) * s.W + w]);
              }
            }
          out[((int64_t(n) * s.K + k) * Ho + i) * Wo + j] = T(acc);
        }
    }
}

// Adds into whichever of dinp [N,C,H,W], dweight [K,Cg,R,S], dbias [K] is not null:
//   dinp[n, g*Cg+c, h, w] += sum_{k in g, i, j: h = i*stride-pad+r, w = j*stride-pad+s} w[k,c,r,s] dout[n,k,i,j]
//   dweight[k,c,r,s]      += sum_{n,i,j} dout[n,k,i,j] * x[n, g*Cg+c, i*stride-pad+r, j*stride-pad+s]
//   dbias[k]              += sum_{n,i,j} dout[n,k,i,j]
template <typename T>
void conv2d_backward_reference(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                               const T* weight, const Conv2dShape& s) {
  const int Ho = s.Ho(), Wo = s.Wo(), Cg = s.Cg(), Kg = s.Kg();
  const int64_t x_size = int64_t(s.N) * s.C * s.H * s.W;
  const int64_t w_size = int64_t(s.K) * Cg * s.R * s.S;
  std::vector<double> dx(dinp ? x_size : 0, 0.0), dw(dweight ? w_size : 0, 0.0);
  std::vector<double> db(dbias ? s.K : 0, 0.0);
  for (int n = 0; n < s.N; ++n)
    for (int k = 0; k < s.K; ++k) {
      const int g = k / Kg;
      for (int i = 0; i < Ho; ++i)
        for (int j = 0; j < Wo; ++j) {
          const double d = double(dout[((int64_t(n) * s.K + k) * Ho + i) * Wo + j]);
          if (dbias) db[k] += d;
          for (int c = 0; c < Cg; ++c)
            for (int r = 0; r < s.R; ++r) {
              const int h = i * s.stride - s.pad + r;
              if (h < 0 || h >= s.H) continue;
              for (int q = 0; q < s.S; ++q) {
                const int w = j * s.stride - s.pad + q;
                if (w < 0 || w >= s.W) continue;
                const int64_t xi = ((int64_t(n) * s.C + g * Cg + c) * s.H + h) * s.W + w;
                const int64_t wi = ((int64_t(k) * Cg + c) * s.R + r) * s.S + q;
                if (dinp) dx[xi] += double(weight[wi]) * d;
                if (dweight) dw[wi] += double(inp[xi]) * d;
              }
            }
        }
    }
  for (int64_t i = 0; i < int64_t(dx.size()); ++i) dinp[i] += T(dx[i]);
  for (int64_t i = 0; i < int64_t(dw.size()); ++i) dweight[i] += T(dw[i]);
  for (int64_t i = 0; i < int64_t(db.size()); ++i) dbias[i] += T(db[i]);
}

}  // namespace wp
