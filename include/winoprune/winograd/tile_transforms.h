#pragma once
// The tile grid of a Winograd layer: geometry and transform matrices for the tile-range
// transform kernels (winoprune/kernels/winograd_tiles.h, where the tiles, the buffer layouts
// and the four transforms are specified).
#include "winoprune/kernels/winograd_tiles.h"

namespace wp {

// Fills a grid with the geometry and winograd_transform(m, r)'s float matrices; throws
// InputError if the tile is unsupported or Ho/Wo < 1.
TileGrid make_tile_grid(int N, int C, int H, int W, int K, int pad, int m, int r);

}  // namespace wp
