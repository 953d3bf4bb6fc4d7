// conv2d_relu_lrn_pool against its twin, the composition of the engine's ops
// max_pool2d(lrn(relu(conv2d(x, w, b)))) on plain NCHW tensors: forward in inference and in
// training, and every input gradient. (The twin's ops are each checked against their double
// references and by finite differences in their own tests.)
#include <stdexcept>

#include "op_check.h"
#include "winoprune/error.h"
#include "winoprune/ops/ops.h"

using namespace wp;
using namespace wp::test;

namespace {

struct BlockCase {
  const char* name;
  int N, C, H, W, K, R, stride, pad, groups;
  bool has_lrn;
  LrnParams lrn;
  int pool_kernel, pool_stride;
};

const BlockCase kCases[] = {
    {"AlexNet conv1 block", 1, 3, 227, 227, 96, 11, 4, 0, 1, true, {5, 1e-4f, 0.75f, 1.0f}, 3, 2},
    {"alexnet-small conv1 block (no LRN)", 3, 1, 28, 28, 64, 5, 1, 2, 1, false, {}, 2, 2},
    // Awkward sizes, an LRN that matters (alpha 0.5), a window wider than the channels.
    {"odd sizes, strong LRN", 2, 5, 17, 15, 20, 3, 1, 1, 1, true, {7, 0.5f, 0.6f, 2.0f}, 3, 2},
    {"groups 2, K not a multiple of 16", 2, 6, 11, 12, 10, 3, 2, 1, 2, true,
     {3, 0.25f, 0.75f, 1.0f}, 2, 1},
    {"LRN window wider than K", 1, 4, 9, 9, 3, 3, 1, 0, 1, true, {5, 0.3f, 0.75f, 1.0f}, 2, 2},
};

Var twin(const Var& x, const Var& w, const Var& b, const Conv2dParams& p, const LrnParams* lrn,
         int kernel, int stride) {
  Var h = relu(conv2d(x, w, b, p));
  if (lrn) h = wp::lrn(h, lrn->size, lrn->alpha, lrn->beta, lrn->k);
  return max_pool2d(h, kernel, stride);
}

}  // namespace

TEST_CASE("conv2d_relu_lrn_pool equals the ops it fuses, forward and gradients",
          "[ops][conv2d]") {
  uint64_t seed = 40;
  for (const BlockCase& c : kCases) {
    INFO(c.name);
    Conv2dParams p;
    p.stride = c.stride, p.pad = c.pad, p.groups = c.groups;
    const Tensor x = random_tensor({c.N, c.C, c.H, c.W}, ++seed);
    const Tensor w = random_tensor({c.K, c.C / c.groups, c.R, c.R}, ++seed, -0.3f, 0.3f);
    const Tensor b = random_tensor({c.K}, ++seed);
    const LrnParams* lrn = c.has_lrn ? &c.lrn : nullptr;
    auto fused = [&](const std::vector<Var>& in) {
      return conv2d_relu_lrn_pool(in[0], in[1], in[2], p, lrn, c.pool_kernel, c.pool_stride);
    };
    auto composed = [&](const std::vector<Var>& in) {
      return twin(in[0], in[1], in[2], p, lrn, c.pool_kernel, c.pool_stride);
    };
    // Inference.
    {
      NoGradGuard no_grad;
      const Tensor y = fused({leaf(x), leaf(w), leaf(b)})->value;
      const Tensor y_twin = composed({leaf(x), leaf(w), leaf(b)})->value;
      REQUIRE(y.shape() == y_twin.shape());
      // The convolution and the max are the same computations; the LRN's window sums may be
      // ordered differently in the other layout: float rounding only.
      CHECK(relative_error(y.data(), y_twin.data(), size_t(y.numel()), 1e-6, "y") < 1e-6);
      int64_t positive = 0;
      for (int64_t i = 0; i < y.numel(); ++i) positive += y[i] > 0.0f;
      CHECK(positive > y.numel() / 4);   // not a tensor of ReLU zeros
    }
    // Training: the same output gradient through both.
    Shape y_shape;
    {
      NoGradGuard no_grad;
      y_shape = composed({leaf(x), leaf(w), leaf(b)})->value.shape();
    }
    const std::vector<float> G = random_vector<float>(size_t(shape_numel(y_shape)), ++seed);
    for (bool input_grad : {true, false}) {   // conv1's input (the images) needs none
      INFO("input requires grad: " << input_grad);
      const std::vector<bool> needs{input_grad, true, true};
      const AutogradRun got = run_with_output_grad(fused, {x, w, b}, G, needs);
      const AutogradRun want = run_with_output_grad(composed, {x, w, b}, G, needs);
      CHECK(relative_error(got.output.data(), want.output.data(), got.output.size(), 1e-6,
                           "y") < 1e-6);
      const char* names[] = {"dx", "dw", "db"};
      for (int i = 0; i < 3; ++i) {
        if (!needs[size_t(i)]) continue;
        REQUIRE(got.grads[size_t(i)].size() == want.grads[size_t(i)].size());
        // The LRN backward's sums in another order (oneDNN's blocked kernel against the
        // engine's NCHW one), then summed again by the convolution's backward.
        CHECK(relative_error(got.grads[size_t(i)].data(), want.grads[size_t(i)].data(),
                             got.grads[size_t(i)].size(), 1e-5, names[i]) < 1e-5);
      }
    }
  }
}

TEST_CASE("conv2d_relu_lrn_pool refuses a pooling window larger than its input",
          "[ops][conv2d]") {
  NoGradGuard no_grad;
  Conv2dParams p;
  const Var x = leaf(random_tensor({1, 2, 5, 5}, 1));
  const Var w = leaf(random_tensor({4, 2, 3, 3}, 2));
  const Var b = leaf(random_tensor({4}, 3));
  // The convolution's output is 3x3: a 4x4 window does not fit.
  REQUIRE_THROWS_AS(conv2d_relu_lrn_pool(x, w, b, p, nullptr, 4, 1), InputError);
  REQUIRE_THROWS_AS(conv2d_relu_lrn_pool(x, w, b, p, nullptr, 2, 0), InputError);
}
