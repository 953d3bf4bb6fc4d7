#include <cmath>

#include "op_check.h"
#include "winoprune/ops/ops.h"
#include "winoprune/ops/softmax_cross_entropy_reference.h"

using namespace wp;
using namespace wp::test;

TEST_CASE("softmax_cross_entropy value on a hand-computed case", "[ops][softmax_ce]") {
  // Row 0: log(e^1 + e^2 + e^3) - 3 = log(1 + e^-1 + e^-2) = 0.4076059644
  // Row 1: log 3 = 1.0986122887;  mean 0.7531091265
  Var z = leaf(Tensor::from_vector({2, 3}, {1, 2, 3, 0, 0, 0}), true);
  Var loss = softmax_cross_entropy(z, {2, 1});
  REQUIRE(loss->value.numel() == 1);
  CHECK(loss->value[0] == Approx(0.7531091265).epsilon(1e-6));
  backward(loss);
  // d/dz = (softmax - onehot) / 2
  const double e1 = std::exp(1.0), e2 = std::exp(2.0), e3 = std::exp(3.0), s = e1 + e2 + e3;
  const std::vector<double> expect = {e1 / s / 2, e2 / s / 2, (e3 / s - 1) / 2,
                                      1.0 / 6, (1.0 / 3 - 1) / 2, 1.0 / 6};
  for (int i = 0; i < 6; ++i) CHECK(z->grad[i] == Approx(expect[i]).margin(1e-7));
}

TEST_CASE("softmax_cross_entropy is stable for huge logits", "[ops][softmax_ce]") {
  // Row 0: log(1 + e^-1000) = 0;  row 1: label logit -1000 against 1000: 2000. Mean 1000.
  Var z = leaf(Tensor::from_vector({2, 2}, {1000, 0, -1000, 1000}), true);
  Var loss = softmax_cross_entropy(z, {0, 0});
  CHECK(loss->value[0] == Approx(1000.0f));
  backward(loss);
  for (int i = 0; i < 4; ++i) CHECK(std::isfinite(z->grad[i]));
  CHECK(z->grad[2] == Approx(-0.5f));
  CHECK(z->grad[3] == Approx(0.5f));
}

TEST_CASE("softmax_cross_entropy reference gradient and fast path", "[ops][softmax_ce]") {
  for (auto [N, M] : {std::pair{1, 2}, std::pair{5, 10}, std::pair{3, 1000}, std::pair{128, 10}}) {
    INFO("N " << N << " classes " << M);
    std::vector<int32_t> labels(N);
    for (int n = 0; n < N; ++n) labels[n] = (n * 7 + 3) % M;
    RefOp op;
    op.inputs = {to_double(random_vector<float>(N * M, 1, -3.f, 3.f))};
    op.forward = [&](const std::vector<std::vector<double>>& in) {
      std::vector<double> loss(1), probs(N * M);
      softmax_cross_entropy_forward_reference(loss.data(), probs.data(), in[0].data(),
                                              labels.data(), N, M);
      return loss;
    };
    op.backward = [&](std::vector<std::vector<double>>& g, const std::vector<double>& dloss,
                      const std::vector<std::vector<double>>& in) {
      std::vector<double> loss(1), probs(N * M);
      softmax_cross_entropy_forward_reference(loss.data(), probs.data(), in[0].data(),
                                              labels.data(), N, M);
      softmax_cross_entropy_backward_reference(g[0].data(), dloss[0], probs.data(), labels.data(),
                                               N, M);
    };
    GradCheckResult r = check_gradients(op, 1e-4, 1000);
    CHECK(r.max_rel_err < 1e-8);

    const Tensor z = random_tensor({N, M}, 2, -3.f, 3.f);
    const std::vector<float> G = {0.7f};
    AutogradRun run = run_with_output_grad(
        [&](const std::vector<Var>& in) { return softmax_cross_entropy(in[0], labels); }, {z}, G);
    float loss = 0;
    std::vector<float> probs(N * M), dz(N * M, 0.f);
    softmax_cross_entropy_forward_reference(&loss, probs.data(), z.data(), labels.data(), N, M);
    softmax_cross_entropy_backward_reference(dz.data(), 0.7f, probs.data(), labels.data(), N, M);
    CHECK(run.output[0] == Approx(loss).epsilon(1e-6));
    CHECK(relative_error(run.grads[0].data(), dz.data(), dz.size(), 1e-6, "dz") < 1e-6);
  }
}

TEST_CASE("softmax_cross_entropy rejects bad labels and shapes", "[ops][softmax_ce]") {
  Var z = leaf(Tensor::zeros({2, 3}), true);
  REQUIRE_THROWS_WITH(softmax_cross_entropy(z, {0}), Catch::Contains("[2, 3]"));
  REQUIRE_THROWS_AS(softmax_cross_entropy(z, {0, 3}), InputError);
  REQUIRE_THROWS_AS(softmax_cross_entropy(z, {-1, 0}), InputError);
  REQUIRE_THROWS_AS(softmax_cross_entropy(leaf(Tensor::zeros({6})), {0}), InputError);
}

TEST_CASE("count_topk_correct on a hand case with ties (counted pessimistically)",
          "[ops][topk]") {
  const Tensor z = Tensor::from_vector({4, 4}, {0.1f, 0.5f, 0.5f, 0.2f,    // label 1 ties class 2
                                                3, 1, 2, 0,                // label 0 is the max
                                                1, 1, 1, 1,                // all equal, label 3
                                                0, 5, 4, 3});              // label 3 is third
  const std::vector<int32_t> labels = {1, 0, 3, 3};
  CHECK(count_topk_correct(z, labels, 1) == 1);   // row 1 only: the tie in row 0 counts against
  CHECK(count_topk_correct(z, labels, 2) == 2);   // rows 0, 1
  CHECK(count_topk_correct(z, labels, 3) == 3);   // rows 0, 1, 3
  CHECK(count_topk_correct(z, labels, 4) == 4);   // row 2 needs every class
  CHECK(count_topk_correct(z, labels, 9) == 4);
  REQUIRE_THROWS_WITH(count_topk_correct(z, {1, 0}, 1), Catch::Contains("[4, 4]"));
  REQUIRE_THROWS_AS(count_topk_correct(z, {1, 0, 3, 4}, 1), InputError);
  REQUIRE_THROWS_AS(count_topk_correct(z, labels, 0), InputError);
}
