// f32_masked_rows_product__avx2 and f32_masked_rows_dot__avx2: the masked products at 8 lanes,
// compiled with this directory's flags (src/kernels/CMakeLists.txt); the body is
// common/f32_masked_products.inc.
#define WP_ISA avx2
#define WP_LANES 8
#include "../common/f32_masked_products.inc"
