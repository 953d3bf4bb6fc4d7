#include "op_check.h"
#include "winoprune/allocator.h"
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
    backward(seeding_loss(y, random_vector<float>(size_t(y->value.numel()), 5)));
    return v->grad.to_vector();
  };
  const std::vector<float> fresh = gradient(0.0f), added = gradient(0.25f);
  std::vector<float> expect(fresh.size());
  for (size_t i = 0; i < fresh.size(); ++i) expect[i] = fresh[i] + 0.25f;
  CHECK(relative_error(added.data(), expect.data(), expect.size(), 1e-6, what) < 1e-6);
}

// Ops that set allocates_input_grads write a fresh input gradient instead of adding into a
// zero-filled one (Node::grad_target): its buffer holds whatever its last user left. The loss
// node poisons a block of x's size just before the op's backward runs (seeding_loss), so x's
// gradient is allocated in it; the gradient must equal the one added into zeros.
void check_writes_fresh(const char* what, const std::function<Var(const Var&)>& op,
                        const Tensor& x) {
  INFO(what);
  REQUIRE(x.numel() * int64_t(sizeof(float)) >= int64_t(kCachedBlockMin));
  const void* poisoned = nullptr;
  auto gradient = [&](bool fresh) {
    Var v = leaf(x, true);
    if (!fresh) v->grad_buffer();   // zeros: the op adds into them
    Var y = op(v);
    backward(seeding_loss(y, random_vector<float>(size_t(y->value.numel()), 5), x.shape(),
                          fresh ? &poisoned : nullptr));
    if (fresh) CHECK(static_cast<const void*>(v->grad.data()) == poisoned);   // case reached
    return v->grad.to_vector();
  };
  const std::vector<float> added = gradient(false), written = gradient(true);
  CHECK(relative_error(written.data(), added.data(), added.size(), 1e-6, what) < 1e-6);
}

}  // namespace

TEST_CASE("ops that write fresh input gradients never read them", "[ops][accumulate]") {
  const Tensor img = random_tensor({2, 32, 64, 65}, 6);   // 1.02 MB
  const Tensor w_fc = random_tensor({3, 32 * 64 * 65}, 7, -0.1f, 0.1f);
  // 65 columns: the last one lies past every pooling window (never an argmax).
  check_writes_fresh("max_pool2d", [](const Var& x) { return max_pool2d(x, 3, 2); }, img);
  check_writes_fresh("lrn", [](const Var& x) { return lrn(x); }, img);
  check_writes_fresh("lrn size 3, beta 0.6",
                     [](const Var& x) { return lrn(x, 3, 0.5f, 0.6f, 1.0f); }, img);
  check_writes_fresh("linear", [&](const Var& x) {
    return linear(x, leaf(w_fc), Var());
  }, img.reshape({2, 32 * 64 * 65}));
}

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
