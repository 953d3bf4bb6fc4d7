#pragma once
// Tile-range Winograd transform kernels, shared by the dense layer (src/winograd/) and the
// masked fine-tuning path. Each call handles a range of channels x a range of tiles and is
// single-threaded: callers parallelize (and block for cache) over the ranges. The grid is
// filled by make_tile_grid (winoprune/winograd/tile_transforms.h).
//
// Tiles. The output [Ho, Wo] is covered by tiles_h x tiles_w tiles of m x m outputs
// (tiles_h = ceil(Ho / m)); tile (th, tw) of image n reads the t x t input patch starting at
// row th*m - pad, column tw*m - pad (implicit zeros outside [0,H) x [0,W); neighbours overlap
// by r - 1) and writes outputs rows th*m .. th*m+m-1 (those >= Ho are dropped, same for
// columns). Tiles are numbered across the batch:
//   tile = n * tiles_per_image + th * tiles_w + tw,    tiles = N * tiles_per_image.
// Positions: j = p*t + q for row p, column q of the t x t transformed tile.
//
// Transform-domain buffers are addressed by (position, channel, tile) with caller strides:
//   V[j * ldv_position + (c - c_begin) * ldv_channel + (tile - tile_begin)]
//   M[j * ldm_position + (k - k_begin) * ldm_channel + (tile - tile_begin)]
// e.g. the dense layer's layout [t*t][C][tiles] is ldv_channel = tiles,
// ldv_position = C * tiles; a tile block of T tiles in cache is ldv_channel = T.
// x is [N, C, H, W] and y / dy [N, K, Ho, Wo] (whole tensors, NCHW; channels indexed
// absolutely).
//
// Variants (isa_list.h): f32_winograd_*_tiles__ref is the plain loops of the formulas below
// (src/kernels/ref/); __avx2 and __avx512 are one vectorized body (src/kernels/common/) at 8
// and 16 lanes.
#include <cstdint>

#include "winoprune/cpu.h"
#include "winoprune/kernels/isa_list.h"

namespace wp {

// Plain data (no member functions): it is passed as is to the per-ISA kernels.
struct TileGrid {
  int N = 0, C = 0, H = 0, W = 0;   // input [N, C, H, W]
  int K = 0;                        // output channels (all groups): y [N, K, Ho, Wo]
  int pad = 0, m = 0, r = 0, t = 0; // t = m + r - 1
  int Ho = 0, Wo = 0;               // H + 2 pad - r + 1, W + 2 pad - r + 1
  int tiles_h = 0, tiles_w = 0;     // ceil(Ho / m), ceil(Wo / m)
  int64_t tiles_per_image = 0;      // tiles_h * tiles_w
  int64_t tiles = 0;                // N * tiles_per_image
  const float* BT = nullptr;        // t x t, row-major (winograd_transform(m, r).BTf)
  const float* AT = nullptr;        // m x t, row-major (winograd_transform(m, r).ATf)
};

// V_{c,tile} = B^T d_{c,tile} B for c in [c_begin, c_end), tile in [tile_begin, tile_end).
void input_transform_tiles(const TileGrid& g, const float* x, int c_begin, int c_end,
                           int64_t tile_begin, int64_t tile_end, float* V, int64_t ldv_position,
                           int64_t ldv_channel);

// y[n, k, tile's outputs] = A^T M_{k,tile} A + bias[k] (bias may be null), then max(0, .) if
// relu, for k in [k_begin, k_end); overwrites y; outputs beyond Ho / Wo are dropped.
void output_transform_tiles(const TileGrid& g, const float* M, int64_t ldm_position,
                            int64_t ldm_channel, int k_begin, int k_end, int64_t tile_begin,
                            int64_t tile_end, const float* bias, bool relu, float* y);

// Backward of output_transform_tiles (without bias / relu): dM_{k,tile} = A dY_{k,tile} A^T,
// dY read as zero beyond Ho / Wo. Overwrites dM.
void output_transform_transposed_tiles(const TileGrid& g, const float* dy, int k_begin,
                                       int k_end, int64_t tile_begin, int64_t tile_end, float* dM,
                                       int64_t ldm_position, int64_t ldm_channel);

// Backward of input_transform_tiles: dx[n, c, patch] += B dV_{c,tile} B^T, ADDED over the
// overlapping patches (entries falling in the padding are dropped). The order of the sums is
// fixed by the call's ranges, so the result is deterministic; concurrent calls must touch
// disjoint (image, channel) planes, e.g. split by channel range.
void input_transform_transposed_tiles(const TileGrid& g, const float* dV, int64_t ldv_position,
                                      int64_t ldv_channel, int c_begin, int c_end,
                                      int64_t tile_begin, int64_t tile_end, float* dx);

// The per-level entry points behind the four functions above (same arguments; relu as int).
using WinogradInputTilesFn = void (*)(const TileGrid* g, const float* x, int c_begin, int c_end,
                                      int64_t tile_begin, int64_t tile_end, float* V,
                                      int64_t ldv_position, int64_t ldv_channel);
using WinogradOutputTilesFn = void (*)(const TileGrid* g, const float* M, int64_t ldm_position,
                                       int64_t ldm_channel, int k_begin, int k_end,
                                       int64_t tile_begin, int64_t tile_end, const float* bias,
                                       int relu, float* y);
using WinogradOutputTilesTransposedFn = void (*)(const TileGrid* g, const float* dy, int k_begin,
                                                 int k_end, int64_t tile_begin, int64_t tile_end,
                                                 float* dM, int64_t ldm_position,
                                                 int64_t ldm_channel);
using WinogradInputTilesTransposedFn = void (*)(const TileGrid* g, const float* dV,
                                                int64_t ldv_position, int64_t ldv_channel,
                                                int c_begin, int c_end, int64_t tile_begin,
                                                int64_t tile_end, float* dx);

struct WinogradTilesVariant {
  const char* name;   // the ISA level: "ref", "avx2", "avx512"
  Isa isa;            // the level the CPU needs to run it
  WinogradInputTilesFn input;
  WinogradOutputTilesFn output;
  WinogradOutputTilesTransposedFn output_transposed;
  WinogradInputTilesTransposedFn input_transposed;
};

#define WP_DECLARE_WINOGRAD_TILES(isa)                                                        \
  void WP_KERNEL_NAME(f32_winograd_input_tiles, isa)(                                        \
      const TileGrid* g, const float* x, int c_begin, int c_end, int64_t tile_begin,         \
      int64_t tile_end, float* V, int64_t ldv_position, int64_t ldv_channel);                \
  void WP_KERNEL_NAME(f32_winograd_output_tiles, isa)(                                       \
      const TileGrid* g, const float* M, int64_t ldm_position, int64_t ldm_channel,          \
      int k_begin, int k_end, int64_t tile_begin, int64_t tile_end, const float* bias,       \
      int relu, float* y);                                                                   \
  void WP_KERNEL_NAME(f32_winograd_output_tiles_transposed, isa)(                            \
      const TileGrid* g, const float* dy, int k_begin, int k_end, int64_t tile_begin,        \
      int64_t tile_end, float* dM, int64_t ldm_position, int64_t ldm_channel);               \
  void WP_KERNEL_NAME(f32_winograd_input_tiles_transposed, isa)(                             \
      const TileGrid* g, const float* dV, int64_t ldv_position, int64_t ldv_channel,         \
      int c_begin, int c_end, int64_t tile_begin, int64_t tile_end, float* dx);
WP_KERNEL_ISAS(WP_DECLARE_WINOGRAD_TILES)
#undef WP_DECLARE_WINOGRAD_TILES

// The variant for wp::active_isa(), chosen once; logs nothing.
const WinogradTilesVariant& winograd_tiles_variant();
// The variant of exactly this level (the tests sweep them); null if none.
const WinogradTilesVariant* winograd_tiles_variant_for(Isa isa);
// winograd_tiles_variant().name.
const char* winograd_tile_kernels_name();

}  // namespace wp
