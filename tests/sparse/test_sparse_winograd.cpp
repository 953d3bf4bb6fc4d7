// Sparse Winograd convolution: the variant of the active ISA level (this executable runs once
// per WINOPRUNE_ISA level) against
//   - a plain dense Winograd computation in double written here,
//       y = A^T [ sum_c W_{k,c} (.) (B^T d_c B) ] A + bias   per tile,
//     on the same pruned W (a pruned W is in general not G g G^T of any spatial g), and
//   - the packed-format reference (sparse_winograd_reference.h) in double,
// over named edge cases; plus the packed format's invariants, an end-to-end check against a
// direct spatial convolution for W = G g G^T, and input errors.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <numeric>

#include "support.h"
#include "winoprune/sparse/sparse_winograd.h"
#include "winoprune/kernels/sparse_winograd_reference.h"
#include "winoprune/winograd/transform.h"

using namespace wp;

namespace {

struct Case {
  const char* name;
  int N, C, H, W, K, m, r, pad, groups;
  double sparsity;
  bool relu = false;
  bool bias = true;
};

// W [t*t, K, Cg] uniform in [-1, 1] with exactly round(sparsity * numel) zeros at random places.
Tensor random_pruned_weight(int P, int K, int Cg, double sparsity, uint64_t seed) {
  std::vector<float> w = test::random_vector<float>(size_t(P) * K * Cg, seed);
  for (auto& v : w)
    if (v == 0.0f) v = 0.5f;
  std::vector<size_t> order(w.size());
  std::iota(order.begin(), order.end(), size_t(0));
  Rng rng(seed, 3);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(uint32_t(i))]);
  size_t zeros = size_t(sparsity * double(w.size()) + 0.5);
  for (size_t i = 0; i < zeros; ++i) w[order[i]] = 0.0f;
  return Tensor::from_vector({P, K, Cg}, w);
}

// The plain formula, in double, dense over c: per image n, group g, tile (ty, tx), channel k,
//   Y = AT [ sum_c W[:, k, c] (.) (BT d_c BT^T) ] AT^T + bias[k], ReLU if asked.
std::vector<double> dense_winograd_double(const Case& cs, const Tensor& W, const Tensor& x,
                                          const std::vector<float>& bias) {
  const WinogradTransform& tr = winograd_transform(cs.m, cs.r);
  const int t = tr.t, m = cs.m, P = t * t;
  const int Kg = cs.K / cs.groups, Cg = cs.C / cs.groups;
  const int Ho = cs.H + 2 * cs.pad - cs.r + 1, Wo = cs.W + 2 * cs.pad - cs.r + 1;
  const int th = (Ho + m - 1) / m, tw = (Wo + m - 1) / m;
  std::vector<double> y(size_t(cs.N) * cs.K * Ho * Wo, 0.0);
  std::vector<double> V(size_t(Cg) * P), d(P), tmp(P), M(P), Z(size_t(m) * t);
  for (int n = 0; n < cs.N; ++n)
    for (int g = 0; g < cs.groups; ++g)
      for (int ty = 0; ty < th; ++ty)
        for (int tx = 0; tx < tw; ++tx) {
          for (int c = 0; c < Cg; ++c) {
            for (int i = 0; i < t; ++i)
              for (int k = 0; k < t; ++k) {
                int yy = ty * m - cs.pad + i, xx = tx * m - cs.pad + k;
                bool in = yy >= 0 && yy < cs.H && xx >= 0 && xx < cs.W;
                d[i * t + k] =
                    in ? x[((int64_t(n) * cs.C + g * Cg + c) * cs.H + yy) * cs.W + xx] : 0.0;
              }
            for (int p = 0; p < t; ++p)
              for (int k = 0; k < t; ++k) {
                double s = 0;
                for (int i = 0; i < t; ++i) s += tr.BT[p * t + i] * d[i * t + k];
                tmp[p * t + k] = s;
              }
            for (int p = 0; p < t; ++p)
              for (int q = 0; q < t; ++q) {
                double s = 0;
                for (int k = 0; k < t; ++k) s += tmp[p * t + k] * tr.BT[q * t + k];
                V[size_t(c) * P + p * t + q] = s;
              }
          }
          for (int k = 0; k < Kg; ++k) {
            const int ko = g * Kg + k;
            for (int j = 0; j < P; ++j) {
              double s = 0;
              for (int c = 0; c < Cg; ++c)
                s += double(W[(int64_t(j) * cs.K + ko) * Cg + c]) * V[size_t(c) * P + j];
              M[j] = s;
            }
            for (int i = 0; i < m; ++i)
              for (int q = 0; q < t; ++q) {
                double s = 0;
                for (int p = 0; p < t; ++p) s += tr.AT[i * t + p] * M[p * t + q];
                Z[i * t + q] = s;
              }
            for (int i = 0; i < m && ty * m + i < Ho; ++i)
              for (int i2 = 0; i2 < m && tx * m + i2 < Wo; ++i2) {
                double s = bias.empty() ? 0.0 : double(bias[ko]);
                for (int q = 0; q < t; ++q) s += Z[i * t + q] * tr.AT[i2 * t + q];
                if (cs.relu) s = std::max(s, 0.0);
                y[((int64_t(n) * cs.K + ko) * Ho + ty * m + i) * Wo + tx * m + i2] = s;
              }
          }
        }
  return y;
}

// Frobenius-relative error limits per tile: measured 0.6e-7 .. 1.05e-7 on these cases for every
// tile (F(4x4,5x5) included, whose entries like 1/90 and 21/4 are the least accurate), so 10x
// margin for t <= 6 and 30x for t = 7, 8.
double limit_for(int m, int r) { return m + r - 1 <= 6 ? 1e-6 : 3e-6; }

void check_case(const Case& cs, uint64_t seed) {
  INFO("case " << cs.name << ": N " << cs.N << " C " << cs.C << " H " << cs.H << " W " << cs.W
               << " K " << cs.K << " F(" << cs.m << "," << cs.r << ") pad " << cs.pad
               << " groups " << cs.groups << " sparsity " << cs.sparsity);
  const WinogradTransform& tr = winograd_transform(cs.m, cs.r);
  const int P = tr.t * tr.t;
  Tensor W = random_pruned_weight(P, cs.K, cs.C / cs.groups, cs.sparsity, seed);
  Tensor x = Tensor::from_vector(
      {cs.N, cs.C, cs.H, cs.W},
      test::random_vector<float>(size_t(cs.N) * cs.C * cs.H * cs.W, seed + 1));
  std::vector<float> bias;
  if (cs.bias) bias = test::random_vector<float>(size_t(cs.K), seed + 2);

  SparseWinogradConv conv = SparseWinogradConv::pack(W, cs.m, cs.r, cs.pad, cs.groups);
  Tensor y;
  conv.forward(x, cs.bias ? bias.data() : nullptr, cs.relu, y);
  const int Ho = cs.H + 2 * cs.pad - cs.r + 1, Wo = cs.W + 2 * cs.pad - cs.r + 1;
  REQUIRE(y.shape() == Shape{cs.N, cs.K, Ho, Wo});

  std::vector<double> want = dense_winograd_double(cs, W, x, bias);
  double err = test::relative_error(y.data(), want.data(), want.size(), limit_for(cs.m, cs.r),
                                    cs.name);
  INFO("relative error vs dense double Winograd " << err);
  CHECK(err <= limit_for(cs.m, cs.r));

  // The packed-format reference in double agrees with the dense formula to rounding.
  SparseWinogradArgs a = conv.args_for(x);   // geometry and packed weights; data below
  a.threads = 2;
  a.relu = cs.relu ? 1 : 0;
  std::vector<double> xd(x.data(), x.data() + x.numel()), bd(bias.begin(), bias.end());
  std::vector<double> yd(want.size(), -7.0);
  sparse_winograd_conv__reference<double>(a, xd.data(), cs.bias ? bd.data() : nullptr,
                                          yd.data(), tr.BT.data(), tr.AT.data());
  double err_ref = test::relative_error(yd.data(), want.data(), want.size(), 1e-12, cs.name);
  CHECK(err_ref <= 1e-12);
  if (cs.sparsity >= 1.0) {
    // Every product is 0: y is exactly act(bias).
    for (int64_t i = 0; i < y.numel(); ++i) {
      int k = int(i / (int64_t(Ho) * Wo) % cs.K);
      float b = cs.bias ? bias[k] : 0.0f;
      if (cs.relu) b = std::max(b, 0.0f);
      REQUIRE(y[i] == b);
    }
  }
}

}  // namespace

TEST_CASE("sparse winograd matches dense double Winograd on named edge cases", "[sparse]") {
  if (!test::isa_available_or_skip()) return;
  INFO("variant " << sparse_winograd_variant().name);
  const Case cases[] = {
      // name                       N  C   H   W   K  m  r pad g  sparsity
      {"conv3-like small",          2, 32, 13, 13, 48, 4, 3, 1, 1, 0.9},
      {"dense (sparsity 0)",        1, 17, 9, 11, 19, 4, 3, 1, 1, 0.0},
      {"sparsity 0.5, relu",        3, 20, 10, 7, 33, 4, 3, 1, 1, 0.5, true},
      {"sparsity 0.99",             2, 40, 12, 12, 50, 4, 3, 1, 1, 0.99},
      {"sparsity 1 (all pruned)",   2, 8, 6, 6, 9, 4, 3, 1, 1, 1.0, true},
      {"batch 1, no bias",          1, 21, 13, 13, 23, 4, 3, 1, 1, 0.9, false, false},
      {"H smaller than a tile",     3, 5, 3, 2, 7, 4, 3, 1, 1, 0.5},
      {"1x1 image, pad 1",          5, 6, 1, 1, 3, 4, 3, 1, 1, 0.0},
      {"no padding",                2, 9, 11, 14, 10, 4, 3, 0, 1, 0.7},
      {"groups 2",                  2, 34, 13, 13, 38, 4, 3, 1, 2, 0.9, true},
      {"groups 2, odd per group",   1, 6, 7, 9, 10, 4, 3, 1, 2, 0.5},
      {"F(2x2,3x3)",                2, 19, 13, 13, 21, 2, 3, 1, 1, 0.9},
      {"F(2x2,3x3) groups 2 relu",  3, 10, 5, 8, 14, 2, 3, 1, 2, 0.5, true},
      {"5x5 tile F(3x3,3x3)",       2, 18, 11, 13, 17, 3, 3, 1, 1, 0.9},
      {"F(4x4,5x5) conv2-like",     1, 24, 27, 27, 20, 4, 5, 2, 2, 0.9},
      {"F(2x2,5x5)",                2, 7, 9, 9, 11, 2, 5, 2, 1, 0.5},
      {"many tiles, K 1",           4, 3, 29, 31, 1, 4, 3, 1, 1, 0.3},
      // 4 tiles per tile row and W + pad <= 16: the AVX-512 "quad rows" path
      {"quad rows, W + pad = 16",   2, 9, 13, 15, 11, 4, 3, 1, 1, 0.8},
      {"quad rows, W 16 no pad",    1, 7, 9, 16, 5, 4, 3, 0, 1, 0.5, true},
      {"quad rows, half block",     3, 10, 6, 14, 12, 4, 3, 1, 2, 0.9},
      {"quad rows, F(4x4,5x5)",     2, 8, 13, 13, 9, 4, 5, 2, 1, 0.7},
      // several k-blocks (kblock 64 for t = 6, 32 for t = 8; a short last one with dummy
      // slice lanes); many blocks: one pass over all k-blocks; batch 1: k-blocks split
      {"3 k-blocks, many blocks",   9, 12, 13, 13, 150, 4, 3, 1, 1, 0.9},
      {"3 k-blocks, batch 1",       1, 12, 13, 13, 150, 4, 3, 1, 1, 0.9},
      {"k-blocks, groups 2",        16, 16, 11, 9, 140, 4, 3, 1, 2, 0.8, true},
      {"k-blocks, F(4x4,5x5)",      9, 6, 15, 15, 70, 4, 5, 2, 1, 0.9},
      // m = 2: the AVX-512 pair-run stores (neighbouring tiles' outputs in one masked store)
      {"F(2x2) Wo 1: runs down",    3, 4, 7, 1, 5, 2, 3, 1, 1, 0.5, true},
      {"F(2x2) odd Wo, no pad",     2, 6, 12, 9, 7, 2, 3, 0, 1, 0.6},
      {"F(2x2) 3 k-blocks, batch 1", 1, 12, 13, 13, 300, 2, 3, 1, 1, 0.9},
      {"F(2x2,5x5) k-blocks",       9, 6, 13, 13, 70, 2, 5, 2, 1, 0.9, true},
      // AVX-512, Cg <= 256 and >= 16 sub-blocks of 16 tiles: blocks of two sub-blocks (an odd
      // count leaves the last block's second sub-block dead)
      {"two sub-blocks, odd count", 17, 12, 13, 13, 20, 4, 3, 1, 1, 0.8},
      {"two sub-blocks, g2 k-blocks", 20, 16, 13, 13, 140, 4, 3, 1, 2, 0.9, true},
      {"two sub-blocks, F(2x2)",    6, 8, 13, 13, 10, 2, 3, 1, 1, 0.7},
      {"two sub-blocks, F(4x4,5x5)", 6, 6, 27, 27, 9, 4, 5, 2, 1, 0.6, true},
  };
  uint64_t seed = 100;
  for (const Case& cs : cases) check_case(cs, seed += 10);
}

TEST_CASE("sparse winograd variants agree with the float reference variant bit-closely",
          "[sparse]") {
  if (!test::isa_available_or_skip()) return;
  const SparseWinogradVariant* ref = sparse_winograd_variant_for(Isa::ref);
  REQUIRE(ref != nullptr);
  const int P = 36;
  Tensor W = random_pruned_weight(P, 70, 45, 0.8, 5);
  Tensor x = Tensor::from_vector({3, 45, 13, 17}, test::random_vector<float>(3 * 45 * 13 * 17, 6));
  std::vector<float> bias = test::random_vector<float>(70, 7);
  SparseWinogradConv conv = SparseWinogradConv::pack(W, 4, 3, 1, 1);
  Tensor y, yref;
  conv.forward(x, bias.data(), true, y);
  conv.forward_with(*ref, x, bias.data(), true, yref);
  double err = test::relative_error(y.data(), yref.data(), size_t(y.numel()), 1e-5, "vs ref");
  CHECK(err <= 1e-5);
}

TEST_CASE("sparse winograd results do not depend on the thread count or reused workspace",
          "[sparse]") {
  if (!test::isa_available_or_skip()) return;
  Tensor W = random_pruned_weight(36, 40, 30, 0.9, 11);
  Tensor big = Tensor::from_vector({5, 30, 13, 13}, test::random_vector<float>(5 * 30 * 169, 12));
  Tensor small = big.slice(0, 1).clone();
  SparseWinogradConv conv = SparseWinogradConv::pack(W, 4, 3, 1, 1);
  Tensor y2, y1, ys;
  conv.forward(big, nullptr, false, y2);
  conv.forward(small, nullptr, false, ys);   // a smaller call reuses the workspace
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  conv.forward(big, nullptr, false, y1);
  omp_set_num_threads(saved);
  REQUIRE(std::memcmp(y1.data(), y2.data(), sizeof(float) * size_t(y1.numel())) == 0);
  // Image 0 alone equals image 0 of the batch (its own block grid, same arithmetic per tile).
  double err = test::relative_error(ys.data(), y2.data(), size_t(ys.numel()), 1e-6, "batch");
  CHECK(err <= 1e-6);
}

TEST_CASE("sparse winograd packed format invariants and round trip", "[sparse]") {
  const int R = kSparseSliceRows;
  for (int groups : {1, 2}) {
    const int P = 36, K = 22, Cg = 13, Kg = K / groups;
    Tensor W = random_pruned_weight(P, K, Cg, 0.6, 21 + groups);
    for (int kblock : {0, 1, 5, 8, 64}) {
      SparseWinogradConv s = SparseWinogradConv::pack(W, 4, 3, 1, groups, kblock);
      INFO("groups " << groups << " kblock " << s.kblock());
      const int kb = s.kblock(), nkb = (Kg + kb - 1) / kb;
      REQUIRE(kb >= 1);
      REQUIRE(kb <= Kg);
      const auto &cs = s.chunk_slice(), &ss = s.slice_start(), &rows = s.slice_rows();
      REQUIRE(cs.size() == size_t(groups) * nkb * P + 1);
      REQUIRE(cs.front() == 0);
      REQUIRE(ss.size() == size_t(cs.back()) + 1);
      REQUIRE(rows.size() == size_t(cs.back()) * R);
      REQUIRE(ss.front() == 0);
      REQUIRE(size_t(ss.back()) == s.val().size());
      REQUIRE(s.voff().size() == s.val().size());
      int64_t zeros = 0;
      for (int64_t i = 0; i < W.numel(); ++i) zeros += W[i] == 0.0f;
      REQUIRE(s.nnz() == W.numel() - zeros);
      CHECK(s.density() == Approx(double(s.nnz()) / double(W.numel())));
      // Rebuild W from the slices, walking chunks (g, b, j) in storage order.
      std::vector<float> back(size_t(W.numel()), 0.0f);
      int64_t nonzeros = 0;
      for (int g = 0; g < groups; ++g)
        for (int b = 0; b < nkb; ++b) {
          const int nr = std::min(kb, Kg - b * kb), ns = (nr + R - 1) / R;
          for (int j = 0; j < P; ++j) {
            const size_t ch = (size_t(g) * nkb + b) * P + j;
            REQUIRE(cs[ch + 1] - cs[ch] == ns);
            std::vector<int> seen(size_t(ns) * R, 0), len_of(size_t(ns) * R, 0);
            int prev_len = 1 << 30;
            for (int32_t sl = cs[ch]; sl < cs[ch + 1]; ++sl) {
              REQUIRE(ss[size_t(sl) + 1] >= ss[size_t(sl)]);
              REQUIRE((ss[size_t(sl) + 1] - ss[size_t(sl)]) % R == 0);
              const int L = (ss[size_t(sl) + 1] - ss[size_t(sl)]) / R;
              int longest = 0;
              for (int r = 0; r < R; ++r) {
                const int kk = rows[size_t(sl) * R + r];
                REQUIRE(kk >= 0);
                REQUIRE(kk < ns * R);
                REQUIRE(seen[size_t(kk)]++ == 0);               // a permutation
                int prev = -1, n = 0;
                bool ended = false;
                for (int i = 0; i < L; ++i) {
                  const size_t e = size_t(ss[size_t(sl)]) + size_t(i) * R + r;
                  const float v = s.val()[e];
                  if (v == 0.0f) {                               // padding: to the end
                    REQUIRE(s.voff()[e] == 0);
                    ended = true;
                    continue;
                  }
                  REQUIRE(!ended);
                  REQUIRE(kk < nr);                              // dummies have no entries
                  REQUIRE(s.voff()[e] % kSparseTileBlock == 0);
                  const int c = s.voff()[e] / kSparseTileBlock;
                  REQUIRE(c > prev);
                  REQUIRE(c < Cg);
                  back[(size_t(j) * K + g * Kg + b * kb + kk) * Cg + c] = v;
                  prev = c;
                  ++n;
                }
                nonzeros += n;
                len_of[size_t(kk)] = n;
                longest = std::max(longest, n);
              }
              REQUIRE(longest == L);                             // no all-padding column
              REQUIRE(L <= prev_len);                            // sorted by length
              prev_len = L;
            }
            for (int kk = nr; kk < ns * R; ++kk) REQUIRE(len_of[size_t(kk)] == 0);
          }
        }
      REQUIRE(nonzeros == s.nnz());
      REQUIRE(std::memcmp(back.data(), W.data(), back.size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("sparse winograd of W = G g G^T equals the direct spatial convolution", "[sparse]") {
  if (!test::isa_available_or_skip()) return;
  for (int m : {2, 4}) {
    const int r = 3, N = 2, C = 12, H = 13, Wd = 11, K = 9, pad = 1, groups = 1;
    const WinogradTransform& tr = winograd_transform(m, r);
    const int t = tr.t, P = t * t;
    std::vector<float> g = test::random_vector<float>(size_t(K) * C * r * r, 31);
    std::vector<float> w(size_t(P) * K * C);
    for (int k = 0; k < K; ++k)
      for (int c = 0; c < C; ++c)
        for (int p = 0; p < t; ++p)
          for (int q = 0; q < t; ++q) {
            double s = 0;
            for (int a = 0; a < r; ++a)
              for (int b = 0; b < r; ++b)
                s += tr.G[p * r + a] * double(g[((size_t(k) * C + c) * r + a) * r + b]) *
                     tr.G[q * r + b];
            w[(size_t(p * t + q) * K + k) * C + c] = float(s);
          }
    Tensor W = Tensor::from_vector({P, K, C}, w);
    Tensor x = Tensor::from_vector({N, C, H, Wd}, test::random_vector<float>(N * C * H * Wd, 32));
    SparseWinogradConv conv = SparseWinogradConv::pack(W, m, r, pad, groups);
    Tensor y = conv.forward(x, nullptr, false);
    const int Ho = H + 2 * pad - r + 1, Wo = Wd + 2 * pad - r + 1;
    std::vector<double> want(size_t(N) * K * Ho * Wo, 0.0);
    for (int n = 0; n < N; ++n)
      for (int k = 0; k < K; ++k)
        for (int oy = 0; oy < Ho; ++oy)
          for (int ox = 0; ox < Wo; ++ox) {
            double s = 0;
            for (int c = 0; c < C; ++c)
              for (int a = 0; a < r; ++a)
                for (int b = 0; b < r; ++b) {
                  int yy = oy - pad + a, xx = ox - pad + b;
                  if (yy < 0 || yy >= H || xx < 0 || xx >= Wd) continue;
                  s += double(g[((size_t(k) * C + c) * r + a) * r + b]) *
                       x[((int64_t(n) * C + c) * H + yy) * Wd + xx];
                }
            want[((size_t(n) * K + k) * Ho + oy) * Wo + ox] = s;
          }
    double err = test::relative_error(y.data(), want.data(), want.size(), 1e-5, "spatial");
    INFO("F(" << m << ",3) vs direct spatial: " << err);
    CHECK(err <= 1e-5);
  }
}

TEST_CASE("sparse winograd rejects bad shapes with InputError", "[sparse]") {
  Tensor W = Tensor::zeros({36, 8, 4});
  CHECK_THROWS_AS(SparseWinogradConv::pack(Tensor::zeros({16, 8, 4}), 4, 3, 1, 1), InputError);
  CHECK_THROWS_AS(SparseWinogradConv::pack(Tensor::zeros({36, 8}), 4, 3, 1, 1), InputError);
  CHECK_THROWS_AS(SparseWinogradConv::pack(W, 4, 3, 1, 3), InputError);   // 8 % 3
  CHECK_THROWS_AS(SparseWinogradConv::pack(W, 4, 3, -1, 1), InputError);
  SparseWinogradConv conv = SparseWinogradConv::pack(W, 4, 3, 1, 2);      // C = 8
  Tensor y;
  CHECK_THROWS_AS(conv.forward(Tensor::zeros({1, 4, 5, 5}), nullptr, false, y), InputError);
  CHECK_THROWS_AS(conv.forward(Tensor::zeros({8, 5, 5}), nullptr, false, y), InputError);
  SparseWinogradConv nopad = SparseWinogradConv::pack(W, 4, 3, 0, 2);
  CHECK_THROWS_AS(nopad.forward(Tensor::zeros({1, 8, 2, 5}), nullptr, false, y), InputError);
  CHECK_THROWS_AS(conv.refresh_values(Tensor::zeros({36, 8, 5})), InputError);
  CHECK_NOTHROW(conv.refresh_values(W));
  CHECK(SparseWinogradConv::supports(Tensor::zeros({1, 8, 5, 5}), 2));
  CHECK_FALSE(SparseWinogradConv::supports(Tensor::zeros({1, 8, 5, 5}), 3));
  CHECK_FALSE(SparseWinogradConv::supports(Tensor::zeros({8, 5, 5}), 1));
  CHECK_FALSE(SparseWinogradConv::supports(Tensor::zeros({1, 8194, 1, 1}), 2));   // Cg 4097
  CHECK_THROWS_AS(SparseWinogradConv().forward(Tensor::zeros({1, 8, 5, 5}), nullptr, false, y),
                  InputError);
}

TEST_CASE("sparse winograd names its kernel and reports phase times", "[sparse]") {
  if (!test::isa_available_or_skip()) return;
  Tensor W = random_pruned_weight(36, 16, 16, 0.9, 41);
  SparseWinogradConv conv = SparseWinogradConv::pack(W, 4, 3, 1, 1);
  CHECK(conv.kernel_name() ==
        std::string("sparse_winograd_f4x4_3x3__") + isa_name(active_isa()));
  Tensor x = Tensor::zeros({2, 16, 13, 13});
  Tensor y;
  double ph[3] = {-1, -1, -1};
  conv.forward_with(sparse_winograd_variant(), x, nullptr, false, y, ph);
  if (active_isa() != Isa::ref)
    for (double v : ph) CHECK(v >= 0.0);
}
