// `winoprune bench --suite layer`: forward and forward+backward time of each Winograd layer
// beside the spatial conv2d (wp::conv2d, oneDNN) of the same shape, in the same process.
// Rows (docs/contracts.md bench contract): {layer, model, batch, impl: spatial|winograd|masked,
// pass: forward|forward+backward, ms} plus "tile" (F(4x4,3x3) etc., null for spatial).
//   masked: the Winograd layer under a frozen uniform random mask as fine-tune phases run it:
//           forward on the sparse kernel packed from the mask (values refreshed each call),
//           backward on the masked products (winograd/masked_products.h); one per --sparsity
//           (default 0.9); rows add sparsity and vs_winograd (its time over the dense Winograd
//           row's).
//   forward:          y = layer(x) with grad mode on (what a training step runs)
//   forward+backward: the same, then the layer's backward from a fixed dy (dx, dW, dbias all
//                     requested), timed together; no loss, no optimizer
// Weights are random (timing does not depend on values: both paths are dense).
// Tile choice: F(4x4,3x3) for 3x3; F(4x4,5x5) for 5x5 (conv2): 2.25x fewer transform-domain
// flops than F(2x2,5x5) (64 positions x 49 tiles vs 36 x 196 per 27x27 map) and measured
// faster in both passes; its float error is ~3e-6 relative (tests/winograd). `--tile 2` times
// the F(2x2) layers instead (the quickstart's and the Fashion-MNIST configs' tile).
#include <omp.h>

#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "winoprune/autograd.h"
#include "winoprune/bench/bench.h"
#include "winoprune/bench/suites.h"
#include "winoprune/ops/ops.h"
#include "winoprune/rng.h"
#include "winoprune/sparse/sparse_winograd.h"
#include "winoprune/winograd/masked_products.h"
#include "winoprune/winograd/transform.h"
#include "winoprune/winograd/winograd_conv2d.h"

namespace wp {

namespace {

struct LayerShape {
  const char* layer;
  const char* model;
  int C, K, H, r, pad, m;
};

// AlexNet (ImageNet, groups 1 as in the bench contract) and alexnet-small (28x28 input).
const LayerShape kLayers[] = {
    {"conv2", "alexnet", 96, 256, 27, 5, 2, 4},    {"conv3", "alexnet", 256, 384, 13, 3, 1, 4},
    {"conv4", "alexnet", 384, 384, 13, 3, 1, 4},   {"conv5", "alexnet", 384, 256, 13, 3, 1, 4},
    {"conv2", "alexnet-small", 64, 128, 14, 5, 2, 4},
    {"conv3", "alexnet-small", 128, 192, 7, 3, 1, 4},
    {"conv4", "alexnet-small", 192, 192, 7, 3, 1, 4},
    {"conv5", "alexnet-small", 192, 128, 7, 3, 1, 4},
};

Tensor random_tensor(const Shape& shape, Rng& rng, float scale) {
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = scale * (2.0f * float(rng.uniform()) - 1.0f);
  return t;
}

// Runs y = forward() and, if backward, the layer's backward from dy into fresh input
// gradients, as in a training step (zero_grad releases the parameters' gradients, the
// activations' are new): released here, then allocated as backward() does.
void run_pass(const std::function<Var()>& forward, const Tensor& dy, bool with_backward) {
  Var y = forward();
  if (!with_backward) return;
  for (const Var& in : y->inputs)
    if (in) in->release_grad();
  allocate_input_grads(*y);
  y->grad = dy;
  y->backward_fn(*y);
}

}  // namespace

json bench_layer(const BenchOptions& opts, std::ostream& out) {
  json result = bench_envelope("layer");
  const int warmup = opts.warmup, repeats = opts.repeats;
  TablePrinter table(out, {"layer", "model", "batch", "impl", "tile", "pass", "ms", "spatial/wino"},
                     {6, 14, 5, 11, 11, 17, 9, 12});
  Rng rng(1234, 5);
  for (const LayerShape& L : kLayers) {
    std::vector<int> batches = opts.batches;
    if (batches.empty()) batches = {std::string(L.model) == "alexnet" ? 64 : 128};
    if (opts.quick) batches = {2};  // every row, tiny batch: a smoke test
    const int m = opts.tile > 0 ? opts.tile : L.m;
    for (int N : batches) {
      const int t = m + L.r - 1, Ho = L.H + 2 * L.pad - L.r + 1;
      Var x = leaf(random_tensor({N, L.C, L.H, L.H}, rng, 1.0f), true);
      Var w_wino = leaf(random_tensor({t * t, L.K, L.C}, rng, 0.05f), true);
      Var w_spatial = leaf(random_tensor({L.K, L.C, L.r, L.r}, rng, 0.05f), true);
      Var bias = leaf(random_tensor({L.K}, rng, 0.1f), true);
      Tensor dy = random_tensor({N, L.K, Ho, Ho}, rng, 1.0f);
      WinogradConvParams wp_;
      wp_.m = m;
      wp_.r = L.r;
      wp_.pad = L.pad;
      Conv2dParams sp;
      sp.pad = L.pad;
      const std::string tile = winograd_transform(m, L.r).tile_name();
      // One masked variant per --sparsity (default 0.9): uniform random masks.
      std::vector<double> sparsities = opts.sparsities;
      if (sparsities.empty()) sparsities = {0.9};
      std::vector<Var> w_masked;
      std::vector<std::shared_ptr<const MaskedProductPattern>> patterns;
      std::vector<SparseWinogradConv> packs;   // the forward, as the layer runs it
      for (double s : sparsities) {
        Tensor mask = Tensor::empty(w_wino->value.shape());
        Var wm = leaf(w_wino->value.clone(), true);
        for (int64_t i = 0; i < mask.numel(); ++i) {
          mask[i] = rng.uniform() < s ? 0.0f : 1.0f;
          wm->value[i] *= mask[i];
        }
        w_masked.push_back(wm);
        patterns.push_back(build_masked_product_pattern(mask, 1));
        packs.push_back(SparseWinogradConv::pack(mask, m, L.r, L.pad, 1));
      }
      std::vector<std::string> impls = {"spatial", "winograd"};
      for (size_t i = 0; i < sparsities.size(); ++i) impls.push_back("masked");
      std::map<std::string, double> spatial_ms, wino_ms;
      for (size_t v = 0; v < impls.size(); ++v) {
        const std::string impl = impls[v];
        const bool wino = impl != "spatial";
        const size_t si = v >= 2 ? v - 2 : 0;   // the masked variant's sparsity
        std::function<Var()> forward = [&, impl, si]() {
          if (impl == "masked") {
            // What WinogradConv2dLayer does under a frozen mask: refresh the pack's values,
            // forward on the sparse kernel, backward on the masked products.
            SparseWinogradConv& pack = packs[si];
            pack.refresh_values(w_masked[si]->value);
            const float* b = bias->value.data();
            return winograd_conv2d(x, w_masked[si], bias, wp_, patterns[si],
                                   [&pack, b](const Tensor& in, Tensor& y) {
                                     pack.forward(in, b, false, y);
                                   });
          }
          return impl == "winograd" ? winograd_conv2d(x, w_wino, bias, wp_)
                                    : conv2d(x, w_spatial, bias, sp);
        };
        for (const char* pass : {"forward", "forward+backward"}) {
          const bool bwd = std::string(pass) != "forward";
          Timing tm = time_median([&] { run_pass(forward, dy, bwd); }, warmup, repeats);
          json row = {{"layer", L.layer}, {"model", L.model},  {"batch", N},
                      {"impl", impl},     {"pass", pass},      {"ms", tm.median_ms},
                      {"tile", wino ? json(tile) : json(nullptr)}};
          if (impl == "masked") {
            row["sparsity"] = sparsities[si];
            row["vs_winograd"] = tm.median_ms / wino_ms[pass];
          }
          result["results"].push_back(row);
          std::string ratio;
          if (!wino) spatial_ms[pass] = tm.median_ms;
          else ratio = fmt_fixed(spatial_ms[pass] / tm.median_ms, 2) + "x";
          if (impl == "winograd") wino_ms[pass] = tm.median_ms;
          const std::string shown =
              impl == "masked" ? "masked " + fmt_fixed(sparsities[si], 2) : impl;
          table.row({L.layer, L.model, std::to_string(N), shown, wino ? tile : "-", pass,
                     fmt_fixed(tm.median_ms, 2), ratio});
        }
      }
    }
  }
  return result;
}

}  // namespace wp
