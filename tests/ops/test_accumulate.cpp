#include "op_check.h"
#include "winoprune/ops/ops.h"

using namespace wp;
using namespace wp::test;

namespace {

// Runs op on x with dL/dy = G twice: once with x's gradient starting at 0, once starting at a
// filled value c. Backward must ADD: the second gradient is c + the first, element by element.
void check_adds(const char* what, const std::function<Var(const Var&)>& op, const Tensor& x) {
  INFO(what);
  auto gradient = [&](float start) {
    Var v = leaf(x, true);
    v->grad_buffer().fill(start);
    Var y = op(v);
    const std::vector<float> G = random_vector<float>(size_t(y->value.numel()), 5);
    Var loss = make_result(Tensor::zeros({1}), {y}, [G](Node& self) {
      float* dy = self.inputs[0]->grad_buffer().data();
      for (size_t i = 0; i < G.size(); ++i) dy[i] += G[i];
    });
    backward(loss);
    return v->grad.to_vector();
  };
  const std::vector<float> fresh = gradient(0.0f), added = gradient(0.25f);
  std::vector<float> expect(fresh.size());
  for (size_t i = 0; i < fresh.size(); ++i) expect[i] = fresh[i] + 0.25f;
  CHECK(relative_error(added.data(), expect.data(), expect.size(), 1e-6, what) < 1e-6);
}

}  // namespace

TEST_CASE("every op adds into existing input gradients", "[ops][accumulate]") {
  const Tensor img = random_tensor({2, 20, 11, 11}, 1);
  const Tensor w_blocked = random_tensor({24, 20, 3, 3}, 2, -0.2f, 0.2f);
  const Tensor w_plain = random_tensor({24, 10, 3, 3}, 3, -0.2f, 0.2f);   // groups 2: Cg 10 < 16
  const Tensor w_fc = random_tensor({7, 20 * 11 * 11}, 4, -0.1f, 0.1f);
  Conv2dParams pad1;
  pad1.pad = 1;
  Conv2dParams grouped = pad1;
  grouped.groups = 2;
  check_adds("conv2d blocked",
             [&](const Var& x) { return conv2d(x, leaf(w_blocked), Var(), pad1); }, img);
  check_adds("conv2d plain backward-data",
             [&](const Var& x) { return conv2d(x, leaf(w_plain), Var(), grouped); }, img);
  check_adds("relu", [](const Var& x) { return relu(x); }, img);
  check_adds("max_pool2d", [](const Var& x) { return max_pool2d(x, 3, 2); }, img);
  check_adds("lrn", [](const Var& x) { return lrn(x); }, img);
  check_adds("flatten", [](const Var& x) { return flatten(x); }, img);
  check_adds("dropout", [&](const Var& x) { Rng r(3, 4); return dropout(x, 0.5f, true, r); }, img);
  check_adds("linear", [&](const Var& x) { return linear(flatten(x), leaf(w_fc), Var()); }, img);
  check_adds("softmax_cross_entropy",
             [](const Var& x) { return softmax_cross_entropy(flatten(x), {3, 100}); }, img);
}
