#include <cmath>

#include "op_check.h"
#include "winoprune/ops/distillation_loss_reference.h"
#include "winoprune/ops/ops.h"

using namespace wp;
using namespace wp::test;

TEST_CASE("distillation_loss on a hand-computed case", "[ops][distillation]") {
  // One row, two classes, T = 2, a = 0.5. z = [0, 2], t = [2, 0], label 1.
  //   hard = log(1 + e^2) - 2 = log(1 + e^-2)
  //   pT = softmax([0, 1]) = [1/(1+e), e/(1+e)], qT = softmax([1, 0]) = [e/(1+e), 1/(1+e)]
  //   KL(qT || pT) = qT0 log(qT0/pT0) + qT1 log(qT1/pT1) = (e - 1)/(1 + e) * 1 + ... = (e-1)/(e+1)
  const double e = std::exp(1.0);
  const double hard = std::log(1 + std::exp(-2.0));
  const double kl = (e / (1 + e)) * 1.0 + (1 / (1 + e)) * -1.0;
  const double expect = 0.5 * hard + 0.5 * 4 * kl;
  Var z = leaf(Tensor::from_vector({1, 2}, {0, 2}), true);
  Var loss = distillation_loss(z, Tensor::from_vector({1, 2}, {2, 0}), {1}, 2.0f, 0.5f);
  CHECK(loss->value[0] == Approx(expect).epsilon(1e-6));
  backward(loss);
  // dz = 0.5 (p - onehot) + 0.5 * 2 (pT - qT)
  const double p0 = 1 / (1 + e * e), pT0 = 1 / (1 + e), qT0 = e / (1 + e);
  CHECK(z->grad[0] == Approx(0.5 * p0 + (pT0 - qT0)).margin(1e-7));
  CHECK(z->grad[1] == Approx(0.5 * (1 - p0 - 1) + (qT0 - pT0)).margin(1e-7));
}

TEST_CASE("distillation_loss with weight 0 is the cross-entropy, with the teacher equal to the "
          "student the soft term is 0",
          "[ops][distillation]") {
  const Tensor z = random_tensor({7, 10}, 3, -4.f, 4.f);
  const std::vector<int32_t> labels = {0, 3, 9, 1, 1, 5, 7};
  Var ce = softmax_cross_entropy(leaf(z), labels);
  Var kd0 = distillation_loss(leaf(z), random_tensor({7, 10}, 4), labels, 3.0f, 0.0f);
  CHECK(kd0->value[0] == Approx(ce->value[0]).epsilon(1e-6));
  Var self = distillation_loss(leaf(z), z, labels, 3.0f, 1.0f);
  CHECK(std::fabs(self->value[0]) < 1e-6);
}

TEST_CASE("distillation_loss reference gradient and fast path", "[ops][distillation]") {
  for (auto [N, M, T, a] : {std::tuple{1, 2, 1.0, 0.5}, std::tuple{5, 10, 4.0, 0.9},
                            std::tuple{3, 1000, 2.0, 0.3}, std::tuple{128, 10, 8.0, 1.0}}) {
    INFO("N " << N << " classes " << M << " T " << T << " weight " << a);
    std::vector<int32_t> labels(N);
    for (int n = 0; n < N; ++n) labels[n] = (n * 7 + 3) % M;
    const std::vector<double> teacher = to_double(random_vector<float>(N * M, 5, -5.f, 5.f));
    RefOp op;
    op.inputs = {to_double(random_vector<float>(N * M, 1, -3.f, 3.f))};
    op.forward = [&](const std::vector<std::vector<double>>& in) {
      return std::vector<double>{distillation_loss_forward_reference(
          in[0].data(), teacher.data(), labels.data(), N, M, T, a)};
    };
    op.backward = [&](std::vector<std::vector<double>>& g, const std::vector<double>& dloss,
                      const std::vector<std::vector<double>>& in) {
      distillation_loss_backward_reference(g[0].data(), dloss[0], in[0].data(), teacher.data(),
                                           labels.data(), N, M, T, a);
    };
    GradCheckResult r = check_gradients(op, 1e-4, 1000);
    CHECK(r.checked > 0);
    CHECK(r.max_rel_err < 1e-8);

    const Tensor z = random_tensor({N, M}, 2, -3.f, 3.f);
    const Tensor t = random_tensor({N, M}, 6, -5.f, 5.f);
    const std::vector<float> G = {0.7f};
    AutogradRun run = run_with_output_grad(
        [&](const std::vector<Var>& in) {
          return distillation_loss(in[0], t, labels, float(T), float(a));
        },
        {z}, G);
    const float loss = distillation_loss_forward_reference(z.data(), t.data(), labels.data(), N,
                                                           M, T, a);
    std::vector<float> dz(N * M, 0.f);
    distillation_loss_backward_reference(dz.data(), 0.7f, z.data(), t.data(), labels.data(), N, M,
                                         T, a);
    CHECK(run.output[0] == Approx(loss).epsilon(1e-5));
    CHECK(relative_error(run.grads[0].data(), dz.data(), dz.size(), 1e-6, "dz") < 1e-5);
  }
}

TEST_CASE("distillation_loss rejects bad shapes, labels and settings", "[ops][distillation]") {
  Var z = leaf(Tensor::zeros({2, 3}), true);
  const Tensor t = Tensor::zeros({2, 3});
  REQUIRE_THROWS_WITH(distillation_loss(z, Tensor::zeros({2, 4}), {0, 1}, 2, 0.5f),
                      Catch::Contains("[2, 4]"));
  REQUIRE_THROWS_AS(distillation_loss(z, t, {0, 3}, 2, 0.5f), InputError);
  REQUIRE_THROWS_AS(distillation_loss(z, t, {0}, 2, 0.5f), InputError);
  REQUIRE_THROWS_AS(distillation_loss(z, t, {0, 1}, 0, 0.5f), InputError);
  REQUIRE_THROWS_AS(distillation_loss(z, t, {0, 1}, 2, 1.5f), InputError);
}
