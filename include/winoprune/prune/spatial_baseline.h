#pragma once
// The baseline that shows why pruning must be native (docs/method.md section 1): prune a spatial
// kernel g by magnitude, convert it with W = G g G^T and count what sparsity survives.
//
// A coefficient W_{pq} = G_p g G_q^T is exactly zero (for generic values) only when every g_{ab}
// with G_{pa} != 0 and G_{qb} != 0 is zero. For F(4x4,3x3) only rows 0 and t-1 of G have one
// non-zero, so with iid zeros of density s the expected zero fraction is
//   (4 s + 16 s^3 + 16 s^9) / 36     (corners, edges, interior of the 6x6 tile)
// e.g. 0.045 at s = 0.3, 0.11 at s = 0.5, 0.60 at s = 0.9: always below s. Moderate spatial
// sparsity all but disappears; what survives at high s comes mostly from whole kernels pruned
// away (0.9^9 = 39% of the 3x3 kernels at s = 0.9), not from sparse Winograd kernels.
#include "winoprune/tensor.h"

namespace wp {

struct SpatialBaselineResult {
  double spatial_sparsity = 0;      // exact zeros of the pruned g
  double winograd_sparsity = 0;     // exact zeros of W = G g G^T
  double winograd_near_zero = 0;    // fraction with |W| <= eps * max|W|
};

// g [K, C/g, r, r] (not modified); m the output tile of F(m x m, r x r).
SpatialBaselineResult spatial_pruning_baseline(const Tensor& g, int m, double sparsity,
                                               double eps = 1e-6);

// The structural prediction above for F(m, r) from G's zero pattern, iid zeros of density s.
double spatial_baseline_expected_sparsity(int m, int r, double s);

}  // namespace wp
