// Magnitude pruning: exact counts, deterministic ties, one global threshold, masks that only
// grow, and masks that survive many SGD steps with momentum and weight decay.
#include <algorithm>
#include <numeric>

#include "prune_support.h"
#include "winoprune/optim/optimizer.h"
#include "winoprune/prune/magnitude.h"

using namespace wp;
using namespace wp::test;

namespace {

// The specification of the ranking: stable sort of (layer, index) by |w|; the first `count`
// are pruned. Returns one 0/1 mask per layer.
std::vector<std::vector<float>> reference_masks(const std::vector<const Tensor*>& ws,
                                                int64_t count) {
  std::vector<std::pair<size_t, int64_t>> order;
  for (size_t l = 0; l < ws.size(); ++l)
    for (int64_t i = 0; i < ws[l]->numel(); ++i) order.emplace_back(l, i);
  std::stable_sort(order.begin(), order.end(), [&](auto& a, auto& b) {
    return std::fabs((*ws[a.first])[a.second]) < std::fabs((*ws[b.first])[b.second]);
  });
  std::vector<std::vector<float>> masks;
  for (auto* w : ws) masks.emplace_back(size_t(w->numel()), 1.0f);
  for (int64_t k = 0; k < count; ++k) masks[order[k].first][size_t(order[k].second)] = 0.0f;
  return masks;
}

}  // namespace

TEST_CASE("prune_count rounds to nearest and stays in [0, n]", "[prune][magnitude]") {
  REQUIRE(prune_count(0.9, 10) == 9);
  REQUIRE(prune_count(0.3, 10) == 3);      // 0.3 * 10 = 3.0000000000000004
  REQUIRE(prune_count(0.7, 10) == 7);      // 0.7 * 10 = 7.000000000000001
  REQUIRE(prune_count(0.25, 6) == 2);      // 1.5 rounds away from zero
  REQUIRE(prune_count(0.0, 7) == 0);
  REQUIRE(prune_count(0.999999, 7) == 7);
  REQUIRE(prune_count(0.5, 0) == 0);
}

TEST_CASE("magnitude pruning hits the exact count and matches a stable sort, ties included",
          "[prune][magnitude]") {
  const int64_t sizes[] = {1, 2, 7, 64, 1000, 4097, 36 * 17 * 5};
  const double levels[] = {0.0, 0.05, 0.5, 0.9, 0.95, 0.999};
  uint64_t seed = 10;
  for (int64_t n : sizes)
    for (double s : levels)
      for (bool ties : {false, true}) {
        auto p = random_parameter("fc", {n}, ++seed);
        if (ties)  // few distinct magnitudes with both signs: many exact ties
          for (int64_t i = 0; i < n; ++i)
            p->value()[i] = std::round(p->value()[i] * 4.0f) / 4.0f;
        Tensor before = p->value().clone();
        magnitude_prune({p.get()}, {s});
        const int64_t count = prune_count(s, n);
        auto ref = reference_masks({&before}, count);
        INFO("n " << n << " sparsity " << s << " ties " << ties);
        REQUIRE(p->mask.defined());
        REQUIRE(zeros_of(p->mask) == count);
        REQUIRE(p->mask.to_vector() == ref[0]);
        for (int64_t i = 0; i < n; ++i)
          REQUIRE(p->value()[i] == (p->mask[i] != 0.0f ? before[i] : 0.0f));
      }
}

TEST_CASE("global magnitude pruning uses one threshold across layers", "[prune][magnitude]") {
  TestNet net(3);
  // Scale the layers differently: a global threshold prunes the small ones more.
  const float scale[] = {1.0f, 0.25f, 2.0f, 0.5f};
  std::vector<Tensor> before;
  std::vector<const Tensor*> ptrs;
  for (size_t l = 0; l < net.layers.size(); ++l) {
    Tensor& w = net.layers[l].weight->value();
    for (int64_t i = 0; i < w.numel(); ++i) w[i] *= scale[l];
    before.push_back(w.clone());
  }
  for (auto& b : before) ptrs.push_back(&b);
  int64_t total = 0;
  for (auto& b : before) total += b.numel();
  magnitude_prune_global(net.parameters(), 0.7);
  const int64_t count = prune_count(0.7, total);
  auto ref = reference_masks(ptrs, count);

  int64_t zeros = 0;
  float max_pruned = 0, min_kept = 1e30f;
  std::vector<double> layer_sparsity;
  for (size_t l = 0; l < net.layers.size(); ++l) {
    const Parameter& p = *net.layers[l].weight;
    REQUIRE(p.mask.to_vector() == ref[l]);
    zeros += zeros_of(p.value());
    for (int64_t i = 0; i < p.value().numel(); ++i) {
      if (p.mask[i] == 0.0f) max_pruned = std::max(max_pruned, std::fabs(before[l][i]));
      else min_kept = std::min(min_kept, std::fabs(before[l][i]));
    }
    layer_sparsity.push_back(double(zeros_of(p.value())) / double(p.value().numel()));
  }
  REQUIRE(zeros == count);
  REQUIRE(max_pruned <= min_kept);               // one threshold separates pruned and kept
  REQUIRE(layer_sparsity[1] > layer_sparsity[2]); // scale 0.25 pruned more than scale 2
}

TEST_CASE("re-pruning to a higher target keeps every earlier zero", "[prune][magnitude]") {
  auto p = random_parameter("conv2", {36, 16, 8}, 5);
  magnitude_prune({p.get()}, {0.5});
  Tensor m1 = p->mask.clone();
  // Training moves the survivors between the steps.
  auto noise = random_vector<float>(size_t(p->value().numel()), 6, -0.3f, 0.3f);
  for (int64_t i = 0; i < p->value().numel(); ++i)
    if (m1[i] != 0.0f) p->value()[i] += noise[size_t(i)];
  magnitude_prune({p.get()}, {0.8});
  for (int64_t i = 0; i < m1.numel(); ++i)
    if (m1[i] == 0.0f) REQUIRE(p->mask[i] == 0.0f);
  REQUIRE(zeros_of(p->mask) == prune_count(0.8, p->value().numel()));
}

TEST_CASE("freeze_mask takes the zeros as the mask and masks momentum", "[prune][magnitude]") {
  auto p = random_parameter("fc", {100}, 7);
  p->momentum = Tensor::full({100}, 0.5f);
  for (int i = 0; i < 100; i += 3) p->value()[i] = 0.0f;
  freeze_mask(*p);
  for (int i = 0; i < 100; ++i) {
    REQUIRE(p->mask[i] == (i % 3 == 0 ? 0.0f : 1.0f));
    REQUIRE(p->momentum[i] == (i % 3 == 0 ? 0.0f : 0.5f));
  }
}

TEST_CASE("pruned entries stay exactly zero through 200 SGD steps (momentum, decay, L1)",
          "[prune][magnitude][sgd]") {
  // wp::Optimizer (src/optim/optimizer.cpp) with momentum 0.9, Nesterov on and off, weight decay and L1, and
  // random gradients that push every pruned entry away from zero at every step.
  for (bool nesterov : {false, true}) {
    auto p = random_parameter("conv3", {16, 16, 16}, 8);
    auto q = random_parameter("conv3", {16, 16, 16}, 8);   // the same weights, never masked
    p->l1 = 1e-3f;
    OptimizerConfig c;
    c.lr = 0.05;
    c.momentum = 0.9;
    c.nesterov = nesterov;
    c.weight_decay = 5e-4;
    Optimizer sgd({p.get()}, c);
    Optimizer free_sgd({q.get()}, c);
    const int64_t n = p->value().numel();
    // A few steps before pruning so the momentum of soon-pruned entries is non-zero.
    for (int step = 0; step < 210; ++step) {
      if (step == 10) {
        REQUIRE(zeros_of(p->momentum) < n / 100);
        magnitude_prune({p.get()}, {0.9});
      }
      auto g = random_vector<float>(size_t(n), 100 + step, -1.0f, 1.0f);
      p->var->grad_buffer().copy_from(Tensor::from_vector(p->value().shape(), g));
      q->var->grad_buffer().copy_from(Tensor::from_vector(q->value().shape(), g));
      sgd.step(float(c.lr));
      free_sgd.step(float(c.lr));
    }
    const int64_t target = prune_count(0.9, n);
    REQUIRE(zeros_of(p->mask) == target);
    int64_t regrown_without_mask = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (p->mask[i] != 0.0f) continue;
      REQUIRE(p->value()[i] == 0.0f);
      REQUIRE(p->momentum[i] == 0.0f);
      regrown_without_mask += q->value()[i] != 0.0f;
    }
    // Without the mask those entries would all be non-zero again.
    REQUIRE(regrown_without_mask == target);
  }
}
