// f32_lrn_backward__avx2: the LRN backward at 8 lanes, compiled with this directory's flags
// (src/kernels/CMakeLists.txt); the body is common/f32_lrn.inc.
#define WP_ISA avx2
#define WP_LANES 8
#include "../common/f32_lrn.inc"
