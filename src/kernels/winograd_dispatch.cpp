// Dispatch of the tile-range Winograd transforms (include/winoprune/winograd/tile_transforms.h):
// one set of per-ISA entry points, chosen once from wp::active_isa(). Logs nothing; the name
// of the chosen set is winograd_tile_kernels_name().
#include "winoprune/cpu.h"
#include "winoprune/winograd/tile_transforms.h"
#include "ref/winograd_tile_kernels.h"

namespace wp {

namespace {

struct TileKernels {
  const char* name;
  decltype(&kernels::winograd_input_tiles_ref) input;
  decltype(&kernels::winograd_output_tiles_ref) output;
  decltype(&kernels::winograd_output_transposed_tiles_ref) output_transposed;
  decltype(&kernels::winograd_input_transposed_tiles_ref) input_transposed;
};

const TileKernels& tile_kernels() {
  static const TileKernels chosen = [] {
    switch (active_isa()) {
      case Isa::avx512:
        return TileKernels{"avx512", kernels::winograd_input_tiles_avx512,
                           kernels::winograd_output_tiles_avx512,
                           kernels::winograd_output_transposed_tiles_avx512,
                           kernels::winograd_input_transposed_tiles_avx512};
      case Isa::avx2:
        return TileKernels{"avx2", kernels::winograd_input_tiles_avx2,
                           kernels::winograd_output_tiles_avx2,
                           kernels::winograd_output_transposed_tiles_avx2,
                           kernels::winograd_input_transposed_tiles_avx2};
      default:
        return TileKernels{"ref", kernels::winograd_input_tiles_ref,
                           kernels::winograd_output_tiles_ref,
                           kernels::winograd_output_transposed_tiles_ref,
                           kernels::winograd_input_transposed_tiles_ref};
    }
  }();
  return chosen;
}

}  // namespace

void input_transform_tiles(const TileGrid& g, const float* x, int c_begin, int c_end,
                           int64_t tile_begin, int64_t tile_end, float* V, int64_t ldv_position,
                           int64_t ldv_channel) {
  tile_kernels().input(&g, x, c_begin, c_end, tile_begin, tile_end, V, ldv_position,
                       ldv_channel);
}

void output_transform_tiles(const TileGrid& g, const float* M, int64_t ldm_position,
                            int64_t ldm_channel, int k_begin, int k_end, int64_t tile_begin,
                            int64_t tile_end, const float* bias, bool relu, float* y) {
  tile_kernels().output(&g, M, ldm_position, ldm_channel, k_begin, k_end, tile_begin, tile_end,
                        bias, relu ? 1 : 0, y);
}

void output_transform_transposed_tiles(const TileGrid& g, const float* dy, int k_begin,
                                       int k_end, int64_t tile_begin, int64_t tile_end, float* dM,
                                       int64_t ldm_position, int64_t ldm_channel) {
  tile_kernels().output_transposed(&g, dy, k_begin, k_end, tile_begin, tile_end, dM,
                                   ldm_position, ldm_channel);
}

void input_transform_transposed_tiles(const TileGrid& g, const float* dV, int64_t ldv_position,
                                      int64_t ldv_channel, int c_begin, int c_end,
                                      int64_t tile_begin, int64_t tile_end, float* dx) {
  tile_kernels().input_transposed(&g, dV, ldv_position, ldv_channel, c_begin, c_end, tile_begin,
                                  tile_end, dx);
}

const char* winograd_tile_kernels_name() { return tile_kernels().name; }

}  // namespace wp
