// Masked transform-domain products compiled with this directory's ISA flags (see
// src/kernels/CMakeLists.txt); the body is shared source, compiled here with internal linkage.
#include "../ref/masked_products_kernels.h"

namespace wp::kernels {
namespace {
// Lanes per vector of this level: one xmm (SSE2) register.
#define WP_MASKED_LANES 4
#include "../ref/masked_products_body.inc"
#undef WP_MASKED_LANES
}  // namespace

void masked_rows_product_ref(const int64_t* start, const int32_t* src, const int32_t* widx,
                              const float* w, const float* in, int64_t ld_in, int64_t T,
                              float* out, int64_t ld_out, int r_begin, int r_end) {
  masked_rows_product_any(start, src, widx, w, in, ld_in, T, out, ld_out, r_begin, r_end);
}

void masked_rows_dot_ref(const int64_t* start, const int32_t* src, const int32_t* widx,
                          const float* dout, int64_t ld_out, const float* in, int64_t ld_in,
                          int64_t T, float* dw, int r_begin, int r_end) {
  masked_rows_dot_any(start, src, widx, dout, ld_out, in, ld_in, T, dw, r_begin, r_end);
}

}  // namespace wp::kernels
