#include <cmath>

#include "op_check.h"
#include "winoprune/ops/max_pool2d_reference.h"
#include "winoprune/ops/ops.h"

using namespace wp;
using namespace wp::test;

namespace {
struct PoolDims { int N, C, H, W, kernel, stride; };
int out_size(int in, const PoolDims& d) { return (in - d.kernel) / d.stride + 1; }
int64_t y_size(const PoolDims& d) {
  return int64_t(d.N) * d.C * out_size(d.H, d) * out_size(d.W, d);
}
}  // namespace

TEST_CASE("max_pool2d reference gradient matches central differences away from ties",
          "[ops][max_pool2d]") {
  for (PoolDims d : {PoolDims{1, 3, 7, 6, 3, 2}, PoolDims{2, 2, 7, 7, 2, 2},
                     PoolDims{1, 1, 9, 5, 3, 1}}) {
    INFO("N" << d.N << " C" << d.C << " " << d.H << "x" << d.W << " k" << d.kernel << " s"
              << d.stride);
    RefOp op;
    op.inputs = {to_double(random_vector<float>(int64_t(d.N) * d.C * d.H * d.W, 1))};
    op.forward = [d](const std::vector<std::vector<double>>& in) {
      std::vector<double> y(y_size(d));
      max_pool2d_forward_reference(y.data(), in[0].data(), d.N, d.C, d.H, d.W, d.kernel, d.stride);
      return y;
    };
    op.backward = [d](std::vector<std::vector<double>>& g, const std::vector<double>& dy,
                      const std::vector<std::vector<double>>& in) {
      max_pool2d_backward_reference(g[0].data(), dy.data(), in[0].data(), d.N, d.C, d.H, d.W,
                                    d.kernel, d.stride);
    };
    // Kink guard: the max of a window switches when two of its elements cross. Skip an element
    // if any element that can share a window with it (within kernel-1 rows and columns) is
    // within 2h of its value.
    op.near_kink = [&op, d](int, size_t i, double h) {
      const auto& x = op.inputs[0];
      const size_t plane = size_t(d.H) * d.W, base = i / plane * plane;
      const int r = int((i % plane) / d.W), c = int(i % d.W);
      for (int rr = std::max(0, r - d.kernel + 1); rr < std::min(d.H, r + d.kernel); ++rr)
        for (int cc = std::max(0, c - d.kernel + 1); cc < std::min(d.W, c + d.kernel); ++cc) {
          const size_t j = base + size_t(rr) * d.W + cc;
          if (j != i && std::fabs(x[j] - x[i]) < 2 * h) return true;
        }
      return false;
    };
    GradCheckResult r = check_gradients(op, 1e-5, 1000);
    CHECK(r.checked > r.skipped * 5);
    CHECK(r.max_rel_err < 1e-9);
  }
}

TEST_CASE("max_pool2d fast path matches the reference, floor mode and ties included",
          "[ops][max_pool2d]") {
  for (PoolDims d : {PoolDims{2, 3, 7, 7, 2, 2}, PoolDims{3, 5, 13, 13, 3, 2},
                     PoolDims{1, 4, 9, 11, 3, 3}, PoolDims{2, 64, 28, 28, 2, 2},
                     PoolDims{1, 96, 55, 55, 3, 2}, PoolDims{2, 17, 6, 5, 3, 1},
                     PoolDims{1, 3, 4, 4, 4, 4}}) {
    for (bool relu_ties : {false, true}) {
      INFO("N" << d.N << " C" << d.C << " " << d.H << "x" << d.W << " k" << d.kernel << " s"
                << d.stride << (relu_ties ? " with zero ties" : ""));
      std::vector<float> v = random_vector<float>(int64_t(d.N) * d.C * d.H * d.W, 2);
      // After a ReLU whole windows are 0: the gradient must go to the first of the tied zeros.
      if (relu_ties)
        for (float& e : v) e = std::max(e - 0.6f, 0.0f);
      const Tensor x = Tensor::from_vector({d.N, d.C, d.H, d.W}, v);
      const std::vector<float> G = random_vector<float>(y_size(d), 3);
      AutogradRun run = run_with_output_grad(
          [d](const std::vector<Var>& in) { return max_pool2d(in[0], d.kernel, d.stride); }, {x},
          G);
      REQUIRE(run.output_shape == Shape{d.N, d.C, out_size(d.H, d), out_size(d.W, d)});
      std::vector<float> y(y_size(d)), dx(v.size(), 0.f);
      max_pool2d_forward_reference(y.data(), x.data(), d.N, d.C, d.H, d.W, d.kernel, d.stride);
      max_pool2d_backward_reference(dx.data(), G.data(), x.data(), d.N, d.C, d.H, d.W, d.kernel,
                                    d.stride);
      CHECK(run.output == y);   // a max is exact
      // Overlapping windows (3/2) sum up to 4 contributions, possibly in another order.
      CHECK(relative_error(run.grads[0].data(), dx.data(), dx.size(), 1e-6, "dx") < 1e-6);
    }
  }
}

TEST_CASE("max_pool2d without gradients keeps no graph and rejects bad shapes",
          "[ops][max_pool2d]") {
  Var x = leaf(random_tensor({2, 3, 7, 7}, 4), true);
  {
    NoGradGuard guard;
    Var y = max_pool2d(x, 2, 2);
    CHECK(y->value.shape() == Shape{2, 3, 3, 3});
    CHECK_FALSE(y->requires_grad);
  }
  REQUIRE_THROWS_WITH(max_pool2d(x, 8, 2), Catch::Contains("[2, 3, 7, 7]"));
  REQUIRE_THROWS_AS(max_pool2d(x, 8, 2), InputError);
  REQUIRE_THROWS_AS(max_pool2d(x, 2, 0), InputError);
  REQUIRE_THROWS_AS(max_pool2d(leaf(Tensor::zeros({3, 7, 7})), 2, 2), InputError);
}
