// f32_fma_loop__avx2: the FMA peak loop at 8 lanes, compiled with this directory's flags
// (src/kernels/CMakeLists.txt); the body is common/f32_fma_loop.inc.
#define WP_ISA avx2
#define WP_LANES 8
#include "../common/f32_fma_loop.inc"
