// f32_lrn_backward__avx512: the LRN backward at 16 lanes, compiled with this directory's flags
// (src/kernels/CMakeLists.txt); the body is common/f32_lrn.inc.
#define WP_ISA avx512
#define WP_LANES 16
#include "../common/f32_lrn.inc"
