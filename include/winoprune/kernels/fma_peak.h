#pragma once
// This core's fused multiply-add peak, measured: what the product-phase GFLOP/s of the sparse
// kernel is compared against (bench --suite conv: product_gflops, peak_fraction).
namespace wp {

// Single-thread FMA throughput in GFLOP/s (2 flops per lane per FMA) at the vector width of
// the active ISA level (16 lanes avx512, 8 avx2, 4 ref): 12 independent accumulator chains,
// enough to cover a 4-cycle FMA latency on 2 ports; best of several ~1 ms runs. Call it on an
// otherwise idle core; it takes ~20 ms.
double measure_fma_peak_gflops();

}  // namespace wp
