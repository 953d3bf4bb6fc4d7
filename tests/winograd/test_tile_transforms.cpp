// The tile-range transform kernels (include/winoprune/kernels/winograd_tiles.h) of the ISA
// level this run forces, against the definitions computed here in double, on sub-ranges of
// channels and tiles with caller strides, awkward grids (partial tiles, tiles entirely in the
// padding, H smaller than a tile) and tile ranges not multiples of the 16 lanes.
#include <algorithm>
#include <vector>

#include "support.h"
#include "winoprune/winograd/tile_transforms.h"
#include "winoprune/winograd/transform.h"

using namespace wp;

namespace {

struct GridCase {
  int N, C, H, W, K, pad, m, r;
};

const std::vector<GridCase> kGrids = {
    {2, 5, 13, 13, 3, 1, 4, 3},  {1, 3, 7, 7, 2, 1, 4, 3},   {3, 2, 9, 11, 4, 1, 2, 3},
    {2, 3, 27, 27, 2, 2, 4, 5},  {1, 2, 14, 14, 3, 2, 2, 5}, {2, 2, 3, 5, 2, 1, 4, 3},
    {1, 4, 10, 6, 3, 0, 6, 3},   {2, 3, 5, 4, 2, 2, 4, 5},   {1, 2, 2, 2, 2, 1, 2, 3},
    {3, 2, 13, 13, 3, 1, 4, 3},  {1, 2, 30, 9, 2, 2, 4, 5},
    // Padded planes larger than the row path's stack buffer (the scalar gather / scatter).
    {1, 2, 120, 100, 2, 1, 4, 3},
    // Tiles without a compile-time kernel (the generic runtime-size path).
    {1, 3, 8, 9, 2, 1, 3, 3},    {2, 2, 6, 5, 3, 2, 3, 5},   {1, 2, 5, 5, 2, 0, 2, 2},
};

// The t x t input patch of (c, tile) in double, zeros outside the image.
std::vector<double> patch(const TileGrid& g, const std::vector<float>& x, int c, int64_t tile) {
  const int n = int(tile / g.tiles_per_image), rest = int(tile % g.tiles_per_image);
  const int th = rest / g.tiles_w, tw = rest % g.tiles_w, t = g.t;
  std::vector<double> d(size_t(t) * t, 0.0);
  for (int a = 0; a < t; ++a)
    for (int b = 0; b < t; ++b) {
      int row = th * g.m - g.pad + a, col = tw * g.m - g.pad + b;
      if (row >= 0 && row < g.H && col >= 0 && col < g.W)
        d[a * t + b] = x[((size_t(n) * g.C + c) * g.H + row) * g.W + col];
    }
  return d;
}

// L (P x S) X (S x S) R^T (Q x S) in double.
std::vector<double> sandwich(const std::vector<double>& L, int P, int S, const std::vector<double>& X,
                             int S2, const std::vector<double>& R, int Q) {
  std::vector<double> tmp(size_t(P) * S2, 0.0), out(size_t(P) * Q, 0.0);
  for (int p = 0; p < P; ++p)
    for (int b = 0; b < S2; ++b)
      for (int a = 0; a < S; ++a) tmp[p * S2 + b] += L[p * S + a] * X[a * S2 + b];
  for (int p = 0; p < P; ++p)
    for (int q = 0; q < Q; ++q)
      for (int b = 0; b < S2; ++b) out[p * Q + q] += tmp[p * S2 + b] * R[q * S2 + b];
  return out;
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * double(b[i]);
  return s;
}

// sum |a_i b_i|: the scale of a dot product's rounding error (random data cancels, so the
// dot itself can be ~100x smaller than its terms).
double dot_abs(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += std::fabs(double(a[i]) * double(b[i]));
  return s;
}

}  // namespace

TEST_CASE("input and output tile transforms match their definitions", "[winograd][tiles]") {
  if (!test::isa_available_or_skip()) return;
  INFO("kernels " << winograd_tile_kernels_name());
  uint64_t seed = 1;
  for (const GridCase& gc : kGrids) {
    TileGrid g = make_tile_grid(gc.N, gc.C, gc.H, gc.W, gc.K, gc.pad, gc.m, gc.r);
    const WinogradTransform& tr = winograd_transform(gc.m, gc.r);
    const int t = g.t, tt = t * t, m = g.m;
    INFO("grid N" << gc.N << " C" << gc.C << " " << gc.H << "x" << gc.W << " pad " << gc.pad
                  << " " << tr.tile_name() << " tiles " << g.tiles);
    auto x = test::random_vector<float>(size_t(g.N) * g.C * g.H * g.W, ++seed);

    // A sub-range of channels and tiles, strides with slack (ld > extent).
    const int c0 = g.C > 2 ? 1 : 0, c1 = g.C;
    const int64_t t0 = g.tiles > 3 ? 1 : 0, t1 = g.tiles;
    const int64_t ldc = (t1 - t0) + 3, ldp = (c1 - c0) * ldc + 5;
    std::vector<float> V(size_t(tt) * ldp, -7.0f);
    input_transform_tiles(g, x.data(), c0, c1, t0, t1, V.data(), ldp, ldc);
    double max_err = 0;
    for (int c = c0; c < c1; ++c)
      for (int64_t tile = t0; tile < t1; ++tile) {
        auto ref = sandwich(tr.BT, t, t, patch(g, x, c, tile), t, tr.BT, t);
        for (int j = 0; j < tt; ++j)
          max_err = std::max(max_err, std::fabs(V[j * ldp + (c - c0) * ldc + (tile - t0)] - ref[j]));
      }
    CHECK(max_err < 1e-4);
    CHECK(V[ldc - 1] == -7.0f);  // the slack is untouched

    // Output transform with bias and relu, over k in [1, K).
    const int k0 = g.K > 1 ? 1 : 0, k1 = g.K;
    const int64_t lmc = (t1 - t0) + 1, lmp = (k1 - k0) * lmc + 2;
    auto M = test::random_vector<float>(size_t(tt) * lmp, ++seed);
    auto bias = test::random_vector<float>(size_t(g.K), ++seed);
    for (int relu = 0; relu < 2; ++relu) {
      std::vector<float> y(size_t(g.N) * g.K * g.Ho * g.Wo, 99.0f);
      output_transform_tiles(g, M.data(), lmp, lmc, k0, k1, t0, t1, bias.data(), relu, y.data());
      std::vector<float> want(y.size(), 99.0f);
      for (int k = k0; k < k1; ++k)
        for (int64_t tile = t0; tile < t1; ++tile) {
          std::vector<double> mt(tt);
          for (int j = 0; j < tt; ++j) mt[j] = M[j * lmp + (k - k0) * lmc + (tile - t0)];
          auto Y = sandwich(tr.AT, m, t, mt, t, tr.AT, m);
          const int n = int(tile / g.tiles_per_image), rest = int(tile % g.tiles_per_image);
          const int th = rest / g.tiles_w, tw = rest % g.tiles_w;
          for (int i = 0; i < m; ++i)
            for (int jj = 0; jj < m; ++jj) {
              int row = th * m + i, col = tw * m + jj;
              if (row >= g.Ho || col >= g.Wo) continue;
              double v = Y[i * m + jj] + bias[k];
              want[((size_t(n) * g.K + k) * g.Ho + row) * g.Wo + col] =
                  float(relu && v < 0 ? 0.0 : v);
            }
        }
      double err = 0;
      for (size_t i = 0; i < y.size(); ++i) err = std::max(err, double(std::fabs(y[i] - want[i])));
      CHECK(err < 1e-4);
    }
  }
}

TEST_CASE("transposed tile transforms are the adjoints", "[winograd][tiles]") {
  // <input_transform(x), dV> = <x, input_transposed(dV)> and likewise for the output
  // transform without bias / relu: the identities the backward pass relies on.
  if (!test::isa_available_or_skip()) return;
  uint64_t seed = 100;
  for (const GridCase& gc : kGrids) {
    TileGrid g = make_tile_grid(gc.N, gc.C, gc.H, gc.W, gc.K, gc.pad, gc.m, gc.r);
    const int tt = g.t * g.t;
    const int64_t T = g.tiles;
    INFO("grid N" << gc.N << " C" << gc.C << " " << gc.H << "x" << gc.W << " F(" << gc.m << ","
                  << gc.r << ")");
    auto x = test::random_vector<float>(size_t(g.N) * g.C * g.H * g.W, ++seed);
    auto dV = test::random_vector<float>(size_t(tt) * g.C * T, ++seed);
    std::vector<float> V(dV.size()), dx(x.size(), 0.0f);
    input_transform_tiles(g, x.data(), 0, g.C, 0, T, V.data(), int64_t(g.C) * T, T);
    // Split the scatter in two calls by channel and tile range: the sum must not care.
    const int ch = g.C / 2;
    const int64_t half = T / 2;
    for (auto [cb, ce] : {std::pair<int, int>{0, ch}, {ch, g.C}})
      for (auto [tb, te] : {std::pair<int64_t, int64_t>{0, half}, {half, T}})
        if (cb < ce && tb < te)
          input_transform_transposed_tiles(g, dV.data() + cb * T + tb, int64_t(g.C) * T, T, cb,
                                           ce, tb, te, dx.data());
    double lhs = dot(V, dV), rhs = dot(x, dx);
    CHECK(std::fabs(lhs - rhs) < 1e-6 * dot_abs(V, dV));

    auto M = test::random_vector<float>(size_t(tt) * g.K * T, ++seed);
    auto dy = test::random_vector<float>(size_t(g.N) * g.K * g.Ho * g.Wo, ++seed);
    std::vector<float> y(dy.size()), dM(M.size());
    output_transform_tiles(g, M.data(), int64_t(g.K) * T, T, 0, g.K, 0, T, nullptr, false,
                           y.data());
    output_transform_transposed_tiles(g, dy.data(), 0, g.K, 0, T, dM.data(), int64_t(g.K) * T, T);
    CHECK(std::fabs(dot(y, dy) - dot(M, dM)) < 1e-6 * dot_abs(M, dM));
  }
}

TEST_CASE("tile grid geometry and bad grids", "[winograd][tiles]") {
  TileGrid g = make_tile_grid(2, 3, 13, 13, 4, 1, 4, 3);
  CHECK(g.t == 6);
  CHECK(g.Ho == 13);
  CHECK(g.tiles_h == 4);
  CHECK(g.tiles_per_image == 16);
  CHECK(g.tiles == 32);
  TileGrid g2 = make_tile_grid(1, 96, 27, 27, 256, 2, 4, 5);
  CHECK(g2.t == 8);
  CHECK(g2.tiles_h == 7);
  REQUIRE_THROWS_AS(make_tile_grid(1, 1, 2, 2, 1, 0, 2, 3), InputError);  // output 0x0
  REQUIRE_THROWS_AS(make_tile_grid(1, 1, 8, 8, 1, 1, 7, 3), InputError);  // t = 9
}
