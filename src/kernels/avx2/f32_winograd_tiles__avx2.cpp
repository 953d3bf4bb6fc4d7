// f32_winograd_{input,output}_tiles[_transposed]__avx2: the tile-range transforms at 8 lanes,
// compiled with this directory's flags (src/kernels/CMakeLists.txt); the body is
// common/f32_winograd_tiles.inc.
#define WP_ISA avx2
#define WP_LANES 8
#include "../common/f32_winograd_tiles.inc"
