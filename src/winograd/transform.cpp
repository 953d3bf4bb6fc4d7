// Winograd transforms F(m, r) by docs/method.md section 1's rule, in double.
//   points: p_0..p_{t-2} = the first t-1 of 0, 1, -1, 2, -2, 1/2, -1/2; p_{t-1} = infinity
//   A[i][k] = p_i^k                                   (t x m), A[t-1] = e_{m-1}
//   G[i][k] = p_i^k / prod_{l != i} (p_i - p_l)       (t x r), G[t-1] = e_{r-1}
//   B^T: the unique t x t matrix with  sum_j A[j][i] G[j][k] B^T[j][l] = [l == i + k]
//        for all i < m, k < r, l < t, i.e. A^T [(G g) (.) (B^T d)] = correlation of d with g.
// That system has the Toom-Cook solution (Lavin & Gray 2015, "the Chinese remainder form"):
//   B^T[i] = coefficients (ascending) of prod_{l != i} (x - p_l)    for finite i,
//   B^T[t-1] = coefficients of M(x) = prod_l (x - p_l),
// computed here exactly (all points are dyadic, so every product and sum above is exact in
// double) and then checked against the defining identity in double; the system has rank t, so
// the solution is unique and a check failure means a bug, not a choice.
#include "winoprune/winograd/transform.h"

#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "winoprune/error.h"

namespace wp {

namespace {

constexpr double kPoints[7] = {0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5};

std::unique_ptr<WinogradTransform> build_transform(int m, int r) {
  auto tr = std::make_unique<WinogradTransform>();
  const int t = m + r - 1;
  tr->m = m;
  tr->r = r;
  tr->t = t;
  const int nf = t - 1;  // finite points
  std::vector<double> A(size_t(t) * m, 0.0), G(size_t(t) * r, 0.0), BT(size_t(t) * t, 0.0);

  for (int i = 0; i < nf; ++i) {
    const double p = kPoints[i];
    double denom = 1.0;
    for (int l = 0; l < nf; ++l)
      if (l != i) denom *= p - kPoints[l];
    double pk = 1.0;  // p^k with 0^0 = 1
    for (int k = 0; k < std::max(m, r); ++k) {
      if (k < m) A[size_t(i) * m + k] = pk;
      if (k < r) G[size_t(i) * r + k] = pk / denom;
      pk *= p;
    }
  }
  A[size_t(t - 1) * m + (m - 1)] = 1.0;
  G[size_t(t - 1) * r + (r - 1)] = 1.0;

  // Row i of B^T: ascending coefficients of prod over the finite points except i (i = t-1:
  // over all of them). Multiplying by (x - p) shifts up and subtracts p times.
  for (int i = 0; i < t; ++i) {
    std::vector<double> poly(size_t(t), 0.0);
    poly[0] = 1.0;
    int deg = 0;
    for (int l = 0; l < nf; ++l) {
      if (l == i) continue;
      for (int d = deg + 1; d >= 1; --d) poly[d] = poly[d - 1] - kPoints[l] * poly[d];
      poly[0] = -kPoints[l] * poly[0];
      ++deg;
    }
    for (int l = 0; l < t; ++l) BT[size_t(i) * t + l] = poly[l] + 0.0;  // + 0.0: no -0
  }

  // The defining identity, in double.
  for (int i = 0; i < m; ++i)
    for (int k = 0; k < r; ++k)
      for (int l = 0; l < t; ++l) {
        double s = 0, scale = 0;
        for (int j = 0; j < t; ++j) {
          double term = A[size_t(j) * m + i] * G[size_t(j) * r + k] * BT[size_t(j) * t + l];
          s += term;
          scale += std::fabs(term);
        }
        double want = l == i + k ? 1.0 : 0.0;
        if (std::fabs(s - want) > 1e-12 * (scale + 1.0))
          throw std::logic_error("winograd_transform: F(" + std::to_string(m) + "," +
                                 std::to_string(r) + ") fails the correlation identity");
      }

  tr->AT.assign(size_t(m) * t, 0.0);
  for (int i = 0; i < t; ++i)
    for (int k = 0; k < m; ++k) tr->AT[size_t(k) * t + i] = A[size_t(i) * m + k];
  tr->BT = BT;
  tr->G = G;
  tr->ATf.assign(tr->AT.begin(), tr->AT.end());
  tr->BTf.assign(tr->BT.begin(), tr->BT.end());
  tr->Gf.assign(tr->G.begin(), tr->G.end());
  return tr;
}

}  // namespace

std::string WinogradTransform::tile_name() const {
  return "F(" + std::to_string(m) + "x" + std::to_string(m) + "," + std::to_string(r) + "x" +
         std::to_string(r) + ")";
}

const WinogradTransform& winograd_transform(int m, int r) {
  if (m < 1 || r < 1 || m + r - 1 > 8)
    throw InputError("winograd transform F(" + std::to_string(m) + "," + std::to_string(r) +
                     "): expected m >= 1, r >= 1 and t = m + r - 1 <= 8 (7 finite "
                     "interpolation points), got t = " + std::to_string(m + r - 1));
  static std::mutex mutex;
  static std::map<std::pair<int, int>, std::unique_ptr<WinogradTransform>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[{m, r}];
  if (!slot) slot = build_transform(m, r);
  return *slot;
}

TransformRowGains transform_row_gains(int m, int r) {
  const WinogradTransform& tr = winograd_transform(m, r);
  const int t = tr.t;
  TransformRowGains g;
  g.a.assign(size_t(t), 0.0);
  g.b.assign(size_t(t), 0.0);
  for (int p = 0; p < t; ++p) {
    double a2 = 0, b2 = 0;
    for (int i = 0; i < tr.m; ++i) a2 += tr.AT[size_t(i) * t + p] * tr.AT[size_t(i) * t + p];
    for (int i = 0; i < t; ++i) b2 += tr.BT[size_t(p) * t + i] * tr.BT[size_t(p) * t + i];
    g.a[size_t(p)] = std::sqrt(a2);
    g.b[size_t(p)] = std::sqrt(b2);
  }
  return g;
}

}  // namespace wp
