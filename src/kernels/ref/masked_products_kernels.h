#pragma once
// Per-ISA entry points of the masked transform-domain products (contracts in
// include/winoprune/winograd/masked_products.h), each compiled from ref/masked_products_body.inc
// with its level's flags; masked_products_dispatch.cpp picks one from wp::active_isa().
#include <cstdint>

namespace wp::kernels {

#define WP_MASKED_PRODUCT_KERNELS(isa)                                                          \
  void masked_rows_product_##isa(const int64_t* start, const int32_t* src, const int32_t* widx, \
                                 const float* w, const float* in, int64_t ld_in, int64_t T,    \
                                 float* out, int64_t ld_out, int r_begin, int r_end);          \
  void masked_rows_dot_##isa(const int64_t* start, const int32_t* src, const int32_t* widx,     \
                             const float* dout, int64_t ld_out, const float* in, int64_t ld_in, \
                             int64_t T, float* dw, int r_begin, int r_end);

WP_MASKED_PRODUCT_KERNELS(ref)
WP_MASKED_PRODUCT_KERNELS(avx2)
WP_MASKED_PRODUCT_KERNELS(avx512)

}  // namespace wp::kernels
