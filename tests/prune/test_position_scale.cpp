// Position-aware magnitude pruning of Winograd layers (position_scale.h): the factors, ranking by
// |w| * s_j against a stable-sort specification, exact counts, masks that only grow, one global
// threshold on the scaled scores, the scheduler's and the sensitivity sweep's use of the key,
// and its config parsing.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "prune_support.h"
#include "winoprune/nn/layers.h"
#include "winoprune/prune/config.h"
#include "winoprune/prune/magnitude.h"
#include "winoprune/prune/position_scale.h"
#include "winoprune/prune/sensitivity.h"

using namespace wp;
using namespace wp::test;

namespace {

// The specification of an entry's score: float(double(|w|) * s), exact zeros 0, a non-zero
// whose product underflows the smallest denormal (so it still ranks after every zero).
float spec_score(float w, double s) {
  if (w == 0.0f) return 0.0f;
  const float v = float(std::fabs(double(w)) * s);
  return v == 0.0f ? std::numeric_limits<float>::denorm_min() : v;
}

struct Scaled {
  const Tensor* w;
  std::vector<double> factors;   // empty: unscaled
};

// Stable sort of (layer, index) by score; the first `count` are pruned. One mask per layer.
std::vector<std::vector<float>> reference_masks(const std::vector<Scaled>& layers, int64_t count) {
  std::vector<std::pair<size_t, int64_t>> order;
  std::vector<std::vector<float>> score(layers.size());
  for (size_t l = 0; l < layers.size(); ++l) {
    const Tensor& w = *layers[l].w;
    const int64_t n = w.numel();
    const int64_t block = layers[l].factors.empty() ? n : n / int64_t(layers[l].factors.size());
    for (int64_t i = 0; i < n; ++i) {
      const double s = layers[l].factors.empty() ? 1.0 : layers[l].factors[size_t(i / block)];
      score[l].push_back(spec_score(w[i], s));
      order.emplace_back(l, i);
    }
  }
  std::stable_sort(order.begin(), order.end(), [&](auto& a, auto& b) {
    return score[a.first][size_t(a.second)] < score[b.first][size_t(b.second)];
  });
  std::vector<std::vector<float>> masks;
  for (auto& l : layers) masks.emplace_back(size_t(l.w->numel()), 1.0f);
  for (int64_t k = 0; k < count; ++k) masks[order[size_t(k)].first][size_t(order[size_t(k)].second)] = 0.0f;
  return masks;
}

PruningConfig parse_pruning(const std::string& text) {
  json j = json::parse(text);
  JsonReader phase(j, "phases[2]");
  PruningConfig c = parse_pruning_config(phase);
  phase.finish();
  return c;
}

std::string pruning_error(const std::string& text) {
  try {
    parse_pruning(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("position factors of F(4x4,3x3): output a_p a_q, output_input a_p a_q b_p b_q / m",
          "[prune][position_scale]") {
  REQUIRE(position_scale_factors(PositionScale::none, 4, 3).empty());
  REQUIRE(position_scale_factors(PositionScale::output_input, 0, 0).empty());   // conv, fc

  // a = [1, 2, 2, sqrt 85, sqrt 85, 1] (rows of A), b = [sqrt 42, sqrt 34, sqrt 34, sqrt 10,
  // sqrt 10, sqrt 42] (rows of B^T), by hand from docs/method.md's matrices.
  const double a[] = {1, 2, 2, std::sqrt(85.0), std::sqrt(85.0), 1};
  const double b[] = {std::sqrt(42.0), std::sqrt(34.0), std::sqrt(34.0),
                      std::sqrt(10.0), std::sqrt(10.0), std::sqrt(42.0)};
  const auto out = position_scale_factors(PositionScale::output, 4, 3);
  const auto oi = position_scale_factors(PositionScale::output_input, 4, 3);
  REQUIRE(out.size() == 36);
  REQUIRE(oi.size() == 36);
  for (int p = 0; p < 6; ++p)
    for (int q = 0; q < 6; ++q) {
      INFO("p " << p << " q " << q);
      REQUIRE(out[size_t(p * 6 + q)] == Approx(a[p] * a[q]).epsilon(1e-12));
      REQUIRE(oi[size_t(p * 6 + q)] == Approx(a[p] * a[q] * b[p] * b[q] / 4).epsilon(1e-12));
    }
  REQUIRE(out[3 * 6 + 3] == Approx(85.0));
  REQUIRE(oi[0] == Approx(10.5));          // corners: 42 / 4
  REQUIRE(oi[3 * 6 + 3] == Approx(212.5)); // 85 * 10 / 4

  // output_input is the optimizer's preconditioner: Parameter::lr_scale_j = 1 / s_j^2.
  for (auto [m, r] : {std::pair{4, 3}, std::pair{4, 5}, std::pair{2, 3}, std::pair{2, 5}}) {
    const auto s = position_scale_factors(PositionScale::output_input, m, r);
    const Tensor lr = WinogradConv2dLayer::position_lr_scale(m, r);
    REQUIRE(int64_t(s.size()) == lr.numel());
    for (size_t j = 0; j < s.size(); ++j)
      REQUIRE(double(lr[int64_t(j)]) == Approx(1.0 / (s[j] * s[j])).epsilon(1e-6));
  }

  for (PositionScale s : {PositionScale::none, PositionScale::output, PositionScale::output_input})
    REQUIRE(parse_position_scale(position_scale_name(s)) == s);
  REQUIRE_FALSE(parse_position_scale("input").has_value());
}

TEST_CASE("scaled ranking: a hand example", "[prune][position_scale]") {
  // 3 positions of 2 entries, factors [1, 4, 0.5]:
  //   |w|    0.5  0.1 | 0.2  0.05 | 0.3   0.01
  //   score  0.5  0.1 | 0.8  0.2  | 0.15  0.005
  // Pruning 3 by score takes entries 5, 1, 4; by |w| it would take 5, 3, 1.
  const float w[] = {0.5f, -0.1f, 0.2f, 0.05f, -0.3f, 0.01f};
  const double scale[] = {1.0, 4.0, 0.5};
  float mask[6];
  WeightSpan span{w, 6, scale, 2};
  MagnitudeCut cut = magnitude_cut({span}, 3);
  REQUIRE(apply_cut(span, mask, cut) == 3);
  REQUIRE(std::vector<float>(mask, mask + 6) == std::vector<float>{1, 0, 1, 1, 0, 0});
  REQUIRE(cut.threshold() == 0.15f);
  MagnitudeCut raw = magnitude_cut({{w, 6}}, 3);
  apply_cut(w, 6, mask, raw);
  REQUIRE(std::vector<float>(mask, mask + 6) == std::vector<float>{1, 0, 1, 0, 1, 0});

  // Equal magnitudes on F(4x4,3x3): the score is the factor itself. "output": the 4 corners
  // (a_p a_q = 1) first, then the 8 positions with a_p a_q = 2 in index order:
  // (0,1) = 1, (0,2) = 2, (1,0) = 6, (1,5) = 11, ...
  auto p = random_parameter("conv3", {36, 1, 1}, 1);
  for (int64_t i = 0; i < 36; ++i) p->value()[i] = (i % 2 ? -0.5f : 0.5f);
  magnitude_prune({p.get()}, {8.0 / 36}, {position_scale_factors(PositionScale::output, 4, 3)});
  std::vector<int64_t> pruned;
  for (int64_t i = 0; i < 36; ++i)
    if (p->mask[i] == 0.0f) pruned.push_back(i);
  REQUIRE(pruned == std::vector<int64_t>{0, 1, 2, 5, 6, 11, 30, 35});
  // "output_input": the corners (10.5) come first as well, then (0,1)-type positions (18.9).
  for (int64_t i = 0; i < 36; ++i) p->value()[i] = 0.5f;
  p->mask = Tensor();
  magnitude_prune({p.get()}, {4.0 / 36},
                  {position_scale_factors(PositionScale::output_input, 4, 3)});
  pruned.clear();
  for (int64_t i = 0; i < 36; ++i)
    if (p->mask[i] == 0.0f) pruned.push_back(i);
  REQUIRE(pruned == std::vector<int64_t>{0, 5, 30, 35});

  // A factor list that does not match dim 0 is a programming error.
  REQUIRE_THROWS_AS(magnitude_prune({p.get()}, {0.5}, {std::vector<double>(16, 1.0)}),
                    std::invalid_argument);
  REQUIRE_THROWS_AS(magnitude_prune({p.get()}, {0.5}, {{}, {}}), std::invalid_argument);
}

TEST_CASE("scaled magnitude pruning hits the exact count and matches a stable sort",
          "[prune][position_scale]") {
  struct Case {
    int m, r;
    int64_t k, c;
  };
  const Case cases[] = {{4, 3, 16, 8}, {4, 3, 3, 5}, {4, 3, 1, 1}, {4, 5, 7, 3}, {2, 3, 17, 9}};
  const double levels[] = {0.0, 0.05, 0.5, 0.9, 0.95, 0.999};
  uint64_t seed = 40;
  for (const Case& cs : cases)
    for (PositionScale mode : {PositionScale::output, PositionScale::output_input})
      for (double s : levels)
        for (bool ties : {false, true}) {
          const int64_t t = cs.m + cs.r - 1;
          auto p = random_parameter("conv", {t * t, cs.k, cs.c}, ++seed);
          const int64_t n = p->value().numel();
          if (ties)  // few distinct magnitudes, some exact zeros: many exact score ties
            for (int64_t i = 0; i < n; ++i)
              p->value()[i] = std::round(p->value()[i] * 3.0f) / 3.0f;
          const auto factors = position_scale_factors(mode, cs.m, cs.r);
          Tensor before = p->value().clone();
          magnitude_prune({p.get()}, {s}, {factors});
          const int64_t count = prune_count(s, n);
          auto ref = reference_masks({{&before, factors}}, count);
          INFO("F(" << cs.m << "," << cs.r << ") K " << cs.k << " C " << cs.c << " mode "
                    << position_scale_name(mode) << " sparsity " << s << " ties " << ties);
          REQUIRE(zeros_of(p->mask) == count);
          REQUIRE(p->mask.to_vector() == ref[0]);
          for (int64_t i = 0; i < n; ++i)
            REQUIRE(p->value()[i] == (p->mask[i] != 0.0f ? before[i] : 0.0f));
        }
}

TEST_CASE("scaled pruning: masks only grow across increasing targets, underflow included",
          "[prune][position_scale]") {
  for (PositionScale mode : {PositionScale::output, PositionScale::output_input}) {
    auto p = random_parameter("conv2", {36, 16, 8}, 50);
    const auto factors = position_scale_factors(mode, 4, 3);
    Tensor previous = Tensor::full(p->value().shape(), 1.0f);
    uint64_t seed = 60;
    for (double s : {0.2, 0.5, 0.5, 0.8, 0.9, 0.97}) {
      // Training moves the survivors between the steps, some of them across positions' scales.
      auto noise = random_vector<float>(size_t(p->value().numel()), ++seed, -0.5f, 0.5f);
      for (int64_t i = 0; i < p->value().numel(); ++i)
        if (previous[i] != 0.0f) p->value()[i] += noise[size_t(i)];
      magnitude_prune({p.get()}, {s}, {factors});
      INFO(position_scale_name(mode) << " sparsity " << s);
      for (int64_t i = 0; i < previous.numel(); ++i)
        if (previous[i] == 0.0f) REQUIRE(p->mask[i] == 0.0f);
      REQUIRE(zeros_of(p->mask) == prune_count(s, p->value().numel()));
      previous = p->mask.clone();
    }
  }

  // A non-zero whose scaled score underflows to 0 (1e-45 * 1e-3) still ranks after the exact
  // zeros, whatever their index: pruning as many entries as there are zeros takes the zeros.
  const float tiny = std::numeric_limits<float>::denorm_min();
  const float w[] = {tiny, -tiny, 0.0f, 0.7f, 0.0f, tiny, -0.0f, 0.1f};
  const double scale[] = {1e-3, 1e-3, 1.0, 1.0};
  float mask[8];
  WeightSpan span{w, 8, scale, 2};
  MagnitudeCut cut = magnitude_cut({span}, 3);
  REQUIRE(apply_cut(span, mask, cut) == 3);
  REQUIRE(std::vector<float>(mask, mask + 8) == std::vector<float>{1, 1, 0, 1, 0, 1, 0, 1});
}

TEST_CASE("global scaled pruning: one threshold on the scaled scores across layers",
          "[prune][position_scale]") {
  for (PositionScale mode : {PositionScale::output, PositionScale::output_input}) {
    TestNet net(70);
    PositionScales scales;
    std::vector<Tensor> before;
    for (auto& l : net.layers) {
      scales.push_back(l.kind == "winograd" ? position_scale_factors(mode, l.m, l.r)
                                            : std::vector<double>());
      before.push_back(l.weight->value().clone());
    }
    std::vector<Scaled> spec;
    int64_t total = 0;
    for (size_t l = 0; l < net.layers.size(); ++l) {
      spec.push_back({&before[l], scales[l]});
      total += before[l].numel();
    }
    magnitude_prune_global(net.parameters(), 0.6, scales);
    const int64_t count = prune_count(0.6, total);
    auto ref = reference_masks(spec, count);
    int64_t zeros = 0;
    float max_pruned = 0, min_kept = std::numeric_limits<float>::infinity();
    for (size_t l = 0; l < net.layers.size(); ++l) {
      const Parameter& p = *net.layers[l].weight;
      INFO(position_scale_name(mode) << " " << net.layers[l].name);
      REQUIRE(p.mask.to_vector() == ref[l]);
      zeros += zeros_of(p.value());
      const int64_t n = p.value().numel();
      const int64_t block = scales[l].empty() ? n : n / int64_t(scales[l].size());
      for (int64_t i = 0; i < n; ++i) {
        const float sc = spec_score(before[l][i], scales[l].empty() ? 1.0 : scales[l][size_t(i / block)]);
        if (p.mask[i] == 0.0f) max_pruned = std::max(max_pruned, sc);
        else min_kept = std::min(min_kept, sc);
      }
    }
    REQUIRE(zeros == count);
    REQUIRE(max_pruned <= min_kept);
    // Uniform [-1, 1) weights and factors >= 1 on the Winograd layers: conv/fc (unscaled)
    // lose more than the Winograd layers.
    REQUIRE(zeros_of(net.weight("fc6").value()) > zeros_of(net.weight("conv2").value()) *
                                                       net.weight("fc6").value().numel() /
                                                       net.weight("conv2").value().numel());
  }
}

TEST_CASE("the scheduler and the sensitivity sweep rank by the configured position scale",
          "[prune][position_scale]") {
  for (const char* mode : {"none", "output", "output_input", ""}) {
    TestNet net(80), copy(80);
    std::string key = *mode ? std::string(", \"position_scale\": \"") + mode + "\"" : "";
    PruningScheduler sched(parse_pruning(R"({"pruners": {"g": {"type": "gradual",
        "layers": ["conv1", "conv2", "conv3"], "final_sparsity": 0.7)" + key + R"(}},
        "policies": [{"pruner": "g", "start": 0, "end": 1}]})"), net.layers, 1);
    sched.on_epoch_begin(0);
    const PositionScale ps = *mode ? *parse_position_scale(mode) : kDefaultPositionScale;
    PositionScales scales;
    std::vector<Parameter*> params;
    for (const char* name : {"conv1", "conv2", "conv3"}) {
      for (auto& l : copy.layers)
        if (l.name == name) {
          params.push_back(l.weight);
          scales.push_back(position_scale_factors(ps, l.m, l.r));   // m = 0 for conv1
        }
    }
    magnitude_prune(params, {0.7, 0.7, 0.7}, scales);
    INFO("position_scale \"" << mode << "\"");
    for (const char* name : {"conv1", "conv2", "conv3"})
      REQUIRE(net.weight(name).mask.to_vector() == copy.weight(name).mask.to_vector());
  }

  // Sensitivity: the level's zeros are those magnitude_prune with the same factors makes.
  for (PositionScale ps : {PositionScale::none, PositionScale::output_input}) {
    TestNet net(90), copy(90);
    std::vector<PrunableLayer> layers = {net.layers[1], net.layers[2]};   // conv2, conv3
    size_t call = 0;
    sensitivity_analysis(layers, {0.6}, [&]() {
      const PrunableLayer& l = copy.layers[1 + call];
      auto pruned = random_parameter("x", l.weight->value().shape(), 0);
      pruned->value().copy_from(l.weight->value());
      magnitude_prune({pruned.get()}, {0.6}, {position_scale_factors(ps, l.m, l.r)});
      REQUIRE(net.layers[1 + call].weight->value().to_vector() == pruned->value().to_vector());
      ++call;
      return EvalMetrics{};
    }, ps);
    REQUIRE(call == 2);
  }
}

TEST_CASE("position_scale config: default, every mask pruner, round trip and errors",
          "[prune][position_scale][config]") {
  PruningConfig c = parse_pruning(R"({"pruners": {
      "a": {"type": "magnitude", "layers": ["conv2"], "sparsity": 0.5, "position_scale": "none"},
      "b": {"type": "gradual", "layers": ["conv3"], "final_sparsity": 0.5,
            "position_scale": "output"},
      "c": {"type": "steps", "layers": ["conv4"], "schedule": [[0, 0.5]], "global": true,
            "position_scale": "output_input"},
      "d": {"type": "magnitude", "layers": ["conv5"], "sparsity": 0.5}}})");
  REQUIRE(pruner_ranking(c.pruners[0].spec)->position_scale == PositionScale::none);
  REQUIRE(pruner_ranking(c.pruners[1].spec)->position_scale == PositionScale::output);
  REQUIRE(pruner_ranking(c.pruners[2].spec)->position_scale == PositionScale::output_input);
  REQUIRE(pruner_ranking(c.pruners[3].spec)->position_scale == kDefaultPositionScale);
  REQUIRE(kDefaultPositionScale == PositionScale::output_input);

  json out = pruning_config_to_json(c);
  REQUIRE(out["pruners"]["a"]["position_scale"] == "none");
  REQUIRE(out["pruners"]["d"]["position_scale"] == "output_input");   // default written out
  JsonReader r(out, "phases[0]");
  PruningConfig again = parse_pruning_config(r);
  r.finish();
  REQUIRE(pruning_config_to_json(again) == out);

  REQUIRE(pruning_error(R"({"pruners": {"g1": {"type": "gradual", "layers": ["conv2"],
                               "final_sparsity": 0.9, "position_scale": "outputs"}}})") ==
          "phases[2].pruners.g1.position_scale: expected one of \"none\", \"output\", "
          "\"output_input\", got \"outputs\"");
  REQUIRE(pruning_error(R"({"pruners": {"g1": {"type": "gradual", "layers": ["conv2"],
                               "final_sparsity": 0.9, "position_scale": true}}})") ==
          "phases[2].pruners.g1.position_scale: expected a string, got true");
  // The threshold pruner has its own per-position rule ("per_position"): the key is unknown.
  REQUIRE(pruning_error(R"({"pruners": {"t": {"type": "threshold", "layers": "winograd",
                               "position_scale": "output"}}})")
              .rfind("phases[2].pruners.t.position_scale: unknown key", 0) == 0);

  // Sensitivity sweeps read the same key.
  json s = json::parse(R"({"layers": "winograd", "position_scale": "output"})");
  JsonReader sr(s, "phases[3]");
  SensitivityConfig sc = parse_sensitivity_config(sr);
  sr.finish();
  REQUIRE(sc.position_scale == PositionScale::output);
  json sj = sensitivity_config_to_json(sc);
  REQUIRE(sj["position_scale"] == "output");
  REQUIRE(sj["layers"] == "winograd");
  JsonReader sr2(sj, "phases[3]");
  REQUIRE(sensitivity_config_to_json(parse_sensitivity_config(sr2)) == sj);
  json bad = json::parse(R"({"layers": "winograd", "position_scale": "all"})");
  JsonReader br(bad, "phases[3]");
  REQUIRE_THROWS_WITH(parse_sensitivity_config(br),
                      "phases[3].position_scale: expected one of \"none\", \"output\", "
                      "\"output_input\", got \"all\"");
  json def = json::parse(R"({"layers": "winograd"})");
  JsonReader dr(def, "phases[3]");
  REQUIRE(parse_sensitivity_config(dr).position_scale == kDefaultPositionScale);
}
