// distillation_loss: cross-entropy with the labels blended with the KL divergence from a
// teacher's softened distribution (Hinton, Vinyals, Dean 2015).
// Legend: N rows (batch), M classes, T temperature, a weight.
//   z (student logits) [N, M]   t (teacher logits) [N, M], a constant   labels [N]   loss [1]
//   p = softmax(z), pT = softmax(z / T), qT = softmax(t / T)   (saved for backward: [N, M] each)
//   loss = 1/N sum_n [ (1 - a) (-log p[n, label_n]) + a T^2 KL(qT[n] || pT[n]) ]
//   dz[n,m] += dloss / N * ((1 - a) (p[n,m] - [m == label_n]) + a T (pT[n,m] - qT[n,m]))
// Reference twin: include/winoprune/ops/distillation_loss_reference.h. Rows in parallel, row
// losses summed in row order in double: the result does not depend on the thread count.
#include <cmath>
#include <vector>

#include "winoprune/error.h"
#include "winoprune/ops/distillation_loss_reference.h"
#include "winoprune/ops/ops.h"

namespace wp {

template float distillation_loss_forward_reference<float>(const float*, const float*,
                                                          const int32_t*, int, int, double, double);
template double distillation_loss_forward_reference<double>(const double*, const double*,
                                                            const int32_t*, int, int, double,
                                                            double);
template void distillation_loss_backward_reference<float>(float*, float, const float*,
                                                          const float*, const int32_t*, int, int,
                                                          double, double);
template void distillation_loss_backward_reference<double>(double*, double, const double*,
                                                           const double*, const int32_t*, int,
                                                           int, double, double);

namespace {

// softmax of z / T into p (float), returns log sum exp(z / T) in double.
double softmax_row(float* p, const float* z, int M, float inv_t) {
  float mx = z[0] * inv_t;
  for (int m = 1; m < M; ++m) mx = std::max(mx, z[m] * inv_t);
  double sum = 0;
  for (int m = 0; m < M; ++m) {
    p[m] = std::exp(z[m] * inv_t - mx);
    sum += p[m];
  }
  const float inv = float(1.0 / sum);
  for (int m = 0; m < M; ++m) p[m] *= inv;
  return double(mx) + std::log(sum);
}

}  // namespace

Var distillation_loss(const Var& logits, const Tensor& teacher_logits,
                      const std::vector<int32_t>& labels, float temperature, float weight) {
  const Tensor& z = logits->value;
  if (z.ndim() != 2 || z.dim(0) < 1 || z.dim(1) < 1)
    throw InputError("distillation_loss: expected logits [N, classes], got " +
                     shape_str(z.shape()));
  if (teacher_logits.shape() != z.shape())
    throw InputError("distillation_loss: teacher logits " + shape_str(teacher_logits.shape()) +
                     " for student logits " + shape_str(z.shape()));
  if (!(temperature > 0) || !(weight >= 0 && weight <= 1))
    throw InputError("distillation_loss: expected temperature > 0 and weight in [0, 1], got " +
                     std::to_string(temperature) + ", " + std::to_string(weight));
  const int N = int(z.dim(0)), M = int(z.dim(1));
  if (int64_t(labels.size()) != N)
    throw InputError("distillation_loss: " + std::to_string(labels.size()) +
                     " labels for logits " + shape_str(z.shape()));
  for (int n = 0; n < N; ++n)
    if (labels[n] < 0 || labels[n] >= M)
      throw InputError("distillation_loss: label " + std::to_string(labels[n]) + " of row " +
                       std::to_string(n) + " is not in [0, " + std::to_string(M) + ")");
  Tensor p = Tensor::empty(z.shape()), pT = Tensor::empty(z.shape()), qT = Tensor::empty(z.shape());
  std::vector<double> row_loss(N);
  const float inv_t = 1.0f / temperature;
  const double a = weight, T = temperature;
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const int64_t o = int64_t(n) * M;
    const double lse = softmax_row(p.data() + o, z.data() + o, M, 1.0f);
    const double lseT = softmax_row(pT.data() + o, z.data() + o, M, inv_t);
    const double lseQ = softmax_row(qT.data() + o, teacher_logits.data() + o, M, inv_t);
    // KL(qT || pT) = sum_m qT (log qT - log pT), log qT = t/T - lseQ, log pT = z/T - lseT
    double kl = 0;
    for (int m = 0; m < M; ++m) {
      const double q = qT.data()[o + m];
      if (q > 0)
        kl += q * ((double(teacher_logits.data()[o + m]) * inv_t - lseQ) -
                   (double(z.data()[o + m]) * inv_t - lseT));
    }
    const double hard = lse - double(z.data()[o + labels[n]]);
    row_loss[n] = (1 - a) * hard + a * T * T * kl;
  }
  double total = 0;
  for (int n = 0; n < N; ++n) total += row_loss[n];
  Tensor loss = Tensor::full({1}, float(total / N));
  Var result = make_result(std::move(loss), {logits},
                           [p, pT, qT, labels, N, M, weight, temperature](Node& self) {
    float* dz = self.inputs[0]->grad_buffer().data();
    const float scale = self.grad[0] / float(N);
    const float hard_w = 1.0f - weight, soft_w = weight * temperature;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; ++n)
      for (int m = 0; m < M; ++m) {
        const int64_t at = int64_t(n) * M + m;
        const float onehot = m == labels[n] ? 1.0f : 0.0f;
        dz[at] += scale * (hard_w * (p.data()[at] - onehot) + soft_w * (pT.data()[at] - qT.data()[at]));
      }
  });
  result->reads_input_values = false;   // the saved distributions are all backward needs
  return result;
}

}  // namespace wp
