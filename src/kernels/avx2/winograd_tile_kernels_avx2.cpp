// Tile-range Winograd transforms compiled with this directory's ISA flags (see
// src/kernels/CMakeLists.txt); the body is shared source, compiled here with internal linkage.
#include "../ref/winograd_tile_kernels.h"

namespace wp::kernels {
namespace {
// Lanes per vector of this level: one ymm register.
#define WP_WINOGRAD_LANES 8
#include "../ref/winograd_tile_kernels_body.inc"
#undef WP_WINOGRAD_LANES
}  // namespace

void winograd_input_tiles_avx2(const TileGrid* g, const float* x, int c_begin, int c_end,
                              int64_t tile_begin, int64_t tile_end, float* V,
                              int64_t ldv_position, int64_t ldv_channel) {
  input_tiles_any(*g, x, c_begin, c_end, tile_begin, tile_end, V, ldv_position, ldv_channel);
}

void winograd_output_tiles_avx2(const TileGrid* g, const float* M, int64_t ldm_position,
                               int64_t ldm_channel, int k_begin, int k_end, int64_t tile_begin,
                               int64_t tile_end, const float* bias, int relu, float* y) {
  output_tiles_any(*g, M, ldm_position, ldm_channel, k_begin, k_end, tile_begin, tile_end, bias,
               relu, y);
}

void winograd_output_transposed_tiles_avx2(const TileGrid* g, const float* dy, int k_begin,
                                          int k_end, int64_t tile_begin, int64_t tile_end,
                                          float* dM, int64_t ldm_position,
                                          int64_t ldm_channel) {
  output_transposed_tiles_any(*g, dy, k_begin, k_end, tile_begin, tile_end, dM, ldm_position,
                          ldm_channel);
}

void winograd_input_transposed_tiles_avx2(const TileGrid* g, const float* dV,
                                         int64_t ldv_position, int64_t ldv_channel, int c_begin,
                                         int c_end, int64_t tile_begin, int64_t tile_end,
                                         float* dx) {
  input_transposed_tiles_any(*g, dV, ldv_position, ldv_channel, c_begin, c_end, tile_begin,
                         tile_end, dx);
}

}  // namespace wp::kernels
