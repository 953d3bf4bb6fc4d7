#pragma once
// This core's fused multiply-add peak, measured: what the product-phase GFLOP/s of the sparse
// kernel is compared against (bench --suite conv: product_gflops, peak_fraction).
#include "winoprune/cpu.h"
#include "winoprune/kernels/isa_list.h"

namespace wp {

// Single-thread FMA throughput in GFLOP/s (2 flops per lane per FMA) at the vector width of
// the active ISA level (16 lanes avx512, 8 avx2, 1 ref): kFmaChains independent accumulator
// chains, enough to cover a 4-cycle FMA latency on 2 ports; best of several ~1 ms runs. Call
// it on an otherwise idle core; it takes ~20 ms.
double measure_fma_peak_gflops();

constexpr int kFmaChains = 12;

// The timed loop of one level: iters x kFmaChains FMAs of `lanes` floats each; returns a sum
// of the accumulators so nothing is elided.
struct FmaLoopVariant {
  const char* name;   // the ISA level
  Isa isa;            // the level the CPU needs to run it
  int lanes;          // floats per FMA
  float (*loop)(long iters);
};

#define WP_DECLARE_FMA_LOOP(isa) float WP_KERNEL_NAME(f32_fma_loop, isa)(long iters);
WP_KERNEL_ISAS(WP_DECLARE_FMA_LOOP)
#undef WP_DECLARE_FMA_LOOP

// The variant for wp::active_isa(), chosen once; the one of exactly this level (null if none).
const FmaLoopVariant& fma_loop_variant();
const FmaLoopVariant* fma_loop_variant_for(Isa isa);

}  // namespace wp
