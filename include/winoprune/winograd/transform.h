#pragma once
// Winograd minimal-filtering transforms F(m x m, r x r), t = m + r - 1, built in double by the
// rule of docs/method.md section 1 (points 0, 1, -1, 2, -2, 1/2, -1/2 then infinity). This scaling
// is part of the checkpoint format: W = G g G^T depends on it.
//   1-D:  y = A^T [ (G g) (.) (B^T d) ]           y: m, g: r, d: t
//   2-D:  Y = A^T [ (G g G^T) (.) (B^T d B) ] A   positions j = p*t + q
#include <string>
#include <vector>

namespace wp {

struct WinogradTransform {
  int m = 0, r = 0, t = 0;
  std::vector<double> AT;   // m x t, row-major
  std::vector<double> BT;   // t x t
  std::vector<double> G;    // t x r
  std::vector<float> ATf, BTf, Gf;   // the same in float, for the kernels
  std::string tile_name() const;     // "F(4x4,3x3)"
};

// Cached per (m, r); throws InputError for unsupported sizes (needs t <= 8: 7 finite points).
const WinogradTransform& winograd_transform(int m, int r);

// The 1-D gains of tile row (or column) p of F(m, r), the one place they are computed:
//   a[p] = ||row p of A|| (column p of A^T): how strongly coefficient row p reaches the output
//   b[p] = ||row p of B^T||: how much input row p of a tile gathers
// F(4,3): a = [1, 2, 2, 9.22, 9.22, 1], b = [6.48, 5.83, 5.83, 3.16, 3.16, 6.48]. Position
// j = (p, q) scales the output by a_p a_q and sees inputs scaled by b_p b_q: the optimizer's
// per-position step (WinogradConv2dLayer::position_lr_scale), the pruners' position factors
// (prune/position_scale.h) and the reference's per-position thresholds are built from them.
struct TransformRowGains {
  std::vector<double> a, b;   // [t] each
};
TransformRowGains transform_row_gains(int m, int r);

}  // namespace wp
