// The 1-D transform microkernels every kernel body shares (src/kernels/common/winograd_1d.inc),
// compiled here on a scalar double "vector", against the F64 matrices that the transform rule
// builds (winograd_transform): the structured F(4x4,3x3), F(4x4,5x5), F(2x2,3x3) and
// F(2x2,5x5) kernels exactly as derived, the dense transform_1d for every supported tile, and
// the matrix checks that guard the structured path (true for the rule's float matrices, false
// for any other).
#include <cmath>
#include <vector>

#include "support.h"
#include "winoprune/winograd/transform.h"

namespace wp::transform_1d_test {
using Vec = double;
inline Vec vmul_s(float s, Vec a) { return double(s) * a; }
inline Vec vfmadd_s(float s, Vec b, Vec c) { return double(s) * b + c; }
inline Vec vadd(Vec a, Vec b) { return a + b; }
inline Vec vsub(Vec a, Vec b) { return a - b; }
#include "../../src/kernels/common/winograd_1d.inc"
}  // namespace wp::transform_1d_test

using namespace wp;
namespace k1d = wp::transform_1d_test;

namespace {

// max_i |y[i] - sum_a C[i][a] x[a]| relative to the terms' scale, C in double.
double worst_error(const std::vector<double>& C, int rows, int cols, const double* x,
                   const double* y) {
  double worst = 0;
  for (int i = 0; i < rows; ++i) {
    double s = 0, scale = 0;
    for (int a = 0; a < cols; ++a) {
      s += C[i * cols + a] * x[a];
      scale += std::fabs(C[i * cols + a] * x[a]);
    }
    worst = std::max(worst, std::fabs(y[i] - s) / (scale > 0 ? scale : 1.0));
  }
  return worst;
}

}  // namespace

TEST_CASE("structured F(4x4) 1-D transforms equal the rule's matrices", "[winograd][1d]") {
  const WinogradTransform& f43 = winograd_transform(4, 3);
  const WinogradTransform& f45 = winograd_transform(4, 5);
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const auto x = test::random_vector<double>(8, seed);
    double v[8], y[8];
    k1d::f4x3_input_1d(x.data(), v);
    CHECK(worst_error(f43.BT, 6, 6, x.data(), v) < 1e-14);
    k1d::f4x3_output_1d(x.data(), y);
    CHECK(worst_error(f43.AT, 4, 6, x.data(), y) < 1e-14);
    k1d::f4x5_input_1d(x.data(), v);
    CHECK(worst_error(f45.BT, 8, 8, x.data(), v) < 1e-14);
    k1d::f4x5_output_1d(x.data(), y);
    CHECK(worst_error(f45.AT, 4, 8, x.data(), y) < 1e-14);
  }
}

TEST_CASE("structured F(2x2) 1-D transforms equal the rule's matrices", "[winograd][1d]") {
  const WinogradTransform& f23 = winograd_transform(2, 3);
  const WinogradTransform& f25 = winograd_transform(2, 5);
  for (uint64_t seed = 41; seed <= 60; ++seed) {
    const auto x = test::random_vector<double>(8, seed);
    double v[8], y[8];
    k1d::f2x3_input_1d(x.data(), v);
    CHECK(worst_error(f23.BT, 4, 4, x.data(), v) < 1e-14);
    k1d::f2x3_output_1d(x.data(), y);
    CHECK(worst_error(f23.AT, 2, 4, x.data(), y) < 1e-14);
    k1d::f4x3_input_1d(x.data(), v);   // F(2x2,5x5) shares F(4x4,3x3)'s B^T
    CHECK(worst_error(f25.BT, 6, 6, x.data(), v) < 1e-14);
    k1d::f2x5_output_1d(x.data(), y);
    CHECK(worst_error(f25.AT, 2, 6, x.data(), y) < 1e-14);
  }
}

TEST_CASE("the dense 1-D transform equals B^T and A^T of every supported tile", "[winograd][1d]") {
  const int tiles[][2] = {{2, 3}, {4, 3}, {6, 3}, {2, 5}, {4, 5}, {3, 3}, {2, 2}, {3, 5}};
  uint64_t seed = 100;
  for (const auto& mr : tiles) {
    const WinogradTransform& f = winograd_transform(mr[0], mr[1]);
    INFO("tile " << f.tile_name());
    const auto x = test::random_vector<double>(8, ++seed);
    double v[8], y[8];
    switch (f.t) {   // transform_1d takes the inner size at compile time
      case 3: k1d::transform_1d<3>(f.BTf.data(), 3, x.data(), v);
              k1d::transform_1d<3>(f.ATf.data(), f.m, x.data(), y); break;
      case 4: k1d::transform_1d<4>(f.BTf.data(), 4, x.data(), v);
              k1d::transform_1d<4>(f.ATf.data(), f.m, x.data(), y); break;
      case 5: k1d::transform_1d<5>(f.BTf.data(), 5, x.data(), v);
              k1d::transform_1d<5>(f.ATf.data(), f.m, x.data(), y); break;
      case 6: k1d::transform_1d<6>(f.BTf.data(), 6, x.data(), v);
              k1d::transform_1d<6>(f.ATf.data(), f.m, x.data(), y); break;
      case 7: k1d::transform_1d<7>(f.BTf.data(), 7, x.data(), v);
              k1d::transform_1d<7>(f.ATf.data(), f.m, x.data(), y); break;
      default: REQUIRE(f.t == 8);
               k1d::transform_1d<8>(f.BTf.data(), 8, x.data(), v);
               k1d::transform_1d<8>(f.ATf.data(), f.m, x.data(), y); break;
    }
    // The float copies of the matrices round 1/3-like entries: 1e-7 of the terms' scale.
    CHECK(worst_error(f.BT, f.t, f.t, x.data(), v) < 1e-7);
    CHECK(worst_error(f.AT, f.m, f.t, x.data(), y) < 1e-7);
  }
}

TEST_CASE("the structured path is taken for the rule's matrices and only for them", "[winograd][1d]") {
  const WinogradTransform& f43 = winograd_transform(4, 3);
  const WinogradTransform& f45 = winograd_transform(4, 5);
  CHECK(k1d::is_f4x3_matrices(f43.BTf.data(), f43.ATf.data()));
  CHECK(k1d::is_f4x5_matrices(f45.BTf.data(), f45.ATf.data()));
  const WinogradTransform& f23 = winograd_transform(2, 3);
  const WinogradTransform& f25 = winograd_transform(2, 5);
  CHECK(k1d::is_f2x3_matrices(f23.BTf.data(), f23.ATf.data()));
  CHECK(k1d::is_f2x5_matrices(f25.BTf.data(), f25.ATf.data()));
  CHECK_FALSE(k1d::is_f2x3_matrices(f43.BTf.data(), f43.ATf.data()));
  CHECK_FALSE(k1d::is_f2x5_matrices(f43.BTf.data(), f43.ATf.data()));
  std::vector<float> at23 = f23.ATf;
  at23[7] = 2.0f;
  CHECK_FALSE(k1d::is_f2x3_matrices(f23.BTf.data(), at23.data()));
  std::vector<float> bt = f43.BTf;
  bt[7] += 1e-6f;
  CHECK_FALSE(k1d::is_f4x3_matrices(bt.data(), f43.ATf.data()));
  std::vector<float> at = f45.ATf;
  at[31] = -at[31];
  CHECK_FALSE(k1d::is_f4x5_matrices(f45.BTf.data(), at.data()));
}
