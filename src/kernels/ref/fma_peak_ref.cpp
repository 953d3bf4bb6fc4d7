// The FMA peak loop compiled with this directory's ISA flags (src/kernels/CMakeLists.txt).
namespace wp::kernels {
namespace {
#define WP_FMA_LANES 4
#include "../ref/fma_peak_body.inc"
#undef WP_FMA_LANES
}  // namespace

// iters x 12 FMAs of 4 lanes; the returned sum keeps the loop from being elided.
float fma_loop_ref(long iters) { return fma_loop_any(iters); }
int fma_lanes_ref() { return 4; }

}  // namespace wp::kernels
