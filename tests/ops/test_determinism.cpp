#include "op_check.h"
#include "winoprune/ops/ops.h"

using namespace wp;
using namespace wp::test;

// A small AlexNet-like chain through every op: the same inputs and thread count must give
// bitwise the same loss and gradients (no atomics, no thread-order-dependent reductions).
TEST_CASE("a network of all ops is bitwise deterministic run to run", "[ops][determinism]") {
  const Tensor x = random_tensor({4, 3, 35, 35}, 1);
  const Tensor w1 = random_tensor({32, 3, 7, 7}, 2, -0.2f, 0.2f), b1 = random_tensor({32}, 3);
  const Tensor w2 = random_tensor({48, 16, 3, 3}, 4, -0.2f, 0.2f), b2 = random_tensor({48}, 5);
  const Tensor w3 = random_tensor({10, 48 * 3 * 3}, 6, -0.1f, 0.1f), b3 = random_tensor({10}, 7);
  const std::vector<int32_t> labels = {1, 7, 3, 9};
  auto run = [&]() {
    std::vector<Var> params = {leaf(x, true),  leaf(w1, true), leaf(b1, true), leaf(w2, true),
                               leaf(b2, true), leaf(w3, true), leaf(b3, true)};
    Rng rng(5, 6);
    Conv2dParams p1;
    p1.stride = 2;
    Conv2dParams p2;
    p2.pad = 1, p2.groups = 2;
    Var h = max_pool2d(lrn(relu(conv2d(params[0], params[1], params[2], p1))), 3, 2);   // 15 -> 7
    h = max_pool2d(relu(conv2d(h, params[3], params[4], p2)), 2, 2);                    // 7 -> 3
    h = dropout(flatten(h), 0.5f, true, rng);
    Var loss = softmax_cross_entropy(linear(h, params[5], params[6]), labels);
    backward(loss);
    std::vector<std::vector<float>> out = {loss->value.to_vector()};
    for (auto& v : params) out.push_back(v->grad.to_vector());
    return out;
  };
  const auto a = run(), b = run();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("tensor " << i);
    CHECK(a[i] == b[i]);
  }
}
