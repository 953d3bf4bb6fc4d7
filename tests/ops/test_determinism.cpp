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

// backward() frees each node's value once no closure can read it unless the caller holds the
// node. Gradients must not depend on that: the same chain with every intermediate Var kept
// (nothing freed) and with none kept (freed blocks reused by the gradients that follow, so a
// closure reading a freed value would read other numbers) gives bitwise the same results.
TEST_CASE("gradients do not depend on which intermediate values the caller keeps",
          "[ops][determinism]") {
  // Sizes above 1 MB per activation, so they come from the reusable storage segments.
  const Tensor x = random_tensor({4, 3, 67, 67}, 11);
  const Tensor w1 = random_tensor({64, 3, 5, 5}, 12, -0.2f, 0.2f), b1 = random_tensor({64}, 13);
  const Tensor w2 = random_tensor({32, 64, 3, 3}, 14, -0.1f, 0.1f), b2 = random_tensor({32}, 15);
  const Tensor w3 = random_tensor({10, 32 * 15 * 15}, 16, -0.05f, 0.05f);
  const std::vector<int32_t> labels = {2, 0, 9, 4};
  auto run = [&](bool keep) {
    std::vector<Var> params = {leaf(x, true),  leaf(w1, true), leaf(b1, true),
                               leaf(w2, true), leaf(b2, true), leaf(w3, true)};
    std::vector<Var> kept;
    auto k = [&](Var v) {
      if (keep) kept.push_back(v);
      return v;
    };
    Rng rng(7, 8);
    Conv2dParams p1;
    p1.stride = 2;                                                   // 67 -> 32
    Conv2dParams p2;
    p2.pad = 1;
    Var h = k(relu(k(conv2d(params[0], params[1], params[2], p1))));
    h = k(max_pool2d(k(lrn(h, 5, 0.5f)), 3, 2));                     // 32 -> 15
    h = k(relu(k(conv2d(h, params[3], params[4], p2))));
    h = k(dropout(k(flatten(h)), 0.5f, true, rng));
    Var loss = softmax_cross_entropy(k(linear(h, params[5], nullptr)), labels);
    backward(loss);
    if (keep) {
      for (const Var& v : kept) CHECK(v->value.defined());
    }
    std::vector<std::vector<float>> out = {loss->value.to_vector()};
    for (auto& v : params) out.push_back(v->grad.to_vector());
    return out;
  };
  const auto freed = run(false), kept = run(true), freed_again = run(false);
  for (size_t i = 0; i < freed.size(); ++i) {
    INFO("tensor " << i);
    CHECK(freed[i] == kept[i]);
    CHECK(freed[i] == freed_again[i]);
  }
}
