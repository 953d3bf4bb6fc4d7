// Dispatch of the masked transform-domain products (include/winoprune/winograd/masked_products.h):
// the variant for wp::active_isa(), chosen once. Logs nothing.
#include "ref/masked_products_kernels.h"
#include "winoprune/cpu.h"
#include "winoprune/winograd/masked_products.h"

namespace wp {

namespace {

struct MaskedKernels {
  const char* name;
  decltype(&kernels::masked_rows_product_ref) product;
  decltype(&kernels::masked_rows_dot_ref) dot;
};

const MaskedKernels& masked_kernels() {
  static const MaskedKernels chosen = [] {
    switch (active_isa()) {
      case Isa::avx512:
        return MaskedKernels{"avx512", kernels::masked_rows_product_avx512,
                             kernels::masked_rows_dot_avx512};
      case Isa::avx2:
        return MaskedKernels{"avx2", kernels::masked_rows_product_avx2,
                             kernels::masked_rows_dot_avx2};
      default:
        return MaskedKernels{"ref", kernels::masked_rows_product_ref, kernels::masked_rows_dot_ref};
    }
  }();
  return chosen;
}

}  // namespace

void masked_rows_product(const int64_t* start, const int32_t* src, const int32_t* widx,
                         const float* w, const float* in, int64_t ld_in, int64_t T, float* out,
                         int64_t ld_out, int r_begin, int r_end) {
  masked_kernels().product(start, src, widx, w, in, ld_in, T, out, ld_out, r_begin, r_end);
}

void masked_rows_dot(const int64_t* start, const int32_t* src, const int32_t* widx,
                     const float* dout, int64_t ld_out, const float* in, int64_t ld_in,
                     int64_t T, float* dw, int r_begin, int r_end) {
  masked_kernels().dot(start, src, widx, dout, ld_out, in, ld_in, T, dw, r_begin, r_end);
}

const char* masked_products_kernels_name() { return masked_kernels().name; }

}  // namespace wp
