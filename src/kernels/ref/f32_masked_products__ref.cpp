// f32_masked_rows_product__ref and f32_masked_rows_dot__ref: the formulas of
// include/winoprune/kernels/masked_products.h as plain loops, one tile at a time (the
// specification the vector levels are tested against, and the fallback).
#include "winoprune/kernels/masked_products.h"

namespace wp {

void f32_masked_rows_product__ref(const int64_t* start, const int32_t* src, const int32_t* widx,
                                  const float* w, const float* in, int64_t ld_in, int64_t T,
                                  float* out, int64_t ld_out, int r_begin, int r_end) {
  for (int r = r_begin; r < r_end; ++r)
    for (int64_t u = 0; u < T; ++u) {
      float s = 0.0f;
      for (int64_t e = start[r]; e < start[r + 1]; ++e)
        s += w[widx ? widx[e] : e] * in[int64_t(src[e]) * ld_in + u];
      out[int64_t(r) * ld_out + u] = s;
    }
}

void f32_masked_rows_dot__ref(const int64_t* start, const int32_t* src, const int32_t* widx,
                              const float* dout, int64_t ld_out, const float* in, int64_t ld_in,
                              int64_t T, float* dw, int r_begin, int r_end) {
  for (int r = r_begin; r < r_end; ++r)
    for (int64_t e = start[r]; e < start[r + 1]; ++e) {
      const float* d = dout + int64_t(r) * ld_out;
      const float* a = in + int64_t(src[e]) * ld_in;
      float s = 0.0f;
      for (int64_t u = 0; u < T; ++u) s += d[u] * a[u];
      dw[widx ? widx[e] : e] += s;
    }
}

}  // namespace wp
