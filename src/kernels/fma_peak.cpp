// measure_fma_peak_gflops (include/winoprune/kernels/fma_peak.h): the loop of the active ISA
// level, timed.
#include "winoprune/kernels/fma_peak.h"

#include <algorithm>
#include <chrono>

namespace wp {

double measure_fma_peak_gflops() {
  const FmaLoopVariant& v = fma_loop_variant();
  constexpr long kIters = 100000;   // 1.2M FMAs: ~0.2 ms at 2 per cycle and 3 GHz
  volatile float sink = 0.0f;
  double best = 1e30;
  for (int run = 0; run < 20; ++run) {
    const auto t0 = std::chrono::steady_clock::now();
    sink = sink + v.loop(kIters);
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
  }
  return 2.0 * kFmaChains * v.lanes * double(kIters) / best * 1e-9;
}

}  // namespace wp
