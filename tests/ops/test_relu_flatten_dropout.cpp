#include <cmath>

#include "op_check.h"
#include "winoprune/ops/dropout_reference.h"
#include "winoprune/ops/ops.h"
#include "winoprune/ops/relu_reference.h"

using namespace wp;
using namespace wp::test;

TEST_CASE("relu reference gradient matches central differences away from the kink",
          "[ops][relu]") {
  RefOp op;
  op.inputs = {to_double(random_vector<float>(301, 1))};
  op.forward = [](const std::vector<std::vector<double>>& in) {
    std::vector<double> y(in[0].size());
    relu_forward_reference(y.data(), in[0].data(), int64_t(y.size()));
    return y;
  };
  op.backward = [](std::vector<std::vector<double>>& g, const std::vector<double>& dy,
                   const std::vector<std::vector<double>>& in) {
    relu_backward_reference(g[0].data(), dy.data(), in[0].data(), int64_t(dy.size()));
  };
  const double h = 1e-4;
  // Kink guard: an element within 2h of 0 may cross it during the finite difference.
  op.near_kink = [&op](int which, size_t i, double step) {
    return std::fabs(op.inputs[which][i]) < 2 * step;
  };
  GradCheckResult r = check_gradients(op, h, 1000);
  CHECK(r.checked > 280);
  CHECK(r.max_rel_err < 1e-9);
}

TEST_CASE("relu fast path matches the reference, zeros included", "[ops][relu]") {
  for (int64_t n : {1, 7, 1000, 100003}) {
    std::vector<float> v = random_vector<float>(n, 2);
    for (int64_t i = 0; i < n; i += 5) v[i] = 0.0f;   // the kink: gradient 0 by contract
    const Tensor x = Tensor::from_vector({n}, v);
    const std::vector<float> G = random_vector<float>(n, 3);
    AutogradRun run =
        run_with_output_grad([](const std::vector<Var>& in) { return relu(in[0]); }, {x}, G);
    std::vector<float> y(n), dx(n, 0.f);
    relu_forward_reference(y.data(), x.data(), n);
    relu_backward_reference(dx.data(), G.data(), x.data(), n);
    CHECK(run.output == y);       // exact: no arithmetic
    CHECK(run.grads[0] == dx);
  }
}

TEST_CASE("flatten is a view and passes gradients back in place", "[ops][flatten]") {
  const Tensor x = random_tensor({3, 4, 5, 2}, 4);
  const std::vector<float> G = random_vector<float>(120, 5);
  AutogradRun run =
      run_with_output_grad([](const std::vector<Var>& in) { return flatten(in[0]); }, {x}, G);
  CHECK(run.output_shape == Shape{3, 40});
  CHECK(run.output == x.to_vector());
  CHECK(run.grads[0] == G);
  Var v = leaf(x);
  CHECK(flatten(v)->value.shares_storage(x));
}

TEST_CASE("dropout matches its reference, scales survivors and is identity in eval",
          "[ops][dropout]") {
  const int64_t n = 40000;
  const Tensor x = random_tensor({8, n / 8}, 6);
  const std::vector<float> G = random_vector<float>(n, 7);
  const float p = 0.5f;
  Rng rng(42, 1);
  AutogradRun run = run_with_output_grad(
      [&](const std::vector<Var>& in) { return dropout(in[0], p, true, rng); }, {x}, G);
  // The same key the op drew: the first two draws of an identical Rng.
  Rng replay(42, 1);
  const uint64_t key = (uint64_t(replay.next_u32()) << 32) | replay.next_u32();
  std::vector<float> y(n), mask(n), dx(n, 0.f);
  dropout_forward_reference(y.data(), mask.data(), x.data(), n, p, key);
  dropout_backward_reference(dx.data(), G.data(), mask.data(), n);
  CHECK(run.output == y);
  CHECK(run.grads[0] == dx);
  int64_t kept = 0, other = 0;
  for (float m : mask) {
    kept += m == 2.0f;
    other += m != 0.0f && m != 2.0f;
  }
  CHECK(other == 0);
  // Binomial(40000, 0.5): sd 100; 6 sd.
  CHECK(std::abs(kept - n / 2) < 600);
  CHECK(rng.state() == replay.state());   // exactly one key drawn per call

  Var v = leaf(x, true);
  CHECK(dropout(v, p, false, rng) == v);
  CHECK(dropout(v, 0.0f, true, rng) == v);
  REQUIRE_THROWS_AS(dropout(v, 1.0f, true, rng), InputError);
  REQUIRE_THROWS_AS(dropout(v, -0.1f, true, rng), InputError);
}

TEST_CASE("dropout reference gradient matches central differences", "[ops][dropout]") {
  RefOp op;
  op.inputs = {to_double(random_vector<float>(257, 8))};
  op.forward = [](const std::vector<std::vector<double>>& in) {
    std::vector<double> y(in[0].size()), mask(in[0].size());
    dropout_forward_reference(y.data(), mask.data(), in[0].data(), int64_t(y.size()), 0.3f, 1234);
    return y;
  };
  op.backward = [](std::vector<std::vector<double>>& g, const std::vector<double>& dy,
                   const std::vector<std::vector<double>>& in) {
    std::vector<double> y(dy.size()), mask(dy.size());
    dropout_forward_reference(y.data(), mask.data(), in[0].data(), int64_t(y.size()), 0.3f, 1234);
    dropout_backward_reference(g[0].data(), dy.data(), mask.data(), int64_t(dy.size()));
  };
  GradCheckResult r = check_gradients(op, 1e-3, 1000);
  CHECK(r.checked == 257);
  CHECK(r.max_rel_err < 1e-9);
}
