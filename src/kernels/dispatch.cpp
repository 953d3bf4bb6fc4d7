// Dispatch of every kernel family: one table per family, generated from the ISA list
// (winoprune/kernels/isa_list.h), and the choice of the best row the CPU (or WINOPRUNE_ISA)
// allows, made once per family. No ISA flags here; logs nothing.
#include <cstddef>

#include "winoprune/kernels/fma_peak.h"
#include "winoprune/kernels/lrn.h"
#include "winoprune/kernels/masked_products.h"
#include "winoprune/kernels/sparse_winograd.h"
#include "winoprune/kernels/winograd_tiles.h"

namespace wp {

namespace {

template <class Variant, size_t N>
const Variant* variant_of_level(const Variant (&table)[N], Isa isa) {
  for (const Variant& v : table)
    if (v.isa == isa) return &v;
  return nullptr;
}

// The highest row at or below the active level (rows are listed lowest first).
template <class Variant, size_t N>
const Variant& best_variant(const Variant (&table)[N]) {
  const Variant* best = &table[0];
  for (const Variant& v : table)
    if (static_cast<int>(v.isa) <= static_cast<int>(active_isa())) best = &v;
  return *best;
}

#define WP_WINOGRAD_TILES_ROW(isa)                                                      \
  {#isa, Isa::isa, WP_KERNEL_NAME(f32_winograd_input_tiles, isa),                      \
   WP_KERNEL_NAME(f32_winograd_output_tiles, isa),                                     \
   WP_KERNEL_NAME(f32_winograd_output_tiles_transposed, isa),                          \
   WP_KERNEL_NAME(f32_winograd_input_tiles_transposed, isa)},
const WinogradTilesVariant kWinogradTiles[] = {WP_KERNEL_ISAS(WP_WINOGRAD_TILES_ROW)};

#define WP_MASKED_PRODUCTS_ROW(isa)                                                     \
  {#isa, Isa::isa, WP_KERNEL_NAME(f32_masked_rows_product, isa),                       \
   WP_KERNEL_NAME(f32_masked_rows_dot, isa)},
const MaskedProductsVariant kMaskedProducts[] = {WP_KERNEL_ISAS(WP_MASKED_PRODUCTS_ROW)};

#define WP_SPARSE_WINOGRAD_ROW(isa)                                                     \
  {#isa, Isa::isa, WP_KERNEL_NAME(f32_sparse_winograd, isa),                           \
   WP_KERNEL_NAME(f32_sparse_winograd_workspace, isa)},
const SparseWinogradVariant kSparseWinograd[] = {WP_KERNEL_ISAS(WP_SPARSE_WINOGRAD_ROW)};

// Lanes per FMA of each level's loop: the ref loop is scalar.
constexpr int fma_lanes(Isa isa) { return isa == Isa::avx512 ? 16 : isa == Isa::avx2 ? 8 : 1; }
#define WP_FMA_LOOP_ROW(isa) {#isa, Isa::isa, fma_lanes(Isa::isa), WP_KERNEL_NAME(f32_fma_loop, isa)},
const FmaLoopVariant kFmaLoop[] = {WP_KERNEL_ISAS(WP_FMA_LOOP_ROW)};

#define WP_LRN_ROW(isa) {#isa, Isa::isa, WP_KERNEL_NAME(f32_lrn_backward, isa)},
const LrnVariant kLrn[] = {WP_KERNEL_ISAS(WP_LRN_ROW)};

}  // namespace

const WinogradTilesVariant& winograd_tiles_variant() {
  static const WinogradTilesVariant& chosen = best_variant(kWinogradTiles);
  return chosen;
}
const WinogradTilesVariant* winograd_tiles_variant_for(Isa isa) {
  return variant_of_level(kWinogradTiles, isa);
}
const char* winograd_tile_kernels_name() { return winograd_tiles_variant().name; }

const MaskedProductsVariant& masked_products_variant() {
  static const MaskedProductsVariant& chosen = best_variant(kMaskedProducts);
  return chosen;
}
const MaskedProductsVariant* masked_products_variant_for(Isa isa) {
  return variant_of_level(kMaskedProducts, isa);
}
const char* masked_products_kernels_name() { return masked_products_variant().name; }

const SparseWinogradVariant& sparse_winograd_variant() {
  static const SparseWinogradVariant& chosen = best_variant(kSparseWinograd);
  return chosen;
}
const SparseWinogradVariant* sparse_winograd_variant_for(Isa isa) {
  return variant_of_level(kSparseWinograd, isa);
}

const FmaLoopVariant& fma_loop_variant() {
  static const FmaLoopVariant& chosen = best_variant(kFmaLoop);
  return chosen;
}
const FmaLoopVariant* fma_loop_variant_for(Isa isa) { return variant_of_level(kFmaLoop, isa); }

const LrnVariant& lrn_variant() {
  static const LrnVariant& chosen = best_variant(kLrn);
  return chosen;
}
const LrnVariant* lrn_variant_for(Isa isa) { return variant_of_level(kLrn, isa); }

// The calls through the active variant (contracts in winograd_tiles.h, masked_products.h and
// lrn.h).

void input_transform_tiles(const TileGrid& g, const float* x, int c_begin, int c_end,
                           int64_t tile_begin, int64_t tile_end, float* V, int64_t ldv_position,
                           int64_t ldv_channel) {
  winograd_tiles_variant().input(&g, x, c_begin, c_end, tile_begin, tile_end, V, ldv_position,
                                 ldv_channel);
}

void output_transform_tiles(const TileGrid& g, const float* M, int64_t ldm_position,
                            int64_t ldm_channel, int k_begin, int k_end, int64_t tile_begin,
                            int64_t tile_end, const float* bias, bool relu, float* y) {
  winograd_tiles_variant().output(&g, M, ldm_position, ldm_channel, k_begin, k_end, tile_begin,
                                  tile_end, bias, relu ? 1 : 0, y);
}

void output_transform_transposed_tiles(const TileGrid& g, const float* dy, int k_begin,
                                       int k_end, int64_t tile_begin, int64_t tile_end, float* dM,
                                       int64_t ldm_position, int64_t ldm_channel) {
  winograd_tiles_variant().output_transposed(&g, dy, k_begin, k_end, tile_begin, tile_end, dM,
                                             ldm_position, ldm_channel);
}

void input_transform_transposed_tiles(const TileGrid& g, const float* dV, int64_t ldv_position,
                                      int64_t ldv_channel, int c_begin, int c_end,
                                      int64_t tile_begin, int64_t tile_end, float* dx) {
  winograd_tiles_variant().input_transposed(&g, dV, ldv_position, ldv_channel, c_begin, c_end,
                                            tile_begin, tile_end, dx);
}

void masked_rows_product(const int64_t* start, const int32_t* src, const int32_t* widx,
                         const float* w, const float* in, int64_t ld_in, int64_t T, float* out,
                         int64_t ld_out, int r_begin, int r_end) {
  masked_products_variant().product(start, src, widx, w, in, ld_in, T, out, ld_out, r_begin,
                                    r_end);
}

void masked_rows_dot(const int64_t* start, const int32_t* src, const int32_t* widx,
                     const float* dout, int64_t ld_out, const float* in, int64_t ld_in,
                     int64_t T, float* dw, int r_begin, int r_end) {
  masked_products_variant().dot(start, src, widx, dout, ld_out, in, ld_in, T, dw, r_begin,
                                r_end);
}

void lrn_backward_pixels(const LrnShape& s, const float* x, const float* dy, float* dx,
                         int64_t j_begin, int64_t j_end, float* work) {
  lrn_variant().backward(&s, x, dy, dx, j_begin, j_end, work);
}

}  // namespace wp
