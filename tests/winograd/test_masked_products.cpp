// The masked transform-domain products (winograd/masked_products.h): the kernels against plain
// double loops on random patterns and awkward sizes; the Winograd layer under a frozen mask
// against the double reference twin (y, dx, and dW at unmasked entries; masked entries of dW
// untouched); the pattern's matches() and its shape checks. The layer's use of it (rebuilt
// when the mask changes) is tested in tests/nn/test_masked_training.cpp.
#include <vector>

#include "support.h"
#include "winoprune/autograd.h"
#include "winoprune/ops/ops.h"
#include "winoprune/winograd/masked_products.h"
#include "winoprune/winograd/winograd_conv2d.h"
#include "winoprune/winograd/winograd_reference.h"

using namespace wp;

namespace {

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

}  // namespace

TEST_CASE("masked product and dot kernels match plain double loops", "[winograd][masked]") {
  if (!test::isa_available_or_skip()) return;
  struct Dims {
    int C, K;
    int64_t T;
    double sparsity;
  };
  // T covers: below one vector (1, 3), exact vectors (16, 64, 128), a vector plus a tail (17),
  // blocks plus vectors plus a tail (130, 257); sparsity 0 (dense), 1 (empty rows).
  const Dims dims[] = {{5, 3, 1, 0.5},     {7, 9, 3, 0.0},     {16, 16, 16, 0.9},
                       {33, 17, 17, 0.7},  {64, 48, 64, 0.9},  {128, 192, 128, 0.9},
                       {19, 23, 130, 0.95}, {40, 31, 257, 0.6}, {12, 10, 40, 1.0},
                       // Hundreds of rows (pairs of rows and an odd last one at every block),
                       // T = 150: a 128-tile block, a vector and a tail.
                       {200, 150, 150, 0.9}, {129, 65, 64, 0.5}};
  uint64_t seed = 900;
  for (const Dims& d : dims) {
    INFO("C " << d.C << " K " << d.K << " T " << d.T << " sparsity " << d.sparsity);
    const int groups = (d.K % 3 == 0 && d.C % 3 == 0) ? 3 : 1;
    const int Cg = d.C / groups;
    Tensor mask = test::random_mask({2, d.K, Cg}, d.sparsity, ++seed);
    auto pat = build_masked_product_pattern(mask, groups);
    const int64_t ld = d.T + 5;   // rows farther apart than T
    auto W = test::random_vector<float>(size_t(mask.numel()), ++seed);
    auto V = test::random_vector<float>(size_t(d.C) * ld, ++seed);
    auto dM = test::random_vector<float>(size_t(d.K) * ld, ++seed);
    auto dw = test::random_vector<float>(size_t(mask.numel()), ++seed);   // += onto this
    for (int j = 0; j < 2; ++j) {
      const float* Wj = W.data() + size_t(j) * d.K * Cg;
      // Forward: M[k][t] = sum_c W[k][c] V[g*Cg + c][t] over unmasked (k, c).
      std::vector<float> M(size_t(d.K) * ld, 7.0f), dV(size_t(d.C) * ld, 7.0f);
      masked_rows_product(pat->by_k_start.data() + int64_t(j) * d.K, pat->by_k_src.data(),
                          pat->by_k_w.data(), Wj, V.data(), ld, d.T, M.data(), ld, 0, d.K);
      masked_rows_product(pat->by_c_start.data() + int64_t(j) * d.C, pat->by_c_src.data(),
                          pat->by_c_w.data(), Wj, dM.data(), ld, d.T, dV.data(), ld, 0, d.C);
      std::vector<float> dw_before(dw);
      masked_rows_dot(pat->by_k_start.data() + int64_t(j) * d.K, pat->by_k_src.data(),
                      pat->by_k_w.data(), dM.data(), ld, V.data(), ld, d.T,
                      dw.data() + size_t(j) * d.K * Cg, 0, d.K);
      std::vector<double> M_ref(M.size(), 7.0), dV_ref(dV.size(), 7.0), dw_ref(to_double(dw_before));
      for (int64_t t = 0; t < d.T; ++t) {
        for (int k = 0; k < d.K; ++k) M_ref[size_t(k * ld + t)] = 0;
        for (int c = 0; c < d.C; ++c) dV_ref[size_t(c * ld + t)] = 0;
      }
      for (int k = 0; k < d.K; ++k)
        for (int c = 0; c < Cg; ++c) {
          const size_t wi = size_t(k) * Cg + c;
          if (mask[int64_t(j) * d.K * Cg + int64_t(wi)] == 0.0f) continue;
          const int ca = (k / (d.K / groups)) * Cg + c;
          double dot = 0;
          for (int64_t t = 0; t < d.T; ++t) {
            M_ref[size_t(k * ld + t)] += double(Wj[wi]) * V[size_t(ca * ld + t)];
            dV_ref[size_t(ca * ld + t)] += double(Wj[wi]) * dM[size_t(k * ld + t)];
            dot += double(dM[size_t(k * ld + t)]) * V[size_t(ca * ld + t)];
          }
          dw_ref[size_t(j) * d.K * Cg + wi] += dot;
        }
      CHECK(test::relative_error(M.data(), M_ref.data(), M.size(), 1e-6, "M") < 1e-6);
      CHECK(test::relative_error(dV.data(), dV_ref.data(), dV.size(), 1e-6, "dV") < 1e-6);
      // Masked entries of dw are untouched: exactly their old values.
      size_t changed_masked = 0;
      for (size_t i = 0; i < size_t(d.K) * Cg; ++i) {
        const size_t at = size_t(j) * d.K * Cg + i;
        if (mask[int64_t(at)] == 0.0f && dw[at] != dw_before[at]) ++changed_masked;
      }
      CHECK(changed_masked == 0);
      CHECK(test::relative_error(dw.data(), dw_ref.data(), dw.size(), 1e-6, "dw") < 1e-6);

      // widx null: values and dot results in entry order (w[e], dw[e]). The by-input-row
      // listing with its weights gathered gives the same dV; the by-output-row dots land at
      // their entries.
      const int64_t nnz = pat->nnz();
      std::vector<float> in_order(static_cast<size_t>(nnz));
      for (int64_t e = 0; e < nnz; ++e) in_order[size_t(e)] = Wj[pat->by_c_w[size_t(e)]];
      std::vector<float> dV2(dV.size(), 7.0f);
      masked_rows_product(pat->by_c_start.data() + int64_t(j) * d.C, pat->by_c_src.data(),
                          nullptr, in_order.data(), dM.data(), ld, d.T, dV2.data(), ld, 0, d.C);
      size_t differ = 0;
      for (int c = 0; c < d.C; ++c)
        for (int64_t t = 0; t < d.T; ++t) differ += dV2[size_t(c * ld + t)] != dV[size_t(c * ld + t)];
      CHECK(differ == 0);
      std::vector<float> dots(static_cast<size_t>(nnz), 0.5f);
      masked_rows_dot(pat->by_k_start.data() + int64_t(j) * d.K, pat->by_k_src.data(), nullptr,
                      dM.data(), ld, V.data(), ld, d.T, dots.data(), 0, d.K);
      size_t wrong = 0;
      for (int64_t e = pat->by_k_start[size_t(j) * d.K]; e < pat->by_k_start[size_t(j + 1) * d.K];
           ++e) {
        const size_t at = size_t(j) * d.K * Cg + size_t(pat->by_k_w[size_t(e)]);
        const double want = 0.5 + (dw_ref[at] - double(dw_before[at]));
        wrong += std::abs(dots[size_t(e)] - want) > 1e-5 * (1.0 + std::abs(want));
      }
      CHECK(wrong == 0);
    }
  }
}

TEST_CASE("Winograd layer under a frozen mask matches the double reference", "[winograd][masked]") {
  if (!test::isa_available_or_skip()) return;
  struct Case {
    const char* name;
    ConvShape s;
    double sparsity;
    int64_t chunk_bytes;   // small: several chunks, so dW sums over chunks
  };
  auto shape = [](int N, int C, int H, int W, int K, int r, int pad, int groups, int m) {
    ConvShape s;
    s.N = N, s.C = C, s.H = H, s.W = W, s.K = K, s.r = r, s.pad = pad, s.groups = groups, s.m = m;
    return s;
  };
  const Case cases[] = {
      {"small.conv3 F(4,3) 90%", shape(3, 128, 7, 7, 192, 3, 1, 1, 4), 0.9, int64_t(8) << 20},
      {"small.conv2 F(4,5) groups 2 95%", shape(2, 64, 14, 14, 128, 5, 2, 2, 4), 0.95, 300000},
      {"odd 9x11 C17 K19 F(4,3) 50%", shape(3, 17, 9, 11, 19, 3, 1, 1, 4), 0.5, 20000},
      {"groups 3 F(2,3) 7x9 80%", shape(2, 33, 7, 9, 21, 3, 1, 3, 2), 0.8, int64_t(8) << 20},
      {"all masked", shape(1, 8, 5, 5, 8, 3, 1, 1, 2), 1.0, int64_t(8) << 20},
  };
  uint64_t seed = 70;
  for (const Case& c : cases) {
    const ConvShape& s = c.s;
    INFO(c.name);
    const int t = s.m + s.r - 1, Cg = s.C / s.groups;
    const Shape wshape{t * t, s.K, Cg};
    Tensor mask = test::random_mask(wshape, c.sparsity, ++seed);
    auto x = test::random_vector<float>(size_t(s.N) * s.C * s.H * s.W, ++seed);
    auto w = test::random_vector<float>(size_t(mask.numel()), ++seed, -0.1f, 0.1f);
    for (size_t i = 0; i < w.size(); ++i) w[i] *= mask[int64_t(i)];
    auto b = test::random_vector<float>(size_t(s.K), ++seed);
    auto R = test::random_vector<float>(size_t(s.N) * s.K * s.Ho() * s.Wo(), ++seed);
    auto dw0 = test::random_vector<float>(w.size(), ++seed);   // the weight gradient before
    Var xv = leaf(Tensor::from_vector({s.N, s.C, s.H, s.W}, x), true);
    Var wv = leaf(Tensor::from_vector(wshape, w), true);
    Var bv = leaf(Tensor::from_vector({s.K}, b), true);
    wv->grad_buffer().copy_from(Tensor::from_vector(wshape, dw0));
    WinogradConvParams p;
    p.m = s.m, p.r = s.r, p.pad = s.pad, p.groups = s.groups, p.chunk_bytes = c.chunk_bytes;
    Var y = winograd_conv2d(xv, wv, bv, p, build_masked_product_pattern(mask, s.groups));
    for (const Var& in : y->inputs) in->grad_buffer();
    y->grad = Tensor::from_vector(y->value.shape(), R);
    y->backward_fn(*y);

    auto xd = to_double(x), wd = to_double(w), bd = to_double(b), Rd = to_double(R);
    std::vector<double> y_ref(R.size()), dx_ref(x.size(), 0.0), dw_ref(w.size(), 0.0),
        db_ref(b.size(), 0.0);
    winograd_conv2d_forward_reference<double>(s, xd.data(), wd.data(), bd.data(), y_ref.data());
    winograd_conv2d_backward_data_reference<double>(s, Rd.data(), wd.data(), dx_ref.data());
    winograd_conv2d_backward_weights_reference<double>(s, Rd.data(), xd.data(), dw_ref.data(),
                                                       db_ref.data());
    // Expected dW: dw0 + the reference at unmasked entries, dw0 exactly at masked ones.
    std::vector<double> dw_expect(w.size());
    size_t masked_changed = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      const bool kept = mask[int64_t(i)] != 0.0f;
      dw_expect[i] = dw0[i] + (kept ? dw_ref[i] : 0.0);
      if (!kept && wv->grad[int64_t(i)] != dw0[i]) ++masked_changed;
    }
    CHECK(masked_changed == 0);
    if (c.sparsity < 1.0) {
      CHECK(test::relative_error(y->value.data(), y_ref.data(), y_ref.size(), 2e-6, "y") < 2e-6);
      CHECK(test::relative_error(xv->grad.data(), dx_ref.data(), dx_ref.size(), 2e-6, "dx") <
            2e-6);
    } else {   // no weight left: y is the bias, dx is zero
      for (int64_t i = 0; i < xv->grad.numel(); ++i) REQUIRE(xv->grad[i] == 0.0f);
      CHECK(test::relative_error(y->value.data(), y_ref.data(), y_ref.size(), 1e-7, "y") < 1e-7);
    }
    CHECK(test::relative_error(wv->grad.data(), dw_expect.data(), dw_expect.size(), 2e-6, "dw") <
          2e-6);
    CHECK(test::relative_error(bv->grad.data(), db_ref.data(), db_ref.size(), 1e-6, "db") < 1e-6);
  }
}

TEST_CASE("mask pattern: matches, shape checks", "[winograd][masked]") {
  Tensor mask = test::random_mask({4, 6, 5}, 0.5, 1);
  auto pat = build_masked_product_pattern(mask, 2);
  CHECK(pat->positions == 4);
  CHECK(pat->K == 6);
  CHECK(pat->C == 10);
  int64_t kept = 0;
  for (int64_t i = 0; i < mask.numel(); ++i) kept += mask[i] != 0.0f;
  CHECK(pat->nnz() == kept);
  CHECK(int64_t(pat->by_c_src.size()) == kept);
  CHECK(pat->matches(mask));
  Tensor other = mask.clone();
  other[17] = 1.0f - other[17];
  CHECK_FALSE(pat->matches(other));
  CHECK_FALSE(pat->matches(Tensor::full({4, 6, 4}, 1.0f)));
  CHECK_THROWS_AS(build_masked_product_pattern(mask, 4), InputError);   // 4 does not divide K 6
  CHECK_THROWS_AS(build_masked_product_pattern(Tensor::full({6, 5}, 1.0f), 1), InputError);
  Var x = leaf(Tensor::full({1, 10, 4, 4}, 1.0f));
  Var w = leaf(Tensor::zeros({16, 6, 10}));   // F(2x2,3x3) with groups 1: not the pattern's
  WinogradConvParams p;
  p.m = 2;
  CHECK_THROWS_AS(winograd_conv2d(x, w, Var(), p, pat), InputError);
  // The data gradient's weights from the caller: one per entry, or an error naming them.
  p.groups = 2;
  auto pat2 = build_masked_product_pattern(test::random_mask({16, 6, 5}, 0.5, 2), 2);
  Var w2 = leaf(Tensor::zeros({16, 6, 5}));
  CHECK_NOTHROW(winograd_conv2d(x, w2, Var(), p, pat2, WinogradForward(),
                                Tensor::zeros({pat2->nnz()})));
  try {
    winograd_conv2d(x, w2, Var(), p, pat2, WinogradForward(), Tensor::zeros({pat2->nnz() + 1}));
    FAIL("by_c_weights of the wrong size were accepted");
  } catch (const InputError& e) {
    CHECK_THAT(e.what(), Catch::Contains("by_c_weights of " + std::to_string(pat2->nnz() + 1)));
  }
}

TEST_CASE("the fused ReLU (WinogradConvParams::relu) equals a ReLU after the layer",
          "[winograd][masked]") {
  // Dense path, masked products, and a forward supplied by the caller; forward and the three
  // gradients, against relu(winograd_conv2d(...)) run through the engine's ReLU op.
  if (!test::isa_available_or_skip()) return;
  const int N = 2, C = 12, H = 9, W = 11, K = 10, m = 2, r = 3, t = m + r - 1;
  const Shape wshape{t * t, K, C};
  uint64_t seed = 300;
  const Tensor mask = test::random_mask(wshape, 0.7, ++seed);
  auto x = test::random_vector<float>(size_t(N) * C * H * W, ++seed);
  auto w = test::random_vector<float>(size_t(mask.numel()), ++seed, -0.3f, 0.3f);
  for (size_t i = 0; i < w.size(); ++i) w[i] *= mask[int64_t(i)];
  auto b = test::random_vector<float>(size_t(K), ++seed, -0.2f, 0.2f);
  WinogradConvParams p;
  p.m = m, p.r = r, p.pad = 1;
  const auto pattern = build_masked_product_pattern(mask, 1);
  // A bias without a gradient takes the layer's other ReLU backward (relu_backward_in_place
  // rather than the mask applied inside the bias gradient's pass).
  for (int path_case = 0; path_case < 6; ++path_case) {
    const int path = path_case % 3;   // dense, masked, masked with a supplied forward
    const bool bias_grad = path_case < 3;
    INFO("path " << path << ", bias gradient " << bias_grad);
    struct Run {
      Tensor y, dx, dw, db;
    };
    auto run = [&](bool fused) {
      Var xv = leaf(Tensor::from_vector({N, C, H, W}, x), true);
      Var wv = leaf(Tensor::from_vector(wshape, w), true);
      Var bv = leaf(Tensor::from_vector({K}, b), bias_grad);
      WinogradConvParams q = p;
      q.relu = fused;
      // The supplied forward: the dense path's value, through a no-grad call.
      WinogradForward supplied = [&](const Tensor& in, Tensor& y) {
        NoGradGuard no_grad;
        y.copy_from(winograd_conv2d(leaf(in), wv, bv, q)->value);
      };
      Var conv = path == 0   ? winograd_conv2d(xv, wv, bv, q)
                 : path == 1 ? winograd_conv2d(xv, wv, bv, q, pattern)
                             : winograd_conv2d(xv, wv, bv, q, pattern, supplied);
      Var y = fused ? conv : relu(conv);
      Tensor R = Tensor::from_vector(y->value.shape(),
                                     test::random_vector<float>(size_t(y->value.numel()), 400));
      for (const Var& in : {xv, wv, bv})
        if (in->requires_grad) in->grad_buffer();
      y->grad = R;
      if (!fused) {
        conv->grad_buffer();
        y->backward_fn(*y);
      }
      conv->backward_fn(*conv);
      return Run{y->value, xv->grad, wv->grad, bv->grad};
    };
    const Run got = run(true), want = run(false);
    int64_t zeros = 0;
    for (int64_t i = 0; i < want.y.numel(); ++i) zeros += want.y[i] == 0.0f;
    CHECK(zeros > want.y.numel() / 5);   // the ReLU clipped a good share
    CHECK(test::relative_error(got.y.data(), want.y.data(), size_t(got.y.numel()), 1e-7, "y") <
          1e-7);
    CHECK(test::relative_error(got.dx.data(), want.dx.data(), size_t(got.dx.numel()), 1e-7,
                               "dx") < 1e-7);
    CHECK(test::relative_error(got.dw.data(), want.dw.data(), size_t(got.dw.numel()), 1e-7,
                               "dw") < 1e-7);
    if (bias_grad)
      CHECK(test::relative_error(got.db.data(), want.db.data(), size_t(got.db.numel()), 1e-7,
                                 "db") < 1e-7);
    else
      CHECK_FALSE(got.db.defined());
  }
}
