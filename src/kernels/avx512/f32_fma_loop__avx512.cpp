// f32_fma_loop__avx512: the FMA peak loop at 16 lanes, compiled with this directory's flags
// (src/kernels/CMakeLists.txt); the body is common/f32_fma_loop.inc.
#define WP_ISA avx512
#define WP_LANES 16
#include "../common/f32_fma_loop.inc"
