// f32_fma_loop__ref: the FMA peak loop in plain scalar C++ (one float per multiply-add; the
// ref level has no FMA instruction, so each is a multiply and an add).
#include "winoprune/kernels/fma_peak.h"

namespace wp {

float f32_fma_loop__ref(long iters) {
  float acc[kFmaChains];
  for (int i = 0; i < kFmaChains; ++i) acc[i] = 1e-3f * float(i);
  const float a = 0.999f, b = 1e-3f;
  for (long n = 0; n < iters; ++n)
    for (int i = 0; i < kFmaChains; ++i) acc[i] = acc[i] * a + b;
  float s = 0.0f;
  for (int i = 0; i < kFmaChains; ++i) s += acc[i];
  return s;
}

}  // namespace wp
