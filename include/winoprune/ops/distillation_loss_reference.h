#pragma once
// Plain reference twin of distillation_loss (src/ops/distillation_loss.cpp), Hinton et al.'s
// knowledge distillation. Legend: N rows (batch), M classes, T temperature, a weight in [0, 1].
//   z (student logits) [N, M]   t (teacher logits) [N, M]   labels [N]   loss [1]
//   p   = softmax(z)       pT = softmax(z / T)       qT = softmax(t / T)   (row-wise)
//   loss = (1 - a) / N sum_n -log p[n, label_n]
//        +  a T^2 / N sum_n sum_m qT[n,m] (log qT[n,m] - log pT[n,m])      (KL(qT || pT))
//   dz[n,m] += dloss / N * ((1 - a) (p[n,m] - [m == label_n]) + a T (pT[n,m] - qT[n,m]))
// The T^2 keeps the soft term's gradient on the scale of the hard term's as T grows. The
// teacher is a constant: no gradient flows into t.
#include <cmath>
#include <cstdint>
#include <vector>

namespace wp {

// Row-wise log softmax of z / T in double (stable: exponents <= 0).
template <typename T>
void log_softmax_row_reference(double* out, const T* z, int M, double temperature) {
  double mx = double(z[0]) / temperature;
  for (int m = 1; m < M; ++m) mx = std::max(mx, double(z[m]) / temperature);
  double sum = 0;
  for (int m = 0; m < M; ++m) sum += std::exp(double(z[m]) / temperature - mx);
  const double lse = mx + std::log(sum);
  for (int m = 0; m < M; ++m) out[m] = double(z[m]) / temperature - lse;
}

template <typename T>
T distillation_loss_forward_reference(const T* z, const T* t, const int32_t* labels, int N,
                                      int M, double temperature, double weight) {
  std::vector<double> lp(M), lpT(M), lqT(M);
  double hard = 0, soft = 0;
  for (int n = 0; n < N; ++n) {
    log_softmax_row_reference(lp.data(), z + int64_t(n) * M, M, 1.0);
    log_softmax_row_reference(lpT.data(), z + int64_t(n) * M, M, temperature);
    log_softmax_row_reference(lqT.data(), t + int64_t(n) * M, M, temperature);
    hard += -lp[labels[n]];
    for (int m = 0; m < M; ++m) soft += std::exp(lqT[m]) * (lqT[m] - lpT[m]);
  }
  return T(((1 - weight) * hard + weight * temperature * temperature * soft) / N);
}

template <typename T>
void distillation_loss_backward_reference(T* dz, T dloss, const T* z, const T* t,
                                          const int32_t* labels, int N, int M,
                                          double temperature, double weight) {
  std::vector<double> lp(M), lpT(M), lqT(M);
  const double scale = double(dloss) / N;
  for (int n = 0; n < N; ++n) {
    log_softmax_row_reference(lp.data(), z + int64_t(n) * M, M, 1.0);
    log_softmax_row_reference(lpT.data(), z + int64_t(n) * M, M, temperature);
    log_softmax_row_reference(lqT.data(), t + int64_t(n) * M, M, temperature);
    for (int m = 0; m < M; ++m) {
      const double onehot = m == labels[n] ? 1.0 : 0.0;
      const double g = (1 - weight) * (std::exp(lp[m]) - onehot) +
                       weight * temperature * (std::exp(lpT[m]) - std::exp(lqT[m]));
      dz[int64_t(n) * M + m] += T(scale * g);
    }
  }
}

}  // namespace wp
