// Fine-tuning under frozen masks (ForwardContext::masked_products): the Winograd layer's
// masked products give the dense path's output and gradients (the weight gradient after the
// optimizer's mask), and the layer rebuilds its pattern when the mask changes.
#include "support.h"
#include "winoprune/autograd.h"
#include "winoprune/nn/layers.h"

using namespace wp;

namespace {

// loss = sum(y): seeds dy = 1.
Var sum_loss(const Var& y) {
  double s = 0;
  for (int64_t i = 0; i < y->value.numel(); ++i) s += y->value[i];
  return make_result(Tensor::full({1}, float(s)), {y}, [](Node& self) {
    Tensor& g = self.inputs[0]->grad_buffer();
    for (int64_t i = 0; i < g.numel(); ++i) g[i] += self.grad[0];
  });
}

// F(m x m, 3x3) with `groups` groups.
WinogradConvParams f3(int m, int groups = 1) {
  WinogradConvParams p;
  p.m = m;
  p.r = 3;
  p.groups = groups;
  return p;
}

// t[i] = scale * N(0, 1) draws of rng, in order.
void fill_normal(Tensor& t, Rng& rng, float scale = 1.0f) {
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = scale * float(rng.normal());
}

}  // namespace

TEST_CASE("Winograd layer with masked_products follows its mask", "[winograd][masked]") {
  // F(4x4) groups 1, and F(2x2) groups 2; the forward runs on the sparse kernel packed from
  // the mask, refreshed with the weights at every step (the second round changes them).
  for (int m : {4, 2}) {
  INFO("F(" << m << "x" << m << ",3x3), groups " << (m == 4 ? 1 : 2));
  WinogradConv2dLayer layer("conv", 12, 16, f3(m, m == 4 ? 1 : 2));
  Rng rng(5, 6);
  Parameter& w = layer.weight();
  fill_normal(w.value(), rng, 0.1f);
  Tensor x = Tensor::empty({2, 12, 9, 9});
  fill_normal(x, rng);

  // Gradients of sum(y) with and without masked products, for a given mask.
  auto grads = [&](bool masked) {
    ForwardContext ctx;
    ctx.training = true;
    ctx.masked_products = masked;
    w.var->grad = Tensor();
    Var xv = leaf(x, true);
    Var y = layer.forward(xv, ctx);
    backward(sum_loss(y));
    Tensor g = w.var->grad.clone();
    for (int64_t i = 0; i < g.numel(); ++i) g[i] *= w.mask[i];   // what the optimizer uses
    return std::make_pair(y->value.clone(), std::make_pair(g, xv->grad.clone()));
  };
  for (double sparsity : {0.9, 0.9, 0.5}) {   // a new mask at 0.5: a rebuild
    INFO("sparsity " << sparsity);
    if (!w.mask.defined() || sparsity != 0.9)
      w.mask = test::random_mask(w.value().shape(), sparsity, uint64_t(sparsity * 100));
    else   // the same mask, new weights: what an optimizer step does under a frozen mask
      for (int64_t i = 0; i < w.value().numel(); ++i) w.value()[i] += 0.05f * float(rng.normal());
    apply_mask(w);
    auto dense = grads(false), masked = grads(true);
    const int64_t ny = dense.first.numel(), nw = dense.second.first.numel(),
                  nx = dense.second.second.numel();
    CHECK(test::relative_error(masked.first.data(), dense.first.data(), size_t(ny), 1e-5, "y") <
          1e-5);
    CHECK(test::relative_error(masked.second.first.data(), dense.second.first.data(), size_t(nw),
                               1e-5, "dW") < 1e-5);
    CHECK(test::relative_error(masked.second.second.data(), dense.second.second.data(),
                               size_t(nx), 1e-5, "dx") < 1e-5);
  }
  }
}

TEST_CASE("Winograd layer with sparse_forward matches the dense path", "[winograd][masked]") {
  // Prune phases: the forward value on the sparse kernel when the mask keeps at most half of
  // the weights, the dense backward (the full weight gradient, masked entries included).
  WinogradConv2dLayer layer("conv", 10, 14, f3(2));
  Rng rng(8, 9);
  Parameter& w = layer.weight();
  Tensor x = Tensor::empty({3, 10, 11, 11});
  fill_normal(x, rng);
  auto run = [&](bool sparse) {
    ForwardContext ctx;
    ctx.training = true;
    ctx.sparse_forward = sparse;
    w.var->grad = Tensor();
    Var xv = leaf(x, true);
    Var y = layer.forward(xv, ctx);
    backward(sum_loss(y));
    return std::make_tuple(y->value.clone(), w.var->grad.clone(), xv->grad.clone());
  };
  for (double sparsity : {0.9, 0.6, 0.3}) {   // 0.3 keeps 70%: the dense forward
    INFO("sparsity " << sparsity);
    fill_normal(w.value(), rng, 0.1f);
    w.mask = test::random_mask(w.value().shape(), sparsity, uint64_t(sparsity * 100) + 7);
    apply_mask(w);
    auto [yd, gd, xd] = run(false);
    // A new mask is packed at its second forward (pruners may change it at every step).
    (void)run(true);
    CHECK_FALSE(layer.has_training_pack());
    auto [ys, gs, xs] = run(true);
    CHECK(layer.has_training_pack() == (sparsity >= 0.5));
    CHECK(test::relative_error(ys.data(), yd.data(), size_t(yd.numel()), 1e-5, "y") < 1e-5);
    CHECK(test::relative_error(gs.data(), gd.data(), size_t(gd.numel()), 1e-5, "dW") < 1e-5);
    CHECK(test::relative_error(xs.data(), xd.data(), size_t(xd.numel()), 1e-5, "dx") < 1e-5);
  }
}

TEST_CASE("Winograd layer under frozen_masks checks its pattern once per id", "[winograd][masked]") {
  // A fine-tune phase passes one ForwardContext::frozen_masks id for all its steps: the layer
  // checks its mask against its pattern at the id's first forward only. A new id (a new phase)
  // checks again and follows a changed mask; under the same id the promise is trusted (the
  // runner's Optimizer::check_masks_frozen catches a broken one at the epoch's end).
  WinogradConv2dLayer layer("conv", 8, 12, f3(4));
  Rng rng(11, 12);
  Parameter& w = layer.weight();
  fill_normal(w.value(), rng, 0.1f);
  Tensor x = Tensor::empty({2, 8, 10, 10});
  fill_normal(x, rng);
  auto forward = [&](bool masked, uint64_t id) {
    ForwardContext ctx;
    ctx.training = true;
    ctx.masked_products = masked;
    ctx.frozen_masks = id;
    return layer.forward(leaf(x, true), ctx)->value.clone();
  };
  auto error = [](const Tensor& a, const Tensor& b) {
    return test::relative_error(a.data(), b.data(), size_t(a.numel()), 1e-5, "y");
  };
  const uint64_t first = new_frozen_masks_id(), second = new_frozen_masks_id();
  REQUIRE(first != 0);
  REQUIRE(second != first);
  w.mask = test::random_mask(w.value().shape(), 0.9, 1);
  apply_mask(w);
  CHECK(error(forward(true, first), forward(false, 0)) < 1e-5);
  CHECK(error(forward(true, first), forward(false, 0)) < 1e-5);   // the same id: still right
  // Another mask and new weights under the same id: the pattern of the first mask stays (its
  // entries of the new weights), not the dense value of the new mask.
  const Tensor old_mask = w.mask.clone();
  fill_normal(w.value(), rng, 0.1f);
  w.mask = test::random_mask(w.value().shape(), 0.9, 2);
  apply_mask(w);
  CHECK(error(forward(true, first), forward(false, 0)) > 1e-3);
  // A new id checks again and follows the new mask; so does no id (every forward checks).
  CHECK(error(forward(true, second), forward(false, 0)) < 1e-5);
  fill_normal(w.value(), rng, 0.1f);
  w.mask = old_mask;
  apply_mask(w);
  CHECK(error(forward(true, 0), forward(false, 0)) < 1e-5);
}
