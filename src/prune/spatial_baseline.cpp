// Spatial pruning then conversion: how much sparsity survives W = G g G^T
// (include/winoprune/prune/spatial_baseline.h).
#include "winoprune/prune/spatial_baseline.h"

#include <algorithm>
#include <cmath>

#include "winoprune/error.h"
#include "winoprune/prune/magnitude.h"
#include "winoprune/winograd/transform.h"
#include "winoprune/winograd/winograd_conv2d.h"

namespace wp {

SpatialBaselineResult spatial_pruning_baseline(const Tensor& g, int m, double sparsity,
                                               double eps) {
  if (g.ndim() != 4 || g.dim(2) != g.dim(3))
    throw InputError("spatial_pruning_baseline: expected g [K, C/g, r, r], got " +
                     shape_str(g.shape()));
  Parameter p;
  p.name = "baseline.weight";
  p.var = leaf(g.clone(), false);
  magnitude_prune({&p}, {sparsity});
  SpatialBaselineResult out;
  const int64_t n = g.numel();
  out.spatial_sparsity = double(count_zeros(p.value().data(), n)) / double(n);

  Tensor w = spatial_to_winograd(p.value(), m);
  const int64_t nw = w.numel();
  float wmax = 0;
  for (int64_t i = 0; i < nw; ++i) wmax = std::max(wmax, std::fabs(w[i]));
  int64_t near = 0;
  for (int64_t i = 0; i < nw; ++i) near += std::fabs(w[i]) <= eps * wmax;
  out.winograd_sparsity = double(count_zeros(w.data(), nw)) / double(nw);
  out.winograd_near_zero = double(near) / double(nw);
  return out;
}

double spatial_baseline_expected_sparsity(int m, int r, double s) {
  const WinogradTransform& tr = winograd_transform(m, r);
  std::vector<int> support(tr.t, 0);   // non-zeros of each row of G
  for (int p = 0; p < tr.t; ++p)
    for (int a = 0; a < r; ++a) support[p] += tr.G[p * r + a] != 0.0;
  double sum = 0;
  for (int p = 0; p < tr.t; ++p)
    for (int q = 0; q < tr.t; ++q) sum += std::pow(s, support[p] * support[q]);
  return sum / double(tr.t * tr.t);
}

}  // namespace wp
