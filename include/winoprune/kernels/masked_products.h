#pragma once
// Masked transform-domain product kernels: the rows of a sparse pattern (CSR by row: start,
// src, widx) times the rows of a dense operand, and the sampled dot products of the weight
// gradient. winoprune/winograd/masked_products.h builds the patterns and says what the Winograd
// layer uses them for.
//
// Variants (isa_list.h): f32_masked_rows_*__ref is the plain loops of the formulas below
// (src/kernels/ref/); __avx2 and __avx512 are one vectorized body (src/kernels/common/) at 8
// and 16 lanes.
#include <cstdint>

#include "winoprune/cpu.h"
#include "winoprune/kernels/isa_list.h"

namespace wp {

// out[r][0:T] = sum_{e in [start[r], start[r+1])} w[widx[e]] * in[src[e]][0:T] for r in
// [r_begin, r_end); rows of in and out are ld_in / ld_out floats apart.
// widx null: w (and dw below) are indexed by the entry itself, w[e] (dw[e]): the caller has
// gathered the weights into entry order. Measured on AlexNet conv4's data-gradient shape (384 x
// 384, 10% kept, 128 tiles, one thread): the gather through widx reads a new cache line of W for
// nearly every entry (the by-input-row order strides W by C floats) and the product ran at 33
// GFLOP/s; in entry order 49 GFLOP/s. The dots in entry order store kLanes sums as one vector
// (33-35 GFLOP/s against 17-22 through widx on the weight-gradient shape, same driver); the
// layer scatters them into W's layout once per backward.
void masked_rows_product(const int64_t* start, const int32_t* src, const int32_t* widx,
                         const float* w, const float* in, int64_t ld_in, int64_t T, float* out,
                         int64_t ld_out, int r_begin, int r_end);
// dw[widx[e]] += dout[r][0:T] . in[src[e]][0:T] for e in [start[r], start[r+1]), r in
// [r_begin, r_end). Each dot is summed in an order fixed by T alone (no thread dependence).
void masked_rows_dot(const int64_t* start, const int32_t* src, const int32_t* widx,
                     const float* dout, int64_t ld_out, const float* in, int64_t ld_in,
                     int64_t T, float* dw, int r_begin, int r_end);

using MaskedRowsProductFn = void (*)(const int64_t* start, const int32_t* src,
                                     const int32_t* widx, const float* w, const float* in,
                                     int64_t ld_in, int64_t T, float* out, int64_t ld_out,
                                     int r_begin, int r_end);
using MaskedRowsDotFn = void (*)(const int64_t* start, const int32_t* src, const int32_t* widx,
                                 const float* dout, int64_t ld_out, const float* in,
                                 int64_t ld_in, int64_t T, float* dw, int r_begin, int r_end);

struct MaskedProductsVariant {
  const char* name;   // the ISA level
  Isa isa;            // the level the CPU needs to run it
  MaskedRowsProductFn product;
  MaskedRowsDotFn dot;
};

#define WP_DECLARE_MASKED_PRODUCTS(isa)                                                       \
  void WP_KERNEL_NAME(f32_masked_rows_product, isa)(                                         \
      const int64_t* start, const int32_t* src, const int32_t* widx, const float* w,         \
      const float* in, int64_t ld_in, int64_t T, float* out, int64_t ld_out, int r_begin,    \
      int r_end);                                                                            \
  void WP_KERNEL_NAME(f32_masked_rows_dot, isa)(                                             \
      const int64_t* start, const int32_t* src, const int32_t* widx, const float* dout,      \
      int64_t ld_out, const float* in, int64_t ld_in, int64_t T, float* dw, int r_begin,     \
      int r_end);
WP_KERNEL_ISAS(WP_DECLARE_MASKED_PRODUCTS)
#undef WP_DECLARE_MASKED_PRODUCTS

// The variant for wp::active_isa(), chosen once; logs nothing.
const MaskedProductsVariant& masked_products_variant();
// The variant of exactly this level (the tests sweep them); null if none.
const MaskedProductsVariant* masked_products_variant_for(Isa isa);
// masked_products_variant().name.
const char* masked_products_kernels_name();

}  // namespace wp
