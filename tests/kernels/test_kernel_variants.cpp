// Every kernel variant this CPU can run, straight from the variant tables that the ISA list
// (winoprune/kernels/isa_list.h) generates, against the ref variant: the plain loops of the
// same formulas. Random data and random (non-Winograd) transform matrices, sub-ranges of
// channels, tiles and rows with caller strides, awkward sizes (partial tiles, tile and row
// counts that are not multiples of 8 or 16 lanes). The ref variants themselves are checked
// against the definitions in double with the real Winograd matrices by tests/winograd and
// tests/sparse at the ref: level; this sweep ignores WINOPRUNE_ISA and covers every level in
// one run.
#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "support.h"
#include "winoprune/kernels/fma_peak.h"
#include "winoprune/kernels/lrn.h"
#include "winoprune/kernels/masked_products.h"
#include "winoprune/kernels/winograd_tiles.h"
#include "winoprune/ops/lrn_reference.h"

using namespace wp;

namespace {

#define WP_LEVEL(isa) Isa::isa,
const Isa kLevels[] = {WP_KERNEL_ISAS(WP_LEVEL)};
#undef WP_LEVEL

// The levels of the list this CPU runs (the CPU's own level, not WINOPRUNE_ISA's).
std::vector<Isa> runnable_levels() {
  std::vector<Isa> out;
  for (Isa isa : kLevels)
    if (static_cast<int>(isa) <= static_cast<int>(cpu_isa())) out.push_back(isa);
  return out;
}

struct GridCase {
  int N, C, H, W, K, pad, m, r;
};

// Compile-time tiles of the vector body ((t, m) = (4,2), (6,4), (6,2), (8,4), (8,6)) and
// generic ones, with partial tiles and planes larger than the row path's stack buffer.
const GridCase kGrids[] = {
    {2, 5, 13, 13, 3, 1, 4, 3}, {3, 2, 9, 11, 4, 1, 2, 3}, {2, 3, 27, 27, 2, 2, 4, 5},
    {1, 2, 14, 14, 3, 2, 2, 5}, {2, 2, 3, 5, 2, 1, 4, 3},  {1, 4, 10, 6, 3, 0, 6, 3},
    {1, 2, 2, 2, 2, 1, 2, 3},   {1, 2, 120, 100, 2, 1, 4, 3}, {1, 3, 8, 9, 2, 1, 3, 3},
    {2, 2, 6, 5, 3, 2, 3, 5},   {1, 2, 5, 5, 2, 0, 2, 2},
};

TileGrid grid_of(const GridCase& c, const std::vector<float>& BT, const std::vector<float>& AT) {
  TileGrid g;
  g.N = c.N, g.C = c.C, g.H = c.H, g.W = c.W, g.K = c.K, g.pad = c.pad, g.m = c.m, g.r = c.r;
  g.t = c.m + c.r - 1;
  g.Ho = c.H + 2 * c.pad - c.r + 1, g.Wo = c.W + 2 * c.pad - c.r + 1;
  g.tiles_h = (g.Ho + c.m - 1) / c.m, g.tiles_w = (g.Wo + c.m - 1) / c.m;
  g.tiles_per_image = int64_t(g.tiles_h) * g.tiles_w;
  g.tiles = g.tiles_per_image * c.N;
  g.BT = BT.data();
  g.AT = AT.data();
  return g;
}

}  // namespace

TEST_CASE("every tile-transform variant matches the plain ref loops", "[kernels][tiles]") {
  const WinogradTilesVariant* ref = winograd_tiles_variant_for(Isa::ref);
  REQUIRE(ref != nullptr);
  uint64_t seed = 1;
  for (Isa isa : runnable_levels()) {
    const WinogradTilesVariant* v = winograd_tiles_variant_for(isa);
    REQUIRE(v != nullptr);
    for (const GridCase& c : kGrids) {
      const int t = c.m + c.r - 1, P = t * t;
      const auto BT = test::random_vector<float>(size_t(t) * t, ++seed);
      const auto AT = test::random_vector<float>(size_t(c.m) * t, ++seed);
      const TileGrid g = grid_of(c, BT, AT);
      INFO("variant " << v->name << " grid N" << c.N << " C" << c.C << " " << c.H << "x" << c.W
                      << " K" << c.K << " pad " << c.pad << " F(" << c.m << "," << c.r << ")");
      // A channel sub-range and a tile sub-range that is not a multiple of 16, strided.
      const int c0 = c.C > 2 ? 1 : 0, c1 = c.C;
      const int k0 = c.K > 2 ? 1 : 0, k1 = c.K;
      const int64_t t0 = g.tiles > 5 ? 3 : 0, t1 = g.tiles;
      const int64_t T = t1 - t0, ld_ch = T + 5;
      const int64_t ldv = (c1 - c0) * ld_ch + 7, ldm = (k1 - k0) * ld_ch + 7;

      const auto x = test::random_vector<float>(size_t(c.N) * c.C * c.H * c.W, ++seed);
      std::vector<float> V_ref(size_t(P) * ldv, -7.0f), V(V_ref);
      ref->input(&g, x.data(), c0, c1, t0, t1, V_ref.data(), ldv, ld_ch);
      v->input(&g, x.data(), c0, c1, t0, t1, V.data(), ldv, ld_ch);
      CHECK(test::relative_error(V.data(), V_ref.data(), V.size(), 1e-5, "input") < 1e-5);

      const auto M = test::random_vector<float>(size_t(P) * ldm, ++seed);
      const auto bias = test::random_vector<float>(size_t(c.K), ++seed);
      const auto y0 = test::random_vector<float>(size_t(c.N) * c.K * g.Ho * g.Wo, ++seed);
      for (int relu = 0; relu < 2; ++relu) {
        std::vector<float> y_ref(y0), y(y0);
        ref->output(&g, M.data(), ldm, ld_ch, k0, k1, t0, t1, bias.data(), relu, y_ref.data());
        v->output(&g, M.data(), ldm, ld_ch, k0, k1, t0, t1, bias.data(), relu, y.data());
        CHECK(test::relative_error(y.data(), y_ref.data(), y.size(), 1e-5, "output") < 1e-5);
      }

      std::vector<float> dM_ref(size_t(P) * ldm, -7.0f), dM(dM_ref);
      ref->output_transposed(&g, y0.data(), k0, k1, t0, t1, dM_ref.data(), ldm, ld_ch);
      v->output_transposed(&g, y0.data(), k0, k1, t0, t1, dM.data(), ldm, ld_ch);
      CHECK(test::relative_error(dM.data(), dM_ref.data(), dM.size(), 1e-5, "output^T") < 1e-5);

      const auto dV = test::random_vector<float>(size_t(P) * ldv, ++seed);
      std::vector<float> dx_ref(x), dx(x);   // the transposed input transform adds
      ref->input_transposed(&g, dV.data(), ldv, ld_ch, c0, c1, t0, t1, dx_ref.data());
      v->input_transposed(&g, dV.data(), ldv, ld_ch, c0, c1, t0, t1, dx.data());
      CHECK(test::relative_error(dx.data(), dx_ref.data(), dx.size(), 1e-5, "input^T") < 1e-5);
    }
  }
}

TEST_CASE("every masked-product variant matches the plain ref loops", "[kernels][masked]") {
  const MaskedProductsVariant* ref = masked_products_variant_for(Isa::ref);
  REQUIRE(ref != nullptr);
  uint64_t seed = 100;
  for (Isa isa : runnable_levels()) {
    const MaskedProductsVariant* v = masked_products_variant_for(isa);
    REQUIRE(v != nullptr);
    // T: below one vector, between vector and block sizes, AlexNet's 256, odd sizes.
    for (int64_t T : {1, 7, 16, 37, 64, 129, 256, 300}) {
      for (int rows : {1, 2, 5, 33}) {
        const int in_rows = 53, nw = rows * in_rows;
        INFO("variant " << v->name << " T " << T << " rows " << rows);
        // A random pattern: row r owns a random subset of the input rows, some rows empty,
        // some with ~16 entries, some with ~42 (the dots' blocks of kLanes entries, then the
        // rest in pairs and one).
        Rng rng(++seed, 5);
        std::vector<int64_t> start{0};
        std::vector<int32_t> src, widx;
        for (int r = 0; r < rows; ++r) {
          const double keep = r % 4 == 3 ? 0.0 : r % 4 == 1 ? 0.8 : 0.3;
          for (int c = 0; c < in_rows; ++c)
            if (rng.uniform() < keep) {
              src.push_back(c);
              widx.push_back(r * in_rows + c);
            }
          start.push_back(int64_t(src.size()));
        }
        const int64_t ld_in = T + 3, ld_out = T + 9;
        const auto w = test::random_vector<float>(size_t(nw), ++seed);
        const auto in = test::random_vector<float>(size_t(in_rows) * ld_in, ++seed);
        const int r0 = rows > 2 ? 1 : 0;
        std::vector<float> out_ref(size_t(rows) * ld_out, -7.0f), out(out_ref);
        ref->product(start.data(), src.data(), widx.data(), w.data(), in.data(), ld_in, T,
                     out_ref.data(), ld_out, r0, rows);
        v->product(start.data(), src.data(), widx.data(), w.data(), in.data(), ld_in, T,
                   out.data(), ld_out, r0, rows);
        CHECK(test::relative_error(out.data(), out_ref.data(), out.size(), 1e-5, "product") <
              1e-5);

        const auto dout = test::random_vector<float>(size_t(rows) * ld_out, ++seed);
        std::vector<float> dw_ref(w), dw(w);   // the dot products add
        ref->dot(start.data(), src.data(), widx.data(), dout.data(), ld_out, in.data(), ld_in, T,
                 dw_ref.data(), r0, rows);
        v->dot(start.data(), src.data(), widx.data(), dout.data(), ld_out, in.data(), ld_in, T,
               dw.data(), r0, rows);
        CHECK(test::relative_error(dw.data(), dw_ref.data(), dw.size(), 1e-5, "dot") < 1e-5);

        // widx null: the dots land in entry order (dw[e]); vectors of kLanes in the blocks.
        const auto dwe0 = test::random_vector<float>(src.size() + 1, ++seed);
        std::vector<float> dwe_ref(dwe0), dwe(dwe0);
        ref->dot(start.data(), src.data(), nullptr, dout.data(), ld_out, in.data(), ld_in, T,
                 dwe_ref.data(), r0, rows);
        v->dot(start.data(), src.data(), nullptr, dout.data(), ld_out, in.data(), ld_in, T,
               dwe.data(), r0, rows);
        CHECK(test::relative_error(dwe.data(), dwe_ref.data(), dwe.size(), 1e-5, "dot in order") <
              1e-5);
        for (int64_t e = start[r0]; e < start[rows]; ++e)   // the same sums as through widx
          CHECK(dwe_ref[size_t(e)] - dwe0[size_t(e)] ==
                Approx(dw_ref[size_t(widx[size_t(e)])] - w[size_t(widx[size_t(e)])]).margin(1e-4));
      }
    }
  }
}

TEST_CASE("every FMA loop variant runs the same recurrence", "[kernels][fma]") {
  // Each lane of each chain runs acc = acc * 0.999 + 0.001 from the same start, so the sum per
  // lane is the same at every level (up to the ref level's unfused multiply-add).
  const FmaLoopVariant* ref = fma_loop_variant_for(Isa::ref);
  REQUIRE(ref != nullptr);
  const double per_lane_ref = ref->loop(1000) / ref->lanes;
  CHECK(per_lane_ref > 0.1);
  for (Isa isa : runnable_levels()) {
    const FmaLoopVariant* v = fma_loop_variant_for(isa);
    REQUIRE(v != nullptr);
    INFO("variant " << v->name);
    CHECK(std::string(v->name) == isa_name(isa));
    CHECK(v->loop(1000) / v->lanes == Approx(per_lane_ref).epsilon(1e-4));
  }
}

namespace {

struct LrnCase {
  int C;
  int64_t HW;
  int size;
  float alpha, beta, k;
};

// Channels below, at and above the window, pixel planes below one vector, between vectors and
// blocks (256 pixels), AlexNet's lrn2 plane (729); beta 0.75 (the fast power) and others; a
// large alpha so that the cross-channel term is as large as the direct one.
const LrnCase kLrnCases[] = {
    {1, 5, 5, 0.5f, 0.75f, 1.0f},   {3, 17, 5, 0.5f, 0.75f, 1.0f},  {7, 1, 3, 2.0f, 0.75f, 2.0f},
    {20, 255, 5, 1e-4f, 0.75f, 1.0f}, {9, 256, 7, 0.8f, 0.75f, 1.0f}, {16, 300, 5, 0.5f, 0.6f, 1.0f},
    {96, 37, 5, 1e-4f, 0.75f, 1.0f},  {11, 729, 15, 0.3f, 0.75f, 1.5f}, {6, 23, 1, 0.5f, 1.1f, 1.0f},
    {40, 529, 9, 1.0f, 0.75f, 1.0f},
};

// A case's kernel arguments and random inputs: x, dy, and the dx that backward adds into.
struct LrnInputs {
  LrnShape shape;
  size_t n;   // C * HW
  std::vector<float> x, dy, dx0;
};

LrnInputs lrn_inputs(const LrnCase& c, uint64_t* seed) {
  LrnInputs in;
  in.shape = LrnShape{c.C, c.HW, c.size, c.alpha, c.beta, c.k};
  in.n = size_t(c.C) * size_t(c.HW);
  // Values like AlexNet's conv1 output when alpha is Caffe's 1e-4, so the normalization bites.
  const float range = c.alpha < 0.01f ? 30.0f : 1.5f;
  in.x = test::random_vector<float>(in.n, ++*seed, -range, range);
  in.dy = test::random_vector<float>(in.n, ++*seed);
  in.dx0 = test::random_vector<float>(in.n, ++*seed);
  return in;
}

}  // namespace

TEST_CASE("the ref LRN backward matches the double-precision definition", "[kernels][lrn]") {
  const LrnVariant* ref = lrn_variant_for(Isa::ref);
  REQUIRE(ref != nullptr);
  uint64_t seed = 300;
  for (const LrnCase& c : kLrnCases) {
    INFO("C " << c.C << " HW " << c.HW << " size " << c.size << " beta " << c.beta);
    const LrnInputs in = lrn_inputs(c, &seed);
    std::vector<float> dx(in.dx0), work(size_t(lrn_backward_work_floats(c.size)));
    ref->backward(&in.shape, in.x.data(), in.dy.data(), dx.data(), 0, c.HW, work.data());
    std::vector<double> want(in.dx0.begin(), in.dx0.end());
    const std::vector<double> xd(in.x.begin(), in.x.end()), dyd(in.dy.begin(), in.dy.end());
    lrn_backward_reference(want.data(), dyd.data(), xd.data(), 1, c.C, 1, int(c.HW), c.size,
                           c.alpha, c.beta, c.k);
    CHECK(test::relative_error(dx.data(), want.data(), in.n, 1e-5, "dx") < 1e-5);
  }
}

TEST_CASE("every LRN backward variant matches the plain ref loops", "[kernels][lrn]") {
  const LrnVariant* ref = lrn_variant_for(Isa::ref);
  REQUIRE(ref != nullptr);
  uint64_t seed = 400;
  for (Isa isa : runnable_levels()) {
    const LrnVariant* v = lrn_variant_for(isa);
    REQUIRE(v != nullptr);
    CHECK(std::string(v->name) == isa_name(isa));
    for (const LrnCase& c : kLrnCases) {
      const LrnInputs in = lrn_inputs(c, &seed);
      // The whole plane, and a sub-range starting and ending inside vectors (pixels outside it
      // must stay untouched).
      const int64_t j0 = c.HW > 8 ? 3 : 0, j1 = c.HW > 8 ? c.HW - 2 : c.HW;
      for (auto [b, e] : {std::pair<int64_t, int64_t>{0, c.HW}, {j0, j1}}) {
        INFO("variant " << v->name << " C " << c.C << " HW " << c.HW << " size " << c.size
                        << " beta " << c.beta << " pixels " << b << ".." << e);
        std::vector<float> dx_ref(in.dx0), dx(in.dx0);
        std::vector<float> work(size_t(lrn_backward_work_floats(c.size)));
        ref->backward(&in.shape, in.x.data(), in.dy.data(), dx_ref.data(), b, e, work.data());
        v->backward(&in.shape, in.x.data(), in.dy.data(), dx.data(), b, e, work.data());
        CHECK(test::relative_error(dx.data(), dx_ref.data(), in.n, 1e-5, "dx") < 1e-5);
        for (int ch = 0; ch < c.C; ++ch)
          for (int64_t j = 0; j < c.HW; ++j)
            if (j < b || j >= e)
              REQUIRE(dx[size_t(ch * c.HW + j)] == in.dx0[size_t(ch * c.HW + j)]);
      }
    }
  }
}

TEST_CASE("every LRN backward variant writes dx without reading it when not accumulating",
          "[kernels][lrn]") {
  const LrnVariant* ref = lrn_variant_for(Isa::ref);
  REQUIRE(ref != nullptr);
  uint64_t seed = 500;
  for (Isa isa : runnable_levels()) {
    const LrnVariant* v = lrn_variant_for(isa);
    REQUIRE(v != nullptr);
    for (const LrnCase& c : kLrnCases) {
      INFO("variant " << v->name << " C " << c.C << " HW " << c.HW << " size " << c.size);
      const LrnInputs in = lrn_inputs(c, &seed);
      std::vector<float> work(size_t(lrn_backward_work_floats(c.size)));
      std::vector<float> want(in.n, 0.0f);   // accumulated into zeros
      ref->backward(&in.shape, in.x.data(), in.dy.data(), want.data(), 0, c.HW, work.data());
      LrnShape overwrite = in.shape;
      overwrite.accumulate = false;
      // A NaN anywhere the kernel read dx would reach the result.
      std::vector<float> dx(in.n, std::numeric_limits<float>::quiet_NaN());
      v->backward(&overwrite, in.x.data(), in.dy.data(), dx.data(), 0, c.HW, work.data());
      CHECK(test::relative_error(dx.data(), want.data(), in.n, 1e-5, "dx") < 1e-5);
    }
  }
}
