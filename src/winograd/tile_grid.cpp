// The tile grid of a Winograd layer (contract in include/winoprune/winograd/tile_transforms.h;
// the tiles it describes: include/winoprune/kernels/winograd_tiles.h).
#include <string>

#include "winoprune/error.h"
#include "winoprune/winograd/tile_transforms.h"
#include "winoprune/winograd/transform.h"

namespace wp {

TileGrid make_tile_grid(int N, int C, int H, int W, int K, int pad, int m, int r) {
  const WinogradTransform& tr = winograd_transform(m, r);  // throws for unsupported tiles
  TileGrid g;
  g.N = N;
  g.C = C;
  g.H = H;
  g.W = W;
  g.K = K;
  g.pad = pad;
  g.m = m;
  g.r = r;
  g.t = tr.t;
  g.Ho = H + 2 * pad - r + 1;
  g.Wo = W + 2 * pad - r + 1;
  if (N < 0 || C < 1 || K < 1 || pad < 0 || g.Ho < 1 || g.Wo < 1)
    throw InputError("winograd tile grid: expected N >= 0, C, K >= 1, pad >= 0 and an output of "
                     "at least 1x1, got N " + std::to_string(N) + ", C " + std::to_string(C) +
                     ", K " + std::to_string(K) + ", input " + std::to_string(H) + "x" +
                     std::to_string(W) + ", pad " + std::to_string(pad) + ", kernel " +
                     std::to_string(r));
  g.tiles_h = (g.Ho + m - 1) / m;
  g.tiles_w = (g.Wo + m - 1) / m;
  g.tiles_per_image = int64_t(g.tiles_h) * g.tiles_w;
  g.tiles = int64_t(N) * g.tiles_per_image;
  g.BT = tr.BTf.data();
  g.AT = tr.ATf.data();
  return g;
}

}  // namespace wp
