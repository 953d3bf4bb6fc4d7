// measure_fma_peak_gflops (include/winoprune/kernels/fma_peak.h): the loop of the active ISA
// level, timed.
#include <algorithm>
#include <chrono>

#include "winoprune/cpu.h"
#include "winoprune/kernels/fma_peak.h"

namespace wp {

namespace kernels {
float fma_loop_ref(long iters);
float fma_loop_avx2(long iters);
float fma_loop_avx512(long iters);
int fma_lanes_ref();
int fma_lanes_avx2();
int fma_lanes_avx512();
}  // namespace kernels

double measure_fma_peak_gflops() {
  float (*loop)(long) = kernels::fma_loop_ref;
  int lanes = kernels::fma_lanes_ref();
  if (active_isa() == Isa::avx512) {
    loop = kernels::fma_loop_avx512;
    lanes = kernels::fma_lanes_avx512();
  } else if (active_isa() == Isa::avx2) {
    loop = kernels::fma_loop_avx2;
    lanes = kernels::fma_lanes_avx2();
  }
  constexpr long kIters = 100000;   // 1.2M FMAs: ~0.2 ms at 2 per cycle and 3 GHz
  volatile float sink = 0.0f;
  double best = 1e30;
  for (int run = 0; run < 20; ++run) {
    const auto t0 = std::chrono::steady_clock::now();
    sink = sink + loop(kIters);
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
  }
  return 2.0 * 12 * lanes * double(kIters) / best * 1e-9;
}

}  // namespace wp
