#pragma once
// Per-ISA entry points of the tile-range Winograd transforms (contracts in
// include/winoprune/winograd/tile_transforms.h). One set per ISA level, each compiled from
// ref/winograd_tile_kernels_body.inc inside an anonymous namespace with that level's flags;
// winograd_dispatch.cpp picks one set from wp::active_isa().
#include <cstdint>

#include "winoprune/winograd/tile_transforms.h"

namespace wp::kernels {

#define WP_WINOGRAD_TILE_KERNELS(isa)                                                          \
  void winograd_input_tiles_##isa(const TileGrid* g, const float* x, int c_begin, int c_end,  \
                                  int64_t tile_begin, int64_t tile_end, float* V,             \
                                  int64_t ldv_position, int64_t ldv_channel);                 \
  void winograd_output_tiles_##isa(const TileGrid* g, const float* M, int64_t ldm_position,   \
                                   int64_t ldm_channel, int k_begin, int k_end,               \
                                   int64_t tile_begin, int64_t tile_end, const float* bias,   \
                                   int relu, float* y);                                       \
  void winograd_output_transposed_tiles_##isa(const TileGrid* g, const float* dy, int k_begin, \
                                              int k_end, int64_t tile_begin, int64_t tile_end, \
                                              float* dM, int64_t ldm_position,                \
                                              int64_t ldm_channel);                           \
  void winograd_input_transposed_tiles_##isa(const TileGrid* g, const float* dV,              \
                                             int64_t ldv_position, int64_t ldv_channel,       \
                                             int c_begin, int c_end, int64_t tile_begin,      \
                                             int64_t tile_end, float* dx);

WP_WINOGRAD_TILE_KERNELS(ref)
WP_WINOGRAD_TILE_KERNELS(avx2)
WP_WINOGRAD_TILE_KERNELS(avx512)

}  // namespace wp::kernels
