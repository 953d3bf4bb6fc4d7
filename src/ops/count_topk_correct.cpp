// count_topk_correct: rows whose label is among the k largest logits. Not differentiable.
//   logits [N, M], labels [N] in [0, M), 1 <= k
//   correct_n = #{m != label_n : z[n,m] >= z[n,label_n]} < k
// Ties are counted pessimistically: every other class with an equal logit ranks ahead of the
// label (a constant output is never "correct" unless k >= M). A NaN label logit is wrong.
#include "winoprune/error.h"
#include "winoprune/ops/ops.h"

#include <cmath>

namespace wp {

int64_t count_topk_correct(const Tensor& logits, const std::vector<int32_t>& labels, int k) {
  if (logits.ndim() != 2)
    throw InputError("count_topk_correct: expected logits [N, classes], got " +
                     shape_str(logits.shape()));
  const int64_t N = logits.dim(0), M = logits.dim(1);
  if (int64_t(labels.size()) != N)
    throw InputError("count_topk_correct: " + std::to_string(labels.size()) +
                     " labels for logits " + shape_str(logits.shape()));
  if (k < 1) throw InputError("count_topk_correct: k = " + std::to_string(k) + ", expected >= 1");
  int64_t correct = 0;
  for (int64_t n = 0; n < N; ++n) {
    const int32_t label = labels[n];
    if (label < 0 || label >= M)
      throw InputError("count_topk_correct: label " + std::to_string(label) + " of row " +
                       std::to_string(n) + " is not in [0, " + std::to_string(M) + ")");
    const float* z = logits.data() + n * M;
    const float mine = z[label];
    if (std::isnan(mine)) continue;
    int64_t ahead = 0;
    for (int64_t m = 0; m < M; ++m)
      if (m != label && !(z[m] < mine)) ++ahead;   // >= , and NaN ranks ahead
    if (ahead < k) ++correct;
  }
  return correct;
}

}  // namespace wp
