#pragma once
// Transform-domain products of a Winograd layer whose mask is frozen (fine-tuning): only the
// unmasked entries of W [t*t][K][C/groups] are multiplied (docs/method.md section 1 has the
// dense phases these replace).
//   forward        M_j[k][:]  = sum over unmasked (k, c) of W_j[k][c] V_j[c][:]
//   data gradient  dV_j[c][:] = sum over unmasked (k, c) of W_j[k][c] dM_j[k][:]  (W_j^T, by column)
//   weight grad.   dW_j[k][c] += dM_j[k][:] . V_j[c][:]  at unmasked (k, c) only: a sampled
//                  dense-dense product; the masked entries of dW are not touched
// At 90% sparsity each does a tenth of the dense GEMM's multiply-adds. The masked weights are
// zero (the mask invariant, nn/parameter.h), so forward and data gradient equal the dense
// path's up to float rounding; the weight gradient equals the dense one at unmasked entries,
// and the optimizer multiplies the rest by the mask anyway.
//
// Rows of V_j / dV_j and M_j / dM_j hold T tiles, contiguous: the [t*t][channels][T] layout of
// winograd_conv2d.cpp. One pattern entry is (src, w): src the row of the operand (V row
// g*Cg + c for the forward, dM row k for the data gradient), w the offset k*Cg + c of the
// weight within its position.
#include <cstdint>
#include <memory>
#include <vector>

#include "winoprune/kernels/masked_products.h"
#include "winoprune/tensor.h"

namespace wp {

struct MaskedProductPattern {
  int positions = 0, K = 0, C = 0, groups = 1;   // W [positions][K][C/groups]
  // By output row (forward, weight gradient): row (j, k) owns entries
  // [by_k_start[j*K + k], by_k_start[j*K + k + 1]), src = V row, in increasing c.
  std::vector<int64_t> by_k_start;
  std::vector<int32_t> by_k_src, by_k_w;
  // By input row (data gradient): row (j, c), c over all C channels, owns entries
  // [by_c_start[j*C + c], by_c_start[j*C + c + 1]), src = dM row k, in increasing k.
  std::vector<int64_t> by_c_start;
  std::vector<int32_t> by_c_src, by_c_w;
  // The mask the pattern was built from, one byte per entry: matches() compares against it.
  std::vector<uint8_t> mask;

  int64_t nnz() const { return int64_t(by_k_src.size()); }
  // True if mask (0/1 floats, W's shape) has exactly this pattern.
  bool matches(const Tensor& mask) const;
};

// The pattern of mask [positions, K, C/groups] (nonzero = kept). InputError on a bad shape or
// groups that do not divide K.
std::shared_ptr<const MaskedProductPattern> build_masked_product_pattern(const Tensor& mask,
                                                                         int groups);

// The kernels that run the products: winoprune/kernels/masked_products.h.

}  // namespace wp
