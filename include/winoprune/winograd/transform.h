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

}  // namespace wp
