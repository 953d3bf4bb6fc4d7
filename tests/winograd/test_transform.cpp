// The transforms: F(4,3) is docs/method.md's matrices exactly; every supported tile computes the
// correlation, in 1-D and 2-D, in double on random data.
#include <vector>

#include "support.h"
#include "winoprune/winograd/transform.h"

using namespace wp;

namespace {

// Every F(m, r) the layer offers (t <= 8).
const std::vector<std::pair<int, int>> kTiles = {{2, 3}, {4, 3}, {6, 3}, {2, 5}, {4, 5},
                                                 {3, 3}, {2, 2}, {1, 3}, {3, 5}, {2, 7}};

// y = A^T [ (G g) (.) (B^T d) ]
std::vector<double> winograd_1d(const WinogradTransform& tr, const double* g, const double* d) {
  const int m = tr.m, r = tr.r, t = tr.t;
  std::vector<double> u(t), v(t), y(m, 0.0);
  for (int i = 0; i < t; ++i) {
    u[i] = 0;
    for (int k = 0; k < r; ++k) u[i] += tr.G[i * r + k] * g[k];
    v[i] = 0;
    for (int l = 0; l < t; ++l) v[i] += tr.BT[i * t + l] * d[l];
  }
  for (int k = 0; k < m; ++k)
    for (int i = 0; i < t; ++i) y[k] += tr.AT[k * t + i] * u[i] * v[i];
  return y;
}

// Y = A^T [ (G g G^T) (.) (B^T d B) ] A, all row-major.
std::vector<double> winograd_2d(const WinogradTransform& tr, const double* g, const double* d) {
  const int m = tr.m, r = tr.r, t = tr.t;
  std::vector<double> Gg(t * r, 0), U(t * t, 0), Bd(t * t, 0), V(t * t, 0), AM(m * t, 0),
      Y(m * m, 0);
  for (int i = 0; i < t; ++i)
    for (int b = 0; b < r; ++b)
      for (int a = 0; a < r; ++a) Gg[i * r + b] += tr.G[i * r + a] * g[a * r + b];
  for (int i = 0; i < t; ++i)
    for (int j = 0; j < t; ++j)
      for (int b = 0; b < r; ++b) U[i * t + j] += Gg[i * r + b] * tr.G[j * r + b];
  for (int i = 0; i < t; ++i)
    for (int b = 0; b < t; ++b)
      for (int a = 0; a < t; ++a) Bd[i * t + b] += tr.BT[i * t + a] * d[a * t + b];
  for (int i = 0; i < t; ++i)
    for (int j = 0; j < t; ++j)
      for (int b = 0; b < t; ++b) V[i * t + j] += Bd[i * t + b] * tr.BT[j * t + b];
  for (int k = 0; k < m; ++k)
    for (int j = 0; j < t; ++j)
      for (int i = 0; i < t; ++i) AM[k * t + j] += tr.AT[k * t + i] * U[i * t + j] * V[i * t + j];
  for (int k = 0; k < m; ++k)
    for (int l = 0; l < m; ++l)
      for (int j = 0; j < t; ++j) Y[k * m + l] += AM[k * t + j] * tr.AT[l * t + j];
  return Y;
}

}  // namespace

TEST_CASE("F(4,3) equals docs/method.md's matrices exactly", "[winograd][transform]") {
  const WinogradTransform& tr = winograd_transform(4, 3);
  REQUIRE(tr.t == 6);
  const double G[6][3] = {{1. / 4, 0, 0},          {-1. / 6, -1. / 6, -1. / 6},
                          {-1. / 6, 1. / 6, -1. / 6}, {1. / 24, 1. / 12, 1. / 6},
                          {1. / 24, -1. / 12, 1. / 6}, {0, 0, 1}};
  const double A[6][4] = {{1, 0, 0, 0},  {1, 1, 1, 1},   {1, -1, 1, -1},
                          {1, 2, 4, 8}, {1, -2, 4, -8}, {0, 0, 0, 1}};
  const double B[6][6] = {{4, 0, 0, 0, 0, 0},     {0, -4, 4, -2, 2, 4},
                          {-5, -4, -4, -1, -1, 0}, {0, 1, -1, 2, -2, -5},
                          {1, 1, 1, 1, 1, 0},      {0, 0, 0, 0, 0, 1}};
  for (int i = 0; i < 6; ++i) {
    for (int k = 0; k < 3; ++k) CHECK(tr.G[i * 3 + k] == G[i][k]);
    for (int k = 0; k < 4; ++k) CHECK(tr.AT[k * 6 + i] == A[i][k]);
    for (int k = 0; k < 6; ++k) CHECK(tr.BT[k * 6 + i] == B[i][k]);  // B^T[k][i] = B[i][k]
  }
  for (int i = 0; i < 36; ++i) CHECK(tr.BTf[i] == float(tr.BT[i]));
  CHECK(tr.tile_name() == "F(4x4,3x3)");
  CHECK(&winograd_transform(4, 3) == &tr);  // cached
}

TEST_CASE("F(2,3) by the rule: Lavin's matrices up to signs", "[winograd][transform]") {
  // Points 0, 1, -1, inf: A^T = [1 1 1 0; 0 1 -1 1], G rows [-1,0,0] [1/2,1/2,1/2]
  // [1/2,-1/2,1/2] [0,0,1], B^T rows [-1,0,1,0] [0,-1,-1,1]... (checked by the identity below).
  const WinogradTransform& tr = winograd_transform(2, 3);
  const double AT[2][4] = {{1, 1, 1, 0}, {0, 1, -1, 1}};
  const double G[4][3] = {{-1, 0, 0}, {.5, .5, .5}, {.5, -.5, .5}, {0, 0, 1}};
  for (int i = 0; i < 4; ++i) {
    for (int k = 0; k < 2; ++k) CHECK(tr.AT[k * 4 + i] == AT[k][i]);
    for (int k = 0; k < 3; ++k) CHECK(tr.G[i * 3 + k] == G[i][k]);
  }
}

TEST_CASE("every tile computes the correlation in 1-D and 2-D", "[winograd][transform]") {
  for (auto [m, r] : kTiles) {
    const WinogradTransform& tr = winograd_transform(m, r);
    const int t = tr.t;
    INFO(tr.tile_name());
    for (int trial = 0; trial < 4; ++trial) {
      auto g = test::random_vector<double>(size_t(r) * r, 100 + trial);
      auto d = test::random_vector<double>(size_t(t) * t, 200 + trial);
      auto y1 = winograd_1d(tr, g.data(), d.data());
      for (int i = 0; i < m; ++i) {
        double ref = 0;
        for (int k = 0; k < r; ++k) ref += g[k] * d[i + k];
        CHECK(y1[i] == Approx(ref).margin(1e-12).epsilon(1e-12));
      }
      auto y2 = winograd_2d(tr, g.data(), d.data());
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < m; ++j) {
          double ref = 0;
          for (int a = 0; a < r; ++a)
            for (int b = 0; b < r; ++b) ref += g[a * r + b] * d[(i + a) * t + (j + b)];
          CHECK(y2[i * m + j] == Approx(ref).margin(1e-11).epsilon(1e-11));
        }
    }
  }
}

TEST_CASE("unsupported tiles are input errors", "[winograd][transform]") {
  REQUIRE_THROWS_AS(winograd_transform(8, 3), InputError);  // t = 10 > 8
  REQUIRE_THROWS_AS(winograd_transform(0, 3), InputError);
  REQUIRE_THROWS_AS(winograd_transform(2, 0), InputError);
}
