// f32_lrn_backward__ref: the LRN backward (include/winoprune/kernels/lrn.h) as plain loops of
// its formula, one pixel at a time, in float: the specification of the vector variants and the
// fallback. It keeps s_c and dy_c x_c s_c^(-beta-1) of the pixel's channels in its own arrays
// (the caller's work is sized for the vector variants' rings).
#include <cmath>
#include <vector>

#include "winoprune/kernels/lrn.h"

namespace wp {

void f32_lrn_backward__ref(const LrnShape* s, const float* x, const float* dy, float* dx,
                           int64_t j_begin, int64_t j_end, float* /*work*/) {
  const int C = s->C, half = (s->size - 1) / 2;
  const int64_t HW = s->HW;
  std::vector<float> scale(C), ratio(C);
  for (int64_t j = j_begin; j < j_end; ++j) {
    for (int c = 0; c < C; ++c) {
      float sum = 0.0f;
      for (int q = c - half; q <= c + half; ++q)
        if (q >= 0 && q < C) sum += x[q * HW + j] * x[q * HW + j];
      scale[c] = s->k + s->alpha / float(s->size) * sum;
      ratio[c] = dy[c * HW + j] * x[c * HW + j] * std::pow(scale[c], -s->beta - 1.0f);
    }
    for (int c = 0; c < C; ++c) {
      float sum = 0.0f;
      for (int q = c - half; q <= c + half; ++q)
        if (q >= 0 && q < C) sum += ratio[q];
      const float g = dy[c * HW + j] * std::pow(scale[c], -s->beta) -
                      2.0f * s->alpha * s->beta / float(s->size) * x[c * HW + j] * sum;
      dx[c * HW + j] = s->accumulate ? dx[c * HW + j] + g : g;
    }
  }
}

}  // namespace wp
