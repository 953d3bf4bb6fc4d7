// conv2d_relu_lrn_pool_inference against its twin, the composition of the engine's ops
// max_pool2d(lrn(conv2d_relu_inference(x, w, b))) on plain NCHW tensors.
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

}  // namespace

TEST_CASE("conv2d_relu_lrn_pool_inference equals the ops it fuses, one after the other",
          "[ops][conv2d]") {
  const BlockCase cases[] = {
      {"AlexNet conv1 block", 1, 3, 227, 227, 96, 11, 4, 0, 1, true, {5, 1e-4f, 0.75f, 1.0f}, 3, 2},
      {"alexnet-small conv1 block (no LRN)", 3, 1, 28, 28, 64, 5, 1, 2, 1, false, {}, 2, 2},
      // Awkward sizes, an LRN that matters (alpha 0.5), a window wider than the channels.
      {"odd sizes, strong LRN", 2, 5, 17, 15, 20, 3, 1, 1, 1, true, {7, 0.5f, 0.6f, 2.0f}, 3, 2},
      {"groups 2, K not a multiple of 16", 2, 6, 11, 12, 10, 3, 2, 1, 2, true,
       {3, 0.25f, 0.75f, 1.0f}, 2, 1},
      {"LRN window wider than K", 1, 4, 9, 9, 3, 3, 1, 0, 1, true, {5, 0.3f, 0.75f, 1.0f}, 2, 2},
  };
  uint64_t seed = 40;
  for (const BlockCase& c : cases) {
    INFO(c.name);
    Conv2dParams p;
    p.stride = c.stride, p.pad = c.pad, p.groups = c.groups;
    const Var x = leaf(random_tensor({c.N, c.C, c.H, c.W}, ++seed), true);
    const Var w = leaf(random_tensor({c.K, c.C / c.groups, c.R, c.R}, ++seed, -0.3f, 0.3f), true);
    const Var b = leaf(random_tensor({c.K}, ++seed), true);
    const LrnParams* lrn = c.has_lrn ? &c.lrn : nullptr;
    REQUIRE_THROWS_AS(
        conv2d_relu_lrn_pool_inference(x, w, b, p, lrn, c.pool_kernel, c.pool_stride),
        std::logic_error);   // grad mode on: no backward
    NoGradGuard no_grad;
    Var twin = conv2d_relu_inference(x, w, b, p);
    if (lrn) twin = wp::lrn(twin, lrn->size, lrn->alpha, lrn->beta, lrn->k);
    twin = max_pool2d(twin, c.pool_kernel, c.pool_stride);
    const Tensor fused =
        conv2d_relu_lrn_pool_inference(x, w, b, p, lrn, c.pool_kernel, c.pool_stride)->value;
    REQUIRE(fused.shape() == twin->value.shape());
    // The convolution and the max are the same computations; the LRN's window sums may be
    // ordered differently in the other layout: float rounding only.
    CHECK(relative_error(fused.data(), twin->value.data(), size_t(fused.numel()), 1e-6,
                         "y") < 1e-6);
    int64_t positive = 0;
    for (int64_t i = 0; i < fused.numel(); ++i) positive += fused[i] > 0.0f;
    CHECK(positive > fused.numel() / 4);   // not a tensor of ReLU zeros
  }
}

TEST_CASE("conv2d_relu_lrn_pool_inference refuses a pooling window larger than its input",
          "[ops][conv2d]") {
  NoGradGuard no_grad;
  Conv2dParams p;
  const Var x = leaf(random_tensor({1, 2, 5, 5}, 1));
  const Var w = leaf(random_tensor({4, 2, 3, 3}, 2));
  const Var b = leaf(random_tensor({4}, 3));
  // The convolution's output is 3x3: a 4x4 window does not fit.
  REQUIRE_THROWS_AS(conv2d_relu_lrn_pool_inference(x, w, b, p, nullptr, 4, 1), InputError);
  REQUIRE_THROWS_AS(conv2d_relu_lrn_pool_inference(x, w, b, p, nullptr, 2, 0), InputError);
}
