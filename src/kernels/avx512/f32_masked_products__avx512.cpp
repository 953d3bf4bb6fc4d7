// f32_masked_rows_product__avx512 and f32_masked_rows_dot__avx512: the masked products at 16 lanes,
// compiled with this directory's flags (src/kernels/CMakeLists.txt); the body is
// common/f32_masked_products.inc.
#define WP_ISA avx512
#define WP_LANES 16
#include "../common/f32_masked_products.inc"
