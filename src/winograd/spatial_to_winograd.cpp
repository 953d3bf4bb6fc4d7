// Conversion of a spatial kernel to the Winograd domain: W = G g G^T per (k, c), in double
// (docs/method.md section 1). A layer converted this way computes the same function as the
// spatial convolution up to rounding.
//   g [K, Cg, r, r] -> W [t*t, K, Cg]
#include <string>
#include <vector>

#include "winoprune/error.h"
#include "winoprune/winograd/transform.h"
#include "winoprune/winograd/winograd_conv2d.h"

namespace wp {

Tensor spatial_to_winograd(const Tensor& g, int m) {
  if (g.ndim() != 4 || g.dim(2) != g.dim(3))
    throw InputError("spatial_to_winograd: expected a kernel [K, C/groups, r, r], got " +
                     shape_str(g.shape()));
  const int K = int(g.dim(0)), Cg = int(g.dim(1)), r = int(g.dim(2));
  const WinogradTransform& tr = winograd_transform(m, r);
  const int t = tr.t;
  Tensor w = Tensor::empty({int64_t(t) * t, K, Cg});
  const float* gp = g.data();
  float* wp_ = w.data();
#pragma omp parallel for schedule(static)
  for (int k = 0; k < K; ++k) {
    std::vector<double> Gg(size_t(t) * r);
    for (int c = 0; c < Cg; ++c) {
      const float* gk = gp + (int64_t(k) * Cg + c) * r * r;
      for (int i = 0; i < t; ++i)
        for (int b = 0; b < r; ++b) {
          double acc = 0;
          for (int a = 0; a < r; ++a) acc += tr.G[i * r + a] * double(gk[a * r + b]);
          Gg[i * r + b] = acc;
        }
      for (int i = 0; i < t; ++i)
        for (int j = 0; j < t; ++j) {
          double acc = 0;
          for (int b = 0; b < r; ++b) acc += Gg[i * r + b] * tr.G[j * r + b];
          wp_[(int64_t(i * t + j) * K + k) * Cg + c] = float(acc);
        }
    }
  }
  return w;
}

}  // namespace wp
