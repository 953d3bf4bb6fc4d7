// PruningScheduler driven by a simulated training loop (wp::Optimizer, random gradients): exact
// per-step targets, units, the threshold pruner's window, statistics and resolution errors.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "prune_support.h"
#include "winoprune/optim/optimizer.h"
#include "winoprune/prune/magnitude.h"
#include "winoprune/prune/schedule.h"

using namespace wp;
using namespace wp::test;

namespace {

PruningConfig config_of(const std::string& text) {
  json j = json::parse(text);
  JsonReader phase(j, "phases[1]");
  PruningConfig c = parse_pruning_config(phase);
  phase.finish();
  return c;
}

OptimizerConfig sgd_config() {
  OptimizerConfig c;
  c.lr = 0.05;
  c.momentum = 0.9;
  c.weight_decay = 5e-4;
  return c;
}

// Exact zeros of TestNet's conv2 weight [36, 128] at one Winograd position.
int64_t zeros_at_position(const Parameter& conv2, int64_t j) {
  int64_t zeros = 0;
  for (int64_t i = 0; i < 128; ++i) zeros += conv2.value()[j * 128 + i] == 0.0f;
  return zeros;
}

// The loop of scheduler.h; `check(epoch, iter)` runs after every after_optimizer_step and
// `epoch_check(epoch)` after every on_epoch_begin.
struct Loop {
  TestNet& net;
  PruningScheduler& sched;
  Optimizer sgd;
  uint64_t seed = 1000;
  Loop(TestNet& n, PruningScheduler& s) : net(n), sched(s), sgd(n.parameters(), sgd_config()) {}
  void run(int64_t epochs, int64_t ipe, const std::function<void(int64_t)>& epoch_check,
           const std::function<void(int64_t, int64_t)>& check) {
    for (int64_t e = 0; e < epochs; ++e) {
      sched.on_epoch_begin(e);
      if (epoch_check) epoch_check(e);
      for (int64_t i = 0; i < ipe; ++i) {
        sched.on_minibatch_begin(e, i, ipe);
        sgd.zero_grad();
        for (Parameter* p : net.parameters()) {
          auto g = random_vector<float>(size_t(p->value().numel()), ++seed);
          p->var->grad_buffer().copy_from(Tensor::from_vector(p->value().shape(), g));
        }
        sched.after_backward(e, i, ipe);
        sgd.step(float(sgd.config().lr));
        sched.after_optimizer_step(e, i, ipe);
        if (check) check(e, i);
      }
      sched.on_epoch_end(e);
    }
  }
};

int64_t zeros_of_layer(TestNet& net, const std::string& name) {
  return zeros_of(net.weight(name).value());
}

std::string error_of(const std::string& config, TestNet& net, int64_t epochs = 10) {
  try {
    PruningScheduler s(config_of(config), net.layers, epochs);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("gradual pruner: exact AGP counts at every step, final exactly, nothing regrows",
          "[prune][scheduler]") {
  TestNet net(21);
  PruningScheduler sched(config_of(R"({
      "pruners": {"agp": {"type": "gradual", "layers": ["conv2", "conv3"],
                          "initial_sparsity": 0.2, "final_sparsity": 0.85}},
      "policies": [{"pruner": "agp", "start": 1, "end": 8, "frequency": 2}]})"),
                         net.layers, 10);
  Loop loop(net, sched);
  std::vector<int64_t> expected_zeros;
  loop.run(10, 3,
           [&](int64_t e) {
             // Steps at 1, 3, 5, 7 (span 6); the target holds in between and after.
             for (const char* name : {"conv2", "conv3"}) {
               const int64_t n = net.weight(name).value().numel();
               const int64_t want =
                   e < 1 ? 0 : prune_count(agp_target(0.2, 0.85, 1, 8, 2, e), n);
               INFO("epoch " << e << " " << name);
               REQUIRE(zeros_of_layer(net, name) == want);
             }
             if (e == 7) REQUIRE(sched.last_targets() ==
                                 std::vector<std::pair<std::string, double>>{{"conv2", 0.85},
                                                                             {"conv3", 0.85}});
           },
           [&](int64_t, int64_t) {
             for (auto& l : net.layers) {
               const Parameter& p = *l.weight;
               if (!p.mask.defined()) continue;
               for (int64_t i = 0; i < p.value().numel(); ++i)
                 if (p.mask[i] == 0.0f) REQUIRE((p.value()[i] == 0.0f && p.momentum[i] == 0.0f));
             }
           });
  REQUIRE(zeros_of_layer(net, "conv2") == prune_count(0.85, 36 * 16 * 8));
  REQUIRE(zeros_of_layer(net, "conv3") == prune_count(0.85, 16 * 16 * 16));
  REQUIRE_FALSE(net.weight("conv1").mask.defined());
  REQUIRE(zeros_of_layer(net, "conv1") == 0);
  REQUIRE(zeros_of_layer(net, "fc6") == 0);
}

TEST_CASE("iteration unit, per-layer magnitude targets and a global steps schedule",
          "[prune][scheduler]") {
  TestNet net(22);
  PruningScheduler sched(config_of(R"({
      "pruners": {
        "m": {"type": "magnitude", "sparsity": {"conv1": 0.5, "fc6": 0.75}},
        "s": {"type": "steps", "layers": "winograd", "global": true,
              "schedule": [[2, 0.3], [5, 0.6], [9, 0.9]]}},
      "policies": [{"pruner": "m", "start": 4, "end": 5, "unit": "iteration"},
                   {"pruner": "s", "unit": "iteration", "frequency": 1}]})"),
                         net.layers, 4);
  Loop loop(net, sched);
  const int64_t n_conv2 = 36 * 16 * 8, n_conv3 = 16 * 16 * 16, n_wino = n_conv2 + n_conv3;
  loop.run(4, 3, nullptr, [&](int64_t e, int64_t i) {
    const int64_t t = e * 3 + i;
    INFO("t " << t);
    // m fires once at t = 4 (epoch 1, iteration 1), before that step's update.
    REQUIRE(zeros_of_layer(net, "conv1") == (t >= 4 ? prune_count(0.5, 8 * 27) : 0));
    REQUIRE(zeros_of_layer(net, "fc6") == (t >= 4 ? prune_count(0.75, 640) : 0));
    const double s = t < 2 ? 0.0 : (t < 5 ? 0.3 : (t < 9 ? 0.6 : 0.9));
    REQUIRE(zeros_of_layer(net, "conv2") + zeros_of_layer(net, "conv3") ==
            prune_count(s, n_wino));
  });
}

TEST_CASE("threshold pruner: per-position thresholds, regrowth in the window, frozen after",
          "[prune][scheduler]") {
  TestNet net(23);
  // A mask left by an earlier phase: the threshold window removes it.
  magnitude_prune({&net.weight("conv2")}, {0.5});
  PruningScheduler sched(config_of(R"({
      "pruners": {"t": {"type": "threshold", "layers": ["conv2", "fc6"], "thr0": 0.05,
                        "l1": 1e-3}},
      "policies": [{"pruner": "t", "start": 1, "end": 3}]})"),
                         net.layers, 5);
  const std::vector<double> thr = per_position_thresholds(4, 3, 0.05);
  Parameter& conv2 = net.weight("conv2");
  Parameter& fc6 = net.weight("fc6");
  Tensor zero_before;   // conv2's zeros after the previous step
  int64_t regrown = 0, frozen_zeros = -1;
  Loop loop(net, sched);
  loop.run(5, 4,
           [&](int64_t e) {
             const bool window = e >= 1 && e < 3;
             REQUIRE(conv2.mask.defined() == !window);
             REQUIRE(conv2.l1 == (window ? 1e-3f : 0.0f));
             REQUIRE(fc6.l1 == (window ? 1e-3f : 0.0f));
           },
           [&](int64_t e, int64_t) {
             const bool window = e >= 1 && e < 3;
             if (window) {
               for (int64_t j = 0; j < 36; ++j)
                 for (int64_t i = 0; i < 128; ++i) {
                   float w = conv2.value()[j * 128 + i];
                   REQUIRE((w == 0.0f || std::fabs(w) > float(thr[size_t(j)])));
                 }
               for (int64_t i = 0; i < fc6.value().numel(); ++i)
                 REQUIRE((fc6.value()[i] == 0.0f || std::fabs(fc6.value()[i]) > 0.05f));
               if (zero_before.defined())
                 for (int64_t i = 0; i < conv2.value().numel(); ++i)
                   regrown += zero_before[i] == 0.0f && conv2.value()[i] != 0.0f;
               zero_before = conv2.value().clone();
             }
             if (e >= 3) {   // frozen: the zeros of the window's last step, exactly
               REQUIRE(conv2.mask.defined());
               if (frozen_zeros < 0) frozen_zeros = zeros_of(conv2.value());
               REQUIRE(zeros_of(conv2.value()) == frozen_zeros);
               REQUIRE(zeros_of(conv2.mask) == frozen_zeros);
               for (int64_t i = 0; i < conv2.value().numel(); ++i)
                 REQUIRE((conv2.value()[i] != 0.0f) == (conv2.mask[i] != 0.0f));
             }
           });
  REQUIRE(regrown > 0);          // no fixed mask in the window: zeros came back
  REQUIRE(frozen_zeros > 0);
  // Positions with the largest thresholds (corners, 0.05) end up sparser than the interior
  // ones (0.05 / 85).
  auto s = sched.stats();
  REQUIRE(s[1].name == "conv2");
  REQUIRE(*s[1].position_sparsity_max > *s[1].position_sparsity_min);
  REQUIRE(zeros_at_position(conv2, 0) > zeros_at_position(conv2, 3 * 6 + 3));
}

TEST_CASE("adaptive threshold uses the loss gradient of the step", "[prune][scheduler]") {
  TestNet net(24);
  PruningScheduler sched(config_of(R"({
      "pruners": {"t": {"type": "threshold", "layers": ["conv2", "fc6"], "thr0": 0.01,
                        "adaptive": true, "factor": 10}}})"),
                         net.layers, 1);
  Parameter& fc6 = net.weight("fc6");
  Parameter& conv2 = net.weight("conv2");
  Tensor fc6_before = fc6.value().clone(), conv2_before = conv2.value().clone();
  // Half of fc6's entries see no gradient (thr = 10 * 0.01), half a large one (thr ~ 0.001).
  Tensor& g = fc6.var->grad_buffer();
  for (int64_t i = 0; i < g.numel(); ++i) g[i] = i % 2 ? 10.0f : 0.0f;
  conv2.var->grad_buffer().zero();
  sched.on_epoch_begin(0);
  sched.on_minibatch_begin(0, 0, 1);
  sched.after_backward(0, 0, 1);
  sched.after_optimizer_step(0, 0, 1);   // no optimizer step: the thresholds alone
  int64_t cut_flat = 0, cut_steep = 0;
  for (int64_t i = 0; i < fc6.value().numel(); ++i) {
    const float thr = float(adaptive_threshold(i % 2 ? 10.0 : 0.0, 0.01, 10));
    const bool cut = std::fabs(fc6_before[i]) <= thr;
    REQUIRE(fc6.value()[i] == (cut ? 0.0f : fc6_before[i]));
    (i % 2 ? cut_steep : cut_flat) += cut;
  }
  REQUIRE(cut_flat > 5 * cut_steep);
  // Per-position and adaptive together: with no gradient thr_j = factor * thr0 / (|A_p||A_q|).
  const auto thr = per_position_thresholds(4, 3, 0.01);
  for (int64_t j = 0; j < 36; ++j)
    for (int64_t i = 0; i < 128; ++i) {
      const float before = conv2_before[j * 128 + i];
      const bool cut = std::fabs(before) <= float(adaptive_threshold(0.0, thr[size_t(j)], 10));
      REQUIRE(conv2.value()[j * 128 + i] == (cut ? 0.0f : before));
    }
  // The one-epoch window closed after its only step: masks frozen from the zeros.
  REQUIRE(fc6.mask.defined());
  REQUIRE(zeros_of(fc6.mask) == zeros_of(fc6.value()));
}

TEST_CASE("adaptive threshold with \"gradient\": \"rms\" averages g^2 over the steps",
          "[prune][scheduler]") {
  // Two steps on fc6 (no optimizer update): a gradient G_i at step 1, none at step 2. The step
  // rule sees |g| = 0 at step 2 and cuts at factor * thr0; the rms rule with decay d sees
  // sqrt(((1-d) d G^2 + 0) / (1 - d^2)) and keeps the entries step 1 found important.
  const double thr0 = 0.01, factor = 10, d = 0.5;
  auto run = [&](bool rms, Tensor& before) {
    TestNet net(31);
    PruningScheduler sched(
        config_of(std::string(R"({"pruners": {"t": {"type": "threshold", "layers": ["fc6"],
            "thr0": 0.01, "adaptive": true, "factor": 10)") +
                  (rms ? R"(, "gradient": "rms", "rms_decay": 0.5)" : "") + R"(}},
            "policies": [{"pruner": "t", "unit": "iteration", "start": 0, "end": 3}]})"),
        net.layers, 1);
    Parameter& fc6 = net.weight("fc6");
    before = fc6.value().clone();
    Tensor& g = fc6.var->grad_buffer();
    for (int64_t i = 0; i < g.numel(); ++i) g[i] = (i % 3) ? 0.0f : 50.0f * float(i % 7 + 1);
    sched.on_epoch_begin(0);
    sched.on_minibatch_begin(0, 0, 3);
    sched.after_backward(0, 0, 3);
    sched.after_optimizer_step(0, 0, 3);
    g.zero();
    sched.on_minibatch_begin(0, 1, 3);
    sched.after_backward(0, 1, 3);
    sched.after_optimizer_step(0, 1, 3);
    return fc6.value().clone();
  };
  Tensor before_step, before_rms;
  Tensor after_step = run(false, before_step), after_rms = run(true, before_rms);
  int64_t kept_by_rms_only = 0;
  for (int64_t i = 0; i < after_step.numel(); ++i) {
    REQUIRE(before_step[i] == before_rms[i]);
    const double w = std::fabs(double(before_step[i]));
    const double G = (i % 3) ? 0.0 : 50.0 * double(i % 7 + 1);
    // Step 1 uses |G| in both rules; step 2 uses 0 (step) or the bias-corrected average.
    const double thr1 = adaptive_threshold(G, thr0, factor);
    const double rms2 = std::sqrt(((1 - d) * d * G * G) / (1 - d * d));
    const bool cut_step = w <= float(thr1) || w <= float(adaptive_threshold(0, thr0, factor));
    const bool cut_rms = w <= float(thr1) || w <= float(adaptive_threshold(rms2, thr0, factor));
    REQUIRE(after_step[i] == (cut_step ? 0.0f : before_step[i]));
    REQUIRE(after_rms[i] == (cut_rms ? 0.0f : before_rms[i]));
    kept_by_rms_only += cut_step && !cut_rms;
  }
  REQUIRE(kept_by_rms_only > 0);   // the case distinguishes the two rules
}

TEST_CASE("a second window of the same threshold pruner starts its gradient average afresh",
          "[prune][scheduler]") {
  // Two one-step windows of one "rms" pruner on fc6 (iterations 0 and 2 of 4, no optimizer
  // update): a gradient G at the first, none at the second. Started afresh, the second window's
  // average is 0 and it cuts at factor * thr0; carried over from the first it would be
  // sqrt(d (1-d) G^2 / (1 - d^2)) and keep what the first window found important.
  const double thr0 = 0.01, factor = 10, d = 0.5;
  TestNet net(32);
  PruningScheduler sched(config_of(R"({"pruners": {"t": {"type": "threshold",
      "layers": ["fc6"], "thr0": 0.01, "adaptive": true, "factor": 10, "gradient": "rms",
      "rms_decay": 0.5}},
      "policies": [{"pruner": "t", "unit": "iteration", "start": 0, "end": 1},
                   {"pruner": "t", "unit": "iteration", "start": 2, "end": 3}]})"),
                         net.layers, 1);
  Parameter& fc6 = net.weight("fc6");
  const Tensor before = fc6.value().clone();
  Tensor& g = fc6.var->grad_buffer();
  auto gradient = [](int64_t i) { return (i % 3) ? 0.0 : 50.0 * double(i % 7 + 1); };
  sched.on_epoch_begin(0);
  for (int64_t it = 0; it < 4; ++it) {
    for (int64_t i = 0; i < g.numel(); ++i) g[i] = it == 0 ? float(gradient(i)) : 0.0f;
    sched.on_minibatch_begin(0, it, 4);
    sched.after_backward(0, it, 4);
    sched.after_optimizer_step(0, it, 4);
    if (it == 0 || it == 2) REQUIRE(fc6.mask.defined());   // each window closed after its step
  }
  int64_t carried_would_keep = 0;
  for (int64_t i = 0; i < before.numel(); ++i) {
    const double w = std::fabs(double(before[i]));
    const double G = gradient(i);
    const bool cut1 = w <= float(adaptive_threshold(G, thr0, factor));
    const bool cut2 = w <= float(adaptive_threshold(0.0, thr0, factor));
    REQUIRE(fc6.value()[i] == (cut1 || cut2 ? 0.0f : before[i]));
    const double carried = std::sqrt(d * (1 - d) * G * G / (1 - d * d));
    carried_would_keep += !cut1 && cut2 && w > float(adaptive_threshold(carried, thr0, factor));
  }
  REQUIRE(carried_would_keep > 0);   // the case tells a fresh average from a carried one
}

TEST_CASE("layer statistics: exact zeros, nnz, per-position min and max", "[prune][scheduler]") {
  TestNet net(25);
  Parameter& conv2 = net.weight("conv2");   // [36, 16, 8]: 128 per position
  for (int64_t i = 0; i < 128; ++i) conv2.value()[i] = 0.0f;          // position 0: all
  for (int64_t i = 0; i < 64; ++i) conv2.value()[128 + i] = -0.0f;    // position 1: half
  auto s = layer_sparsities(net.layers);
  REQUIRE(s.size() == 4);
  REQUIRE(s[1].name == "conv2");
  REQUIRE(s[1].kind == "winograd");
  REQUIRE(s[1].params == 4608);
  REQUIRE(s[1].nnz == 4608 - 192);
  REQUIRE(s[1].sparsity == Approx(192.0 / 4608));
  REQUIRE(*s[1].position_sparsity_min == 0.0);
  REQUIRE(*s[1].position_sparsity_max == 1.0);
  REQUIRE(*s[2].position_sparsity_max == 0.0);
  REQUIRE_FALSE(s[0].position_sparsity_min);   // spatial conv
  REQUIRE_FALSE(s[3].position_sparsity_max);   // fc
  REQUIRE(s[3].sparsity == 0.0);

  freeze_masks(net.layers);
  REQUIRE(conv2.mask.defined());
  REQUIRE(zeros_of(conv2.mask) == 192);
  REQUIRE_FALSE(net.weight("fc6").mask.defined());   // dense and unmasked: left alone
}

TEST_CASE("scheduler resolution errors name the config path", "[prune][scheduler]") {
  TestNet net(26);
  REQUIRE(error_of(R"({"pruners": {"p": {"type": "magnitude", "layers": ["conv9"],
                                         "sparsity": 0.5}}})", net) ==
          "phases[1].pruners.p.layers: no weight layer \"conv9\" (the model has: conv1, conv2, "
          "conv3, fc6)");
  REQUIRE(error_of(R"({"pruners": {"p": {"type": "magnitude", "regex": "fc[78]",
                                         "sparsity": 0.5}}})", net) ==
          "phases[1].pruners.p.regex: \"fc[78]\" matches no weight layer (the model has: conv1, "
          "conv2, conv3, fc6)");
  REQUIRE(error_of(R"({"pruners": {
            "a": {"type": "magnitude", "regex": "conv[2-3]", "sparsity": 0.5},
            "b": {"type": "gradual", "layers": ["conv3"], "final_sparsity": 0.5}}})", net) ==
          "phases[1].pruners.b: layer \"conv3\" is already pruned by pruner \"a\" (one pruner "
          "per layer and phase)");
  REQUIRE(error_of(R"({"pruners": {"p": {"type": "magnitude", "layers": ["conv2"],
                                         "sparsity": {"conv3": 0.5}}}})", net)
              .rfind("phases[1].pruners.p.sparsity.conv3: layer \"conv3\" is not selected", 0) == 0);
  REQUIRE(error_of(R"({"pruners": {"p": {"type": "magnitude", "layers": ["conv2", "conv3"],
                                         "sparsity": {"conv3": 0.5}}}})", net) ==
          "phases[1].pruners.p.sparsity: no target for selected layer \"conv2\"");
  REQUIRE(error_of(R"({"pruners": {"p": {"type": "magnitude", "layers": ["conv2"],
                                         "sparsity": 0.5}},
                      "policies": [{"pruner": "p", "start": 0, "end": 12}]})", net) ==
          "phases[1].policies[0].end: the phase has 10 epochs and end is exclusive, got 12 (the "
          "schedule would never finish)");
  REQUIRE(error_of(R"({"pruners": {"p": {"type": "magnitude", "layers": ["conv2"],
                                         "sparsity": 0.5}},
                      "policies": [{"pruner": "p", "start": 10}]})", net)
              .rfind("phases[1].policies[0].start: the phase has 10 epochs", 0) == 0);
  TestNet spatial(27);
  spatial.layers.erase(spatial.layers.begin() + 1, spatial.layers.begin() + 3);
  REQUIRE(error_of(R"({"pruners": {"p": {"type": "magnitude", "layers": "winograd",
                                         "sparsity": 0.5}}})", spatial) ==
          "phases[1].pruners.p.layers: \"winograd\" selects nothing: the model has no Winograd "
          "layer at this phase (a convert phase before it, or model.winograd, makes some)");
  // "winograd" and regex select in network order.
  LayerSelection sel;
  sel.all_winograd = true;
  auto w = select_layers(sel, net.layers);
  REQUIRE(w.size() == 2);
  REQUIRE(w[0].name == "conv2");
  REQUIRE(w[1].name == "conv3");
  sel = LayerSelection();
  sel.regex = "conv[13]|fc.*";
  w = select_layers(sel, net.layers);
  REQUIRE(w.size() == 3);
  REQUIRE(w[2].name == "fc6");
}

TEST_CASE("gradual pruner in iterations with an open end lands on final at the last step",
          "[prune][scheduler]") {
  // 3 epochs x 4 iterations = 12 steps; start 2, frequency 3, end open (12): steps 2, 5, 8, 11.
  TestNet net(28);
  PruningScheduler sched(config_of(R"({
      "pruners": {"g": {"type": "gradual", "layers": ["fc6"], "final_sparsity": 0.8}},
      "policies": [{"pruner": "g", "start": 2, "frequency": 3, "unit": "iteration"}]})"),
                         net.layers, 3);
  Loop loop(net, sched);
  std::vector<int64_t> zeros;
  loop.run(3, 4, nullptr, [&](int64_t, int64_t) { zeros.push_back(zeros_of_layer(net, "fc6")); });
  std::vector<int64_t> want;
  for (int64_t t = 0; t < 12; ++t)
    want.push_back(t < 2 ? 0 : prune_count(agp_target(0.0, 0.8, 2, 12, 3, t), 640));
  REQUIRE(zeros == want);
  REQUIRE(zeros.back() == prune_count(0.8, 640));
  REQUIRE(zeros[10] < zeros[11]);   // the final step is the last iteration, not earlier
}

TEST_CASE("a resumed phase does not reopen a closed iteration-unit threshold window",
          "[prune][scheduler]") {
  // Window: iterations [0, 4) of a 3-epoch phase with 4 iterations per epoch, i.e. epoch 0.
  TestNet net(29);
  const std::string text = R"({
      "pruners": {"t": {"type": "threshold", "layers": ["fc6"], "thr0": 0.05}},
      "policies": [{"pruner": "t", "start": 0, "end": 4, "unit": "iteration"}]})";
  {
    PruningScheduler sched(config_of(text), net.layers, 3);
    Loop loop(net, sched);
    loop.run(1, 4, nullptr, nullptr);
  }
  Parameter& fc6 = net.weight("fc6");
  REQUIRE(fc6.mask.defined());
  const int64_t zeros = zeros_of(fc6.mask);
  REQUIRE(zeros > 0);
  // Resume at epoch 2: on_epoch_begin comes before the first minibatch hook tells the
  // iterations per epoch; the mask must survive.
  PruningScheduler resumed(config_of(text), net.layers, 3);
  resumed.on_epoch_begin(2);
  REQUIRE(fc6.mask.defined());
  resumed.on_minibatch_begin(2, 0, 4);
  REQUIRE(fc6.mask.defined());
  REQUIRE(zeros_of(fc6.mask) == zeros);
  REQUIRE(fc6.l1 == 0.0f);
}

TEST_CASE("threshold pruner with final_sparsity: the AGP target each step, exactly s_f at the end",
          "[prune][scheduler]") {
  // Iteration unit, window [2, 22) of a 6 x 4 = 24-step phase: s_t = agp_target(0.1, 0.9, 2,
  // 22, 1, t). After every step the layer's zeros are at least s_t of it (ties at the cut
  // can only add zeros) and every zero sits below the entries kept in the per-position rule's
  // ranking |W| / thr_j; the last step lands on 0.9 and the masks freeze there.
  TestNet net(25);
  PruningScheduler sched(config_of(R"({
      "pruners": {"t": {"type": "threshold", "layers": ["conv2", "fc6"], "thr0": 1e-4,
                        "l1": 1e-4, "adaptive": true, "final_sparsity": 0.9,
                        "initial_sparsity": 0.1}},
      "policies": [{"pruner": "t", "unit": "iteration", "start": 2, "end": 22}]})"),
                         net.layers, 6);
  Parameter& conv2 = net.weight("conv2");
  Parameter& fc6 = net.weight("fc6");
  const int64_t ipe = 4;
  double last_target_seen = -1;
  Loop loop(net, sched);
  loop.run(6, ipe, nullptr, [&](int64_t e, int64_t i) {
    const int64_t t = e * ipe + i;
    if (t < 2) {
      REQUIRE(zeros_of(conv2.value()) == 0);
      return;
    }
    for (Parameter* p : {&conv2, &fc6}) {
      const int64_t n = p->value().numel();
      const double s = double(zeros_of(p->value())) / double(n);
      if (t < 22) {
        const double want = agp_target(0.1, 0.9, 2, 22, 1, t);
        if ((t - 2) % 16 == 0 || t == 21) {   // a re-chosen cut: the target, to one entry
          REQUIRE(s >= want - 1.0 / double(n));
          REQUIRE(s <= want + 2.0 / double(n));
        }
        if (t == 21) REQUIRE(s == Approx(0.9).margin(2.0 / double(n)));
      }
    }
    if (t == 21) last_target_seen = sched.last_targets().front().second;
    if (t >= 22) {   // frozen
      REQUIRE(conv2.mask.defined());
      REQUIRE(zeros_of(conv2.mask) == zeros_of(conv2.value()));
      REQUIRE(double(zeros_of(conv2.value())) / double(conv2.value().numel()) ==
              Approx(0.9).margin(2e-4));
      REQUIRE(conv2.l1 == 0.0f);
    }
  });
  REQUIRE(last_target_seen == Approx(0.9));
  // The per-position rule still decides WHICH entries go: corners (largest thr_j) sparser.
  REQUIRE(zeros_at_position(conv2, 0) > zeros_at_position(conv2, 3 * 6 + 3));
}

TEST_CASE("threshold pruner config: final_sparsity and initial_sparsity errors", "[prune][config]") {
  auto error = [](const std::string& pruner) {
    try {
      config_of(R"({"pruners": {"t": )" + pruner + "}}");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(error(R"({"type": "threshold", "layers": "winograd", "final_sparsity": 1.0})"),
             Catch::Contains("phases[1].pruners.t.final_sparsity"));
  CHECK_THAT(error(R"({"type": "threshold", "layers": "winograd", "initial_sparsity": 0.5})"),
             Catch::Contains("phases[1].pruners.t.initial_sparsity: needs final_sparsity"));
  CHECK_THAT(error(R"({"type": "threshold", "layers": "winograd", "final_sparsity": 0.5,
                       "initial_sparsity": 0.7})"),
             Catch::Contains("phases[1].pruners.t.initial_sparsity: must be at most"));
  PruningConfig c = config_of(R"({"pruners": {"t": {"type": "threshold", "layers": "winograd",
                                   "final_sparsity": 0.95}}})");
  json back = pruning_config_to_json(c);
  REQUIRE(back["pruners"]["t"]["final_sparsity"] == 0.95);
  REQUIRE(back["pruners"]["t"]["initial_sparsity"] == 0.0);
}

TEST_CASE("fisher saliency ranks by |w| sqrt(mean g^2) since the last event, magnitude before "
          "any gradient",
          "[prune][scheduler]") {
  const char* text = R"({
      "pruners": {"f": {"type": "magnitude", "layers": ["conv2", "fc6"], "sparsity": 0.5,
                        "saliency": "fisher"}},
      "policies": [{"pruner": "f", "unit": "iteration", "start": 3, "end": 4}]})";
  TestNet net(31);
  PruningScheduler sched(config_of(text), net.layers, 1);
  // Weights stay fixed (no optimizer step): the ranking sees exactly the gradients set here.
  std::map<std::string, std::vector<float>> sum_sq;
  sched.on_epoch_begin(0);
  for (int64_t i = 0; i < 3; ++i) {
    sched.on_minibatch_begin(0, i, 10);
    for (Parameter* p : net.parameters()) {
      // Gradients whose scale varies along the weight, so the ranking differs from |w|.
      auto g = random_vector<float>(size_t(p->value().numel()), 500 + uint64_t(i));
      for (size_t k = 0; k < g.size(); ++k) g[k] *= float(1 + k % 7);
      p->var->grad_buffer().copy_from(Tensor::from_vector(p->value().shape(), g));
      auto& acc = sum_sq[p->name];
      acc.resize(g.size());
      for (size_t k = 0; k < g.size(); ++k) acc[k] += g[k] * g[k];
    }
    sched.after_backward(0, i, 10);
    sched.after_optimizer_step(0, i, 10);
  }
  std::map<std::string, std::set<int64_t>> want;
  for (const char* name : {"conv2", "fc6"}) {
    const Parameter& p = net.weight(name);
    REQUIRE_FALSE(p.mask.defined());
    // The expected ranking, with the scheduler's float operations: key of |w| * sqrt(sum / 3).
    const auto& acc = sum_sq[p.name];
    const int64_t n = p.value().numel();
    std::vector<std::pair<float, int64_t>> fisher, magnitude;
    for (int64_t k = 0; k < n; ++k) {
      const float e = std::sqrt(acc[size_t(k)] * (1.0f / 3.0f));
      fisher.emplace_back(float(std::fabs(double(p.value()[k])) * double(e)), k);
      magnitude.emplace_back(std::fabs(p.value()[k]), k);
    }
    std::sort(fisher.begin(), fisher.end());
    std::sort(magnitude.begin(), magnitude.end());
    std::set<int64_t> by_magnitude;
    for (int64_t k = 0; k < prune_count(0.5, n); ++k) {
      want[name].insert(fisher[size_t(k)].second);
      by_magnitude.insert(magnitude[size_t(k)].second);
    }
    REQUIRE(want[name] != by_magnitude);   // the case tells the two saliencies apart
  }
  sched.on_minibatch_begin(0, 3, 10);   // fires
  for (const char* name : {"conv2", "fc6"}) {
    std::set<int64_t> got;
    for (int64_t k = 0; k < net.weight(name).value().numel(); ++k)
      if (net.weight(name).value()[k] == 0.0f) got.insert(k);
    INFO(name);
    REQUIRE(got == want[name]);
  }

  // Fired before any backward (start 0): the magnitude ranking with position factors.
  TestNet a(32), b(32);
  std::string at_zero = text;
  at_zero.replace(at_zero.find("\"start\": 3, \"end\": 4"), 20, "\"start\": 0, \"end\": 1");
  std::string plain = at_zero;
  plain.replace(plain.find("\"fisher\""), 8, "\"magnitude\"");
  PruningScheduler sa(config_of(at_zero), a.layers, 1), sb(config_of(plain), b.layers, 1);
  sa.on_epoch_begin(0);
  sb.on_epoch_begin(0);
  sa.on_minibatch_begin(0, 0, 10);
  sb.on_minibatch_begin(0, 0, 10);
  for (const char* name : {"conv2", "fc6"}) {
    REQUIRE(zeros_of(a.weight(name).value()) == prune_count(0.5, a.weight(name).value().numel()));
    for (int64_t k = 0; k < a.weight(name).value().numel(); ++k)
      REQUIRE(a.weight(name).mask[k] == b.weight(name).mask[k]);
  }
}

TEST_CASE("saliency config: round trip and errors", "[prune][config]") {
  PruningConfig c = config_of(R"({"pruners": {"g": {"type": "gradual", "layers": "winograd", "final_sparsity": 0.9,
                                                     "saliency": "fisher"}}})");
  json back = pruning_config_to_json(c);
  REQUIRE(back["pruners"]["g"]["saliency"] == "fisher");
  REQUIRE(pruning_config_to_json(config_of(back.dump())) == back);
  REQUIRE(pruner_ranking(c.pruners[0].spec)->saliency == Saliency::fisher);
  try {
    config_of(R"({"pruners": {"g": {"type": "steps", "layers": "winograd", "schedule": [[0, 0.5]],
                                    "saliency": "taylor"}}})");
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK_THAT(e.what(), Catch::Contains("phases[1].pruners.g.saliency: expected one of"));
  }
}

TEST_CASE("scheduler state: the checkpoint format of every pruner type, restored exactly",
          "[prune][scheduler][resume]") {
  // Checkpoints written by earlier builds must resume: the tensor names, the JSON layout and
  // the counters below are the format (scheduler.h, PruningState), pinned for each pruner type.
  const std::string text = R"({
      "pruners": {
        "g": {"type": "gradual", "layers": ["conv2"], "final_sparsity": 0.6,
              "saliency": "fisher"},
        "m": {"type": "magnitude", "layers": ["conv1"], "sparsity": 0.3},
        "s": {"type": "steps", "layers": ["conv3"], "schedule": [[0, 0.2], [5, 0.4]]},
        "t": {"type": "threshold", "layers": ["fc6"], "adaptive": true, "gradient": "rms",
              "final_sparsity": 0.5, "initial_sparsity": 0.1}},
      "policies": [{"pruner": "g", "unit": "iteration", "start": 0, "end": 16, "frequency": 4},
                   {"pruner": "m"}, {"pruner": "s", "unit": "iteration"},
                   {"pruner": "t", "unit": "iteration", "start": 0, "end": 20}]})";
  TestNet net(41);
  PruningScheduler sched(config_of(text), net.layers, 4);
  {
    Loop loop(net, sched);
    loop.run(1, 6, nullptr, nullptr);   // 6 of the phase's 24 iterations
  }
  PruningState st = sched.state();
  std::vector<std::string> names;
  for (const auto& [name, t] : st.tensors) names.push_back(name);
  REQUIRE(names == std::vector<std::string>{"pruning.g.conv2.grad_sq", "pruning.t.fc6.grad_ms"});
  REQUIRE(st.tensors[0].second.shape() == net.weight("conv2").value().shape());
  REQUIRE(st.tensors[1].second.shape() == net.weight("fc6").value().shape());
  // Fisher: the gradients since the event at iteration 4; the other mask pruners keep none.
  CHECK(st.scalars["g"] == json{{"grad_steps", 2}, {"layers", json::object()}});
  CHECK(st.scalars["m"] == json{{"grad_steps", 0}, {"layers", json::object()}});
  CHECK(st.scalars["s"] == json{{"grad_steps", 0}, {"layers", json::object()}});
  // Threshold: per layer, the rms average's steps and the cut (chosen at step 0, held since).
  REQUIRE(st.scalars["t"].size() == 2);
  CHECK(st.scalars["t"]["grad_steps"] == 0);
  const json& fc6 = st.scalars["t"]["layers"]["fc6"];
  REQUIRE(st.scalars["t"]["layers"].size() == 1);
  REQUIRE(fc6.size() == 3);
  CHECK(fc6["grad_steps"] == 6);
  CHECK(fc6["steps_since_cut"] == 6);
  CHECK(fc6["cut"].get<double>() > 0);
  // The targets the pruners set, in the order first set: conv1 at the epoch's begin, conv2 and
  // conv3 at its first iteration, fc6 after that iteration's step.
  REQUIRE(st.scalars["targets"].size() == 4);
  std::vector<std::string> target_layers;
  for (const json& e : st.scalars["targets"]) target_layers.push_back(e[0]);
  CHECK(target_layers == std::vector<std::string>{"conv1", "conv2", "conv3", "fc6"});
  REQUIRE(st.scalars.size() == 5);

  // restore() of that state gives it back, key for key and bit for bit.
  PruningScheduler resumed(config_of(text), net.layers, 4);
  resumed.restore(st, "ckpt.safetensors");
  PruningState again = resumed.state();
  CHECK(again.scalars == st.scalars);
  REQUIRE(again.tensors.size() == st.tensors.size());
  for (size_t i = 0; i < st.tensors.size(); ++i) {
    CHECK(again.tensors[i].first == st.tensors[i].first);
    const Tensor& a = again.tensors[i].second;
    const Tensor& b = st.tensors[i].second;
    REQUIRE(a.shape() == b.shape());
    CHECK(std::equal(a.data(), a.data() + a.numel(), b.data()));
  }
  // A state without one pruner's entry is refused, naming the file.
  PruningState missing = st;
  missing.scalars.erase("t");
  try {
    resumed.restore(missing, "ckpt.safetensors");
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("ckpt.safetensors: pruning state: no entry for "
                                           "pruner \"t\""));
  }
}
