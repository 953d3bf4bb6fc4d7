#include "op_check.h"
#include "winoprune/ops/linear_reference.h"
#include "winoprune/ops/ops.h"
#include "winoprune/ops/packed_linear.h"

using namespace wp;
using namespace wp::test;

TEST_CASE("linear reference gradients match central differences", "[ops][linear]") {
  struct Dims { int N, I, O; };
  for (Dims d : {Dims{1, 7, 3}, Dims{3, 5, 9}, Dims{4, 13, 1}}) {
    INFO("N " << d.N << " in " << d.I << " out " << d.O);
    RefOp op;
    op.inputs = {to_double(random_vector<float>(d.N * d.I, 1)),
                 to_double(random_vector<float>(d.O * d.I, 2)),
                 to_double(random_vector<float>(d.O, 3))};
    op.forward = [d](const std::vector<std::vector<double>>& in) {
      std::vector<double> y(d.N * d.O);
      linear_forward_reference(y.data(), in[0].data(), in[1].data(), in[2].data(), d.N, d.I, d.O);
      return y;
    };
    op.backward = [d](std::vector<std::vector<double>>& g, const std::vector<double>& dy,
                      const std::vector<std::vector<double>>& in) {
      linear_backward_reference(g[0].data(), g[1].data(), g[2].data(), dy.data(), in[0].data(),
                                in[1].data(), d.N, d.I, d.O);
    };
    // Linear in each element: central differences exact up to rounding.
    GradCheckResult r = check_gradients(op, 1e-3);
    CHECK(r.checked > 0);
    CHECK(r.max_rel_err < 1e-8);
  }
}

TEST_CASE("linear fast path matches the reference", "[ops][linear]") {
  struct Dims { int N, I, O; };
  // Outputs > 4 x rows take the transposed forward (y^T = w x^T) unless there are 2 to 4 rows:
  // transposed {1, 9216, 40}, {1, 9, 5}, {5, 70, 131} (not a multiple of its 64-output blocks),
  // {8, 300, 1000}, and {5, 20, 21} just past the boundary that {5, 20, 20} stays at; plain
  // although wide {2, 9216, 40}, {3, 70, 131}, {4, 20, 17}.
  for (Dims d : {Dims{1, 7, 3}, Dims{3, 5, 9}, Dims{17, 33, 65}, Dims{128, 1152, 512},
                 Dims{1, 9216, 40}, Dims{5, 512, 10}, Dims{1, 9, 5}, Dims{5, 70, 131},
                 Dims{8, 300, 1000}, Dims{5, 20, 20}, Dims{5, 20, 21}, Dims{2, 9216, 40},
                 Dims{3, 70, 131}, Dims{4, 20, 17}}) {
    for (bool with_bias : {true, false}) {
      INFO("N " << d.N << " in " << d.I << " out " << d.O << (with_bias ? " bias" : ""));
      const Tensor x = random_tensor({d.N, d.I}, 4);
      const Tensor w = random_tensor({d.O, d.I}, 5, -0.1f, 0.1f);
      const Tensor b = with_bias ? random_tensor({d.O}, 6) : Tensor();
      const std::vector<float> G = random_vector<float>(d.N * d.O, 7);
      AutogradRun run = run_with_output_grad(
          [](const std::vector<Var>& in) { return linear(in[0], in[1], in[2]); }, {x, w, b}, G);
      REQUIRE(run.output_shape == Shape{d.N, d.O});
      std::vector<float> y(d.N * d.O), dx(d.N * d.I, 0.f), dw(d.O * d.I, 0.f), db(d.O, 0.f);
      linear_forward_reference(y.data(), x.data(), w.data(), with_bias ? b.data() : nullptr, d.N,
                               d.I, d.O);
      linear_backward_reference(dx.data(), dw.data(), with_bias ? db.data() : nullptr, G.data(),
                                x.data(), w.data(), d.N, d.I, d.O);
      // fp32 dot products of up to 9216 terms: measured below 5e-7.
      CHECK(relative_error(run.output.data(), y.data(), y.size(), 1e-5, "y") < 1e-5);
      CHECK(relative_error(run.grads[0].data(), dx.data(), dx.size(), 1e-5, "dx") < 1e-5);
      CHECK(relative_error(run.grads[1].data(), dw.data(), dw.size(), 1e-5, "dw") < 1e-5);
      if (with_bias)
        CHECK(relative_error(run.grads[2].data(), db.data(), db.size(), 1e-5, "db") < 1e-5);
    }
  }
}

TEST_CASE("linear writes fresh gradients without reading them and adds into existing ones",
          "[ops][linear]") {
  // zero_grad() releases gradients, so the GEMMs write a buffer just allocated with beta 0
  // (Node::grad_target). Such a buffer holds whatever its last user left: the loss poisons a
  // block of the weight gradient's size (1.2 MB) first (seeding_loss); a GEMM that read it
  // would return NaN.
  const int N = 5, I = 1001, O = 300;
  const Tensor x = random_tensor({N, I}, 11);
  const Tensor w = random_tensor({O, I}, 12, -0.1f, 0.1f);
  const std::vector<float> G = random_vector<float>(N * O, 13);
  std::vector<float> dx(N * I, 0.f), dw(O * I, 0.f);
  linear_backward_reference(dx.data(), dw.data(), static_cast<float*>(nullptr), G.data(), x.data(),
                            w.data(), N, I, O);
  Var xv = leaf(x, true), wv = leaf(w, true);
  const void* poisoned = nullptr;
  auto step = [&](bool poison) {
    Var y = linear(xv, wv, Var());
    backward(seeding_loss(y, G, wv->value.shape(), poison ? &poisoned : nullptr));
  };
  step(true);
  CHECK(static_cast<const void*>(wv->grad.data()) == poisoned);   // the test reached the case
  CHECK(relative_error(wv->grad.data(), dw.data(), dw.size(), 1e-5, "fresh dw") < 1e-5);
  CHECK(relative_error(xv->grad.data(), dx.data(), dx.size(), 1e-5, "fresh dx") < 1e-5);
  step(false);   // no zero_grad: both gradients add a second contribution
  std::vector<float> dw2(dw), dx2(dx);
  for (float& v : dw2) v *= 2.0f;
  for (float& v : dx2) v *= 2.0f;
  CHECK(relative_error(wv->grad.data(), dw2.data(), dw2.size(), 1e-5, "added dw") < 1e-5);
  CHECK(relative_error(xv->grad.data(), dx2.data(), dx2.size(), 1e-5, "added dx") < 1e-5);
  // Released (the optimizer's zero_grad): the next backward writes the same buffer afresh.
  const float* buffer = wv->grad.data();
  wv->release_grad();
  CHECK_FALSE(wv->grad.defined());
  step(false);
  CHECK(wv->grad.data() == buffer);
  CHECK(relative_error(wv->grad.data(), dw.data(), dw.size(), 1e-5, "dw after release") < 1e-5);
}

TEST_CASE("linear rejects mismatched shapes with an InputError naming them", "[ops][linear]") {
  Var x = leaf(Tensor::zeros({4, 6}));
  REQUIRE_THROWS_WITH(linear(x, leaf(Tensor::zeros({3, 5})), Var()),
                      Catch::Contains("[4, 6]") && Catch::Contains("[3, 5]"));
  REQUIRE_THROWS_AS(linear(x, leaf(Tensor::zeros({3, 5})), Var()), InputError);
  REQUIRE_THROWS_AS(linear(x, leaf(Tensor::zeros({3, 6})), leaf(Tensor::zeros({4}))), InputError);
  REQUIRE_THROWS_AS(linear(leaf(Tensor::zeros({4, 2, 3})), leaf(Tensor::zeros({3, 6})), Var()),
                    InputError);
}

TEST_CASE("packed linear (inference) matches the reference at every batch size", "[ops][linear]") {
  struct Dims { int I, O; };
  for (Dims d : {Dims{33, 17}, Dims{1152, 512}, Dims{300, 1000}, Dims{7, 1}}) {
    for (bool with_bias : {true, false}) {
      const Tensor w = random_tensor({d.O, d.I}, 15, -0.1f, 0.1f);
      const Tensor b = with_bias ? random_tensor({d.O}, 16) : Tensor();
      PackedLinear packed(w, b);
      for (int N : {1, 2, 3, 5, 64, 2}) {   // 2 again: a cached primitive
        INFO("N " << N << " in " << d.I << " out " << d.O << (with_bias ? " bias" : ""));
        const Tensor x = random_tensor({N, d.I}, 17 + N);
        std::vector<float> y(size_t(N) * d.O);
        linear_forward_reference(y.data(), x.data(), w.data(), with_bias ? b.data() : nullptr, N,
                                 d.I, d.O);
        const Tensor got = packed.forward(x);
        REQUIRE(got.shape() == Shape{N, d.O});
        CHECK(relative_error(got.data(), y.data(), y.size(), 1e-5, "y") < 1e-5);
      }
    }
  }
  const Tensor w = random_tensor({4, 6}, 1);
  CHECK_THROWS_AS(PackedLinear(w, random_tensor({5}, 2)), InputError);
  CHECK_THROWS_AS(PackedLinear(random_tensor({4, 6, 1}, 3), Tensor()), InputError);
  PackedLinear packed(w, Tensor());
  CHECK_THROWS_AS(packed.forward(random_tensor({2, 5}, 4)), InputError);
}
