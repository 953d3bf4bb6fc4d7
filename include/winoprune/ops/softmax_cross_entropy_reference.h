#pragma once
// Plain reference twin of softmax_cross_entropy (src/ops/softmax_cross_entropy.cpp).
// Legend: N rows (batch), M classes.
//   loss   [1]      mean over rows of -log p[n, label_n]
//   probs  [N, M]   softmax of each row (saved for backward)
//   logits [N, M]; labels [N] in [0, M)
//   log p[n,m] = z[n,m] - max_n - log sum_m' exp(z[n,m'] - max_n)   (stable: exponents <= 0)
//   dz[n,m] += dloss / N * (p[n,m] - [m == label_n])
#include <cmath>
#include <cstdint>

namespace wp {

template <typename T>
void softmax_cross_entropy_forward_reference(T* loss, T* probs, const T* logits,
                                             const int32_t* labels, int N, int M) {
  double total = 0;
  for (int n = 0; n < N; ++n) {
    const T* z = logits + int64_t(n) * M;
    double mx = z[0];
    for (int m = 1; m < M; ++m) mx = z[m] > mx ? double(z[m]) : mx;
    double sum = 0;
    for (int m = 0; m < M; ++m) sum += std::exp(double(z[m]) - mx);
    for (int m = 0; m < M; ++m) probs[int64_t(n) * M + m] = T(std::exp(double(z[m]) - mx) / sum);
    total += -(double(z[labels[n]]) - mx - std::log(sum));
  }
  *loss = T(total / N);
}

template <typename T>
void softmax_cross_entropy_backward_reference(T* dlogits, T dloss, const T* probs,
                                              const int32_t* labels, int N, int M) {
  const double scale = double(dloss) / N;
  for (int n = 0; n < N; ++n)
    for (int m = 0; m < M; ++m) {
      const double onehot = m == labels[n] ? 1.0 : 0.0;
      dlogits[int64_t(n) * M + m] += T(scale * (double(probs[int64_t(n) * M + m]) - onehot));
    }
}

}  // namespace wp
