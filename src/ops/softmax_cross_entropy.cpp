// softmax_cross_entropy: mean over the batch of -log softmax(z)[label].
// Legend: N rows (batch), M classes.
//   z (logits) [N, M]   labels [N] in [0, M)   loss [1]   p (softmax, saved) [N, M]
//   loss = 1/N sum_n (log sum_m exp(z[n,m] - max_n) - (z[n,label_n] - max_n))
//   dz[n,m] += dloss / N * (p[n,m] - [m == label_n])
// Numerically stable: exponents are <= 0 after subtracting the row maximum, so no overflow for
// any finite logits; the log-sum is taken directly (never log of a rounded-to-zero p).
// Reference twin: include/winoprune/ops/softmax_cross_entropy_reference.h.
// Fast path: rows in parallel (OpenMP), per-row losses summed in row order in double, so the
// result does not depend on the thread count. N*M is small (128 x 10, 64 x 1000): not a cost.
#include <cmath>
#include <vector>

#include "winoprune/error.h"
#include "winoprune/ops/ops.h"
#include "winoprune/ops/softmax_cross_entropy_reference.h"

namespace wp {

template void softmax_cross_entropy_forward_reference<float>(float*, float*, const float*,
                                                             const int32_t*, int, int);
template void softmax_cross_entropy_forward_reference<double>(double*, double*, const double*,
                                                              const int32_t*, int, int);
template void softmax_cross_entropy_backward_reference<float>(float*, float, const float*,
                                                              const int32_t*, int, int);
template void softmax_cross_entropy_backward_reference<double>(double*, double, const double*,
                                                               const int32_t*, int, int);

Var softmax_cross_entropy(const Var& logits, const std::vector<int32_t>& labels) {
  const Tensor& z = logits->value;
  if (z.ndim() != 2 || z.dim(0) < 1 || z.dim(1) < 1)
    throw InputError("softmax_cross_entropy: expected logits [N, classes], got " +
                     shape_str(z.shape()));
  const int N = int(z.dim(0)), M = int(z.dim(1));
  if (int64_t(labels.size()) != N)
    throw InputError("softmax_cross_entropy: " + std::to_string(labels.size()) +
                     " labels for logits " + shape_str(z.shape()));
  for (int n = 0; n < N; ++n)
    if (labels[n] < 0 || labels[n] >= M)
      throw InputError("softmax_cross_entropy: label " + std::to_string(labels[n]) + " of row " +
                       std::to_string(n) + " is not in [0, " + std::to_string(M) + ")");
  Tensor probs = Tensor::empty(z.shape());
  std::vector<double> row_loss(N);
  const float* zp = z.data();
  float* pp = probs.data();
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const float* zr = zp + int64_t(n) * M;
    float* pr = pp + int64_t(n) * M;
    float mx = zr[0];
    for (int m = 1; m < M; ++m) mx = zr[m] > mx ? zr[m] : mx;
    double sum = 0;
    for (int m = 0; m < M; ++m) {
      pr[m] = std::exp(zr[m] - mx);
      sum += pr[m];
    }
    const float inv = float(1.0 / sum);
    for (int m = 0; m < M; ++m) pr[m] *= inv;
    row_loss[n] = std::log(sum) - (double(zr[labels[n]]) - mx);
  }
  double total = 0;
  for (int n = 0; n < N; ++n) total += row_loss[n];
  Tensor loss = Tensor::full({1}, float(total / N));
  Var result = make_result(std::move(loss), {logits}, [probs, labels, N, M](Node& self) {
    float* dz = self.inputs[0]->grad_buffer().data();
    const float* p = probs.data();
    const float scale = self.grad[0] / float(N);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; ++n)
      for (int m = 0; m < M; ++m) {
        const int64_t at = int64_t(n) * M + m;
        dz[at] += scale * (p[at] - (m == labels[n] ? 1.0f : 0.0f));
      }
  });
  result->reads_input_values = false;   // the saved probabilities are all backward needs
  return result;
}

}  // namespace wp
