// Sensitivity sweeps (one layer at a time, weights restored), the spatial-pruning baseline,
// and the prunable layers of a real model.
#include <cstdio>

#include "prune_support.h"
#include "winoprune/nn/model.h"
#include "winoprune/prune/magnitude.h"
#include "winoprune/prune/sensitivity.h"
#include "winoprune/prune/spatial_baseline.h"

using namespace wp;
using namespace wp::test;

TEST_CASE("sensitivity sweep prunes one layer at a time and restores it exactly",
          "[prune][sensitivity]") {
  TestNet net(31);
  magnitude_prune({&net.weight("conv3")}, {0.3});   // an existing mask is left as is
  std::vector<Tensor> before;
  std::vector<Tensor> masks_before;
  for (auto& l : net.layers) {
    before.push_back(l.weight->value().clone());
    masks_before.push_back(l.weight->mask.defined() ? l.weight->mask.clone() : Tensor());
  }
  json j = json::parse(R"({"regex": "conv[23]", "range": [0, 0.95, 0.05]})");
  JsonReader r(j, "phases[3]");
  SensitivityConfig sc = parse_sensitivity_config(r);
  r.finish();
  const auto levels = sc.levels();
  REQUIRE(levels.size() == 20);
  REQUIRE(levels.back() == 0.95);
  const auto layers = select_layers(sc.layers, net.layers);

  size_t calls = 0;
  auto rows = sensitivity_analysis(layers, levels, [&]() {
    // Exactly one selected layer is pruned, to the current level; the others are untouched.
    const std::string& layer = layers[calls / levels.size()].name;
    const double level = levels[calls % levels.size()];
    for (size_t l = 0; l < net.layers.size(); ++l) {
      const Tensor& w = net.layers[l].weight->value();
      if (net.layers[l].name == layer) {
        const int64_t want = std::max(prune_count(level, w.numel()), zeros_of(before[l]));
        REQUIRE(zeros_of(w) == want);
      } else {
        REQUIRE(w.to_vector() == before[l].to_vector());
      }
    }
    ++calls;
    return EvalMetrics{1.0 - level, 1.0, level * 2};
  });
  REQUIRE(calls == 40);
  REQUIRE(rows.size() == 40);
  REQUIRE(rows[0].layer == "conv2");
  REQUIRE(rows[0].sparsity == 0.0);
  REQUIRE(rows[19].sparsity == 0.95);
  REQUIRE(rows[20].layer == "conv3");
  REQUIRE(rows[25].top1 == Approx(1.0 - 0.25));
  REQUIRE(rows[25].loss == Approx(0.5));
  for (size_t l = 0; l < net.layers.size(); ++l) {
    REQUIRE(net.layers[l].weight->value().to_vector() == before[l].to_vector());
    if (masks_before[l].defined())
      REQUIRE(net.layers[l].weight->mask.to_vector() == masks_before[l].to_vector());
    else
      REQUIRE_FALSE(net.layers[l].weight->mask.defined());
  }

  // An evaluate() that throws leaves the weights restored too.
  REQUIRE_THROWS(sensitivity_analysis(layers, {0.9}, []() -> EvalMetrics {
    throw std::runtime_error("out of memory");
  }));
  for (size_t l = 0; l < net.layers.size(); ++l)
    REQUIRE(net.layers[l].weight->value().to_vector() == before[l].to_vector());
}

TEST_CASE("sensitivity config errors", "[prune][sensitivity]") {
  auto error_of = [](const char* text) -> std::string {
    json j = json::parse(text);
    JsonReader r(j, "phases[3]");
    try {
      parse_sensitivity_config(r);
      r.finish();
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  };
  REQUIRE(error_of(R"({"layers": ["conv2"], "range": [0, 1.2, 0.1]})") ==
          "phases[3].range: expected [start, stop, step] with 0 <= start <= stop <= 1 and "
          "step > 0, got [0,1.2,0.1]");
  REQUIRE(error_of(R"({"layers": ["conv2"], "range": [0.5, 0.2, 0.1]})").rfind(
              "phases[3].range: expected", 0) == 0);
  REQUIRE(error_of(R"({"range": [0, 0.9, 0.1]})").rfind("phases[3].layers: is required", 0) == 0);
  REQUIRE(error_of(R"({"layers": "winograd", "rnage": [0, 0.9, 0.1]})")
              .rfind("phases[3].rnage: unknown key", 0) == 0);
  REQUIRE(error_of(R"({"layers": "winograd"})").empty());   // default range [0, 0.95, 0.05]
}

TEST_CASE("spatial pruning leaves little Winograd-domain sparsity", "[prune][baseline]") {
  // g [K=64, C=32, 3, 3]: 18,432 weights, 2048 kernels; F(4x4,3x3).
  auto gv = random_vector<float>(64 * 32 * 9, 41);
  Tensor g = Tensor::from_vector({64, 32, 3, 3}, gv);
  std::printf("spatial sparsity -> Winograd F(4x4,3x3) sparsity (exact zeros / |W| <= 1e-6 max"
              " / predicted)\n");
  for (double s : {0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95}) {
    SpatialBaselineResult r = spatial_pruning_baseline(g, 4, s);
    const double predicted = spatial_baseline_expected_sparsity(4, 3, s);
    std::printf("  %.2f -> %.4f / %.4f / %.4f\n", r.spatial_sparsity, r.winograd_sparsity,
                r.winograd_near_zero, predicted);
    INFO("spatial sparsity " << s);
    REQUIRE(r.spatial_sparsity == Approx(s).margin(1e-4));
    // Exact structural zeros only: corners need 1 zero, edges 3, the interior all 9.
    REQUIRE(r.winograd_sparsity == Approx(predicted).margin(0.02));
    REQUIRE(r.winograd_near_zero == Approx(r.winograd_sparsity).margin(0.005));
    if (s > 0) REQUIRE(r.winograd_sparsity < s);
  }
  REQUIRE(spatial_baseline_expected_sparsity(4, 3, 0.5) == Approx(0.1120).margin(1e-4));
  REQUIRE(spatial_baseline_expected_sparsity(4, 3, 0.9) == Approx(0.5962).margin(1e-4));
  // F(2x2,3x3): G rows [1,0,0] [., ., .] [., ., .] [0,0,1]: 4 corners, 8 edges, 4 interior.
  REQUIRE(spatial_baseline_expected_sparsity(2, 3, 0.5) ==
          Approx((4 * 0.5 + 8 * 0.125 + 4 * std::pow(0.5, 9)) / 16));
}

TEST_CASE("prunable_layers of an alexnet-small with Winograd conv2..conv5", "[prune][model]") {
  ModelConfig c;
  c.arch = "alexnet-small";
  c.widths = {8, 16, 16, 16, 8};
  c.fc_widths = {32, 32};
  c.winograd_layers = {"conv2", "conv3", "conv4", "conv5"};
  c.winograd_m = {{"conv2", 2}};
  Rng rng(5);
  auto model = build_model(c, rng);
  auto layers = prunable_layers(*model);
  std::vector<std::string> names;
  for (auto& l : layers) names.push_back(l.name);
  REQUIRE(names == std::vector<std::string>{"conv1", "conv2", "conv3", "conv4", "conv5", "fc6",
                                            "fc7", "fc8"});
  REQUIRE(layers[0].kind == "conv");
  REQUIRE(layers[1].kind == "winograd");
  REQUIRE(layers[1].m == 2);
  REQUIRE(layers[1].r == 5);                          // alexnet-small conv2 is 5x5
  REQUIRE(layers[1].weight->value().dim(0) == 36);    // F(2x2,5x5): t = 6
  REQUIRE(layers[2].m == 4);
  REQUIRE(layers[2].r == 3);
  REQUIRE(layers[2].weight->value().dim(0) == 36);
  REQUIRE(layers[5].kind == "fc");
  REQUIRE(layers[5].weight == model->find_parameter("fc6.weight"));
  // The whole path on a real model: a gradual pruner over the Winograd layers.
  json j = json::parse(R"({"pruners": {"g": {"type": "gradual", "layers": "winograd",
                                             "final_sparsity": 0.9}}})");
  JsonReader r(j, "phases[0]");
  PruningScheduler sched(parse_pruning_config(r), layers, 1);
  sched.on_epoch_begin(0);
  for (auto& s : sched.stats())
    if (s.kind == "winograd") {
      REQUIRE(s.nnz == s.params - prune_count(0.9, s.params));
      REQUIRE(*s.position_sparsity_min <= 0.9);
      REQUIRE(*s.position_sparsity_max >= 0.9);
    } else {
      REQUIRE(s.nnz == s.params);
    }
}
