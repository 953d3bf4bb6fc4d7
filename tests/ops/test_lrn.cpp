#include "op_check.h"
#include "winoprune/ops/lrn_reference.h"
#include "winoprune/ops/ops.h"

using namespace wp;
using namespace wp::test;

namespace {
struct LrnCase { int N, C, H, W, size; float alpha, beta, k; };
}

TEST_CASE("lrn reference gradient matches central differences", "[ops][lrn]") {
  // alpha large enough that the cross-channel term matters (at Caffe's 1e-4 it is ~1e-4 of dx).
  for (LrnCase c : {LrnCase{1, 7, 3, 2, 5, 0.5f, 0.75f, 1.0f},
                    LrnCase{2, 3, 2, 3, 5, 1.0f, 0.75f, 2.0f},
                    LrnCase{1, 9, 1, 5, 3, 0.8f, 0.6f, 1.0f}}) {
    INFO("N" << c.N << " C" << c.C << " size " << c.size << " alpha " << c.alpha);
    RefOp op;
    op.inputs = {to_double(random_vector<float>(int64_t(c.N) * c.C * c.H * c.W, 1, -2.f, 2.f))};
    op.forward = [c](const std::vector<std::vector<double>>& in) {
      std::vector<double> y(in[0].size());
      lrn_forward_reference(y.data(), in[0].data(), c.N, c.C, c.H, c.W, c.size, c.alpha, c.beta,
                            c.k);
      return y;
    };
    op.backward = [c](std::vector<std::vector<double>>& g, const std::vector<double>& dy,
                      const std::vector<std::vector<double>>& in) {
      lrn_backward_reference(g[0].data(), dy.data(), in[0].data(), c.N, c.C, c.H, c.W, c.size,
                             c.alpha, c.beta, c.k);
    };
    // Smooth: central-difference error O(h^2) ~ 1e-8 at h = 1e-4; measured below 1e-9.
    GradCheckResult r = check_gradients(op, 1e-4);
    CHECK(r.checked == op.inputs[0].size());
    CHECK(r.max_rel_err < 1e-7);
  }
}

TEST_CASE("lrn fast path matches the reference", "[ops][lrn]") {
  // Caffe's parameters on AlexNet-like and awkward shapes (C < size, C not a multiple of 16),
  // then large alpha and other beta / k / size so the cross-channel term is exercised.
  const std::vector<LrnCase> cases = {
      {1, 7, 5, 3, 5, 1e-4f, 0.75f, 1.0f},    {2, 17, 9, 9, 5, 1e-4f, 0.75f, 1.0f},
      {2, 96, 13, 13, 5, 1e-4f, 0.75f, 1.0f}, {1, 96, 55, 55, 5, 1e-4f, 0.75f, 1.0f},
      {3, 3, 6, 7, 5, 1e-4f, 0.75f, 1.0f},    {2, 20, 5, 5, 5, 0.5f, 0.75f, 1.0f},
      {2, 20, 5, 5, 3, 2.0f, 0.6f, 2.0f}};
  for (LrnCase c : cases) {
    INFO("N" << c.N << " C" << c.C << " " << c.H << "x" << c.W << " size " << c.size << " alpha "
              << c.alpha << " beta " << c.beta << " k " << c.k);
    // Scale like AlexNet's conv1 output (values up to ~50) so that the normalization bites.
    const Tensor x = random_tensor({c.N, c.C, c.H, c.W}, 2, -30.f, 30.f);
    const std::vector<float> G = random_vector<float>(x.numel(), 3);
    AutogradRun run = run_with_output_grad(
        [c](const std::vector<Var>& in) { return lrn(in[0], c.size, c.alpha, c.beta, c.k); }, {x},
        G);
    std::vector<float> y(x.numel()), dx(x.numel(), 0.f);
    lrn_forward_reference(y.data(), x.data(), c.N, c.C, c.H, c.W, c.size, c.alpha, c.beta, c.k);
    lrn_backward_reference(dx.data(), G.data(), x.data(), c.N, c.C, c.H, c.W, c.size, c.alpha,
                           c.beta, c.k);
    CHECK(relative_error(run.output.data(), y.data(), y.size(), 1e-5, "y") < 1e-5);
    CHECK(relative_error(run.grads[0].data(), dx.data(), dx.size(), 1e-5, "dx") < 1e-5);
  }
}

TEST_CASE("lrn inference path (no gradient) matches the reference", "[ops][lrn]") {
  // Without a gradient the forward runs on plain NCHW (no blocked copies): a different
  // primitive from the training path's, checked on the same awkward shapes.
  for (LrnCase c : {LrnCase{1, 7, 5, 3, 5, 1e-4f, 0.75f, 1.0f}, LrnCase{2, 17, 9, 9, 5, 1e-4f, 0.75f, 1.0f},
                    LrnCase{2, 96, 13, 13, 5, 1e-4f, 0.75f, 1.0f}, LrnCase{3, 3, 6, 7, 5, 1e-4f, 0.75f, 1.0f},
                    LrnCase{2, 20, 5, 5, 3, 2.0f, 0.6f, 2.0f}}) {
    INFO("N" << c.N << " C" << c.C << " " << c.H << "x" << c.W << " size " << c.size);
    const Tensor x = random_tensor({c.N, c.C, c.H, c.W}, 4, -30.f, 30.f);
    std::vector<float> y(x.numel());
    lrn_forward_reference(y.data(), x.data(), c.N, c.C, c.H, c.W, c.size, c.alpha, c.beta, c.k);
    for (bool requires_grad : {false, true}) {
      NoGradGuard no_grad;   // inference either way: grad mode off
      Var out = lrn(leaf(x.clone(), requires_grad), c.size, c.alpha, c.beta, c.k);
      CHECK(relative_error(out->value.data(), y.data(), y.size(), 1e-5, "y") < 1e-5);
    }
  }
}

TEST_CASE("lrn rejects bad shapes and parameters", "[ops][lrn]") {
  Var x = leaf(Tensor::zeros({2, 5, 3, 3}), true);
  REQUIRE_THROWS_WITH(lrn(leaf(Tensor::zeros({5, 3, 3})), 5), Catch::Contains("[5, 3, 3]"));
  REQUIRE_THROWS_AS(lrn(x, 4), InputError);
  REQUIRE_THROWS_AS(lrn(x, 5, 1e-4f, 0.75f, 0.0f), InputError);
}
