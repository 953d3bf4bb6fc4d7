// f32_winograd_{input,output}_tiles[_transposed]__avx512: the tile-range transforms at 16 lanes,
// compiled with this directory's flags (src/kernels/CMakeLists.txt); the body is
// common/f32_winograd_tiles.inc.
#define WP_ISA avx512
#define WP_LANES 16
#include "../common/f32_winograd_tiles.inc"
