// SGD: the update formula on hand-computed values, multipliers, L1, masks, config parsing.
#include "support.h"
#include "winoprune/nn/layers.h"
#include "winoprune/optim/optimizer.h"

using namespace wp;

namespace {

Parameter param(const std::string& name, std::vector<float> values, bool weight = true) {
  Parameter p = make_parameter(name.substr(0, name.find('.')), name.c_str() + name.find('.') + 1,
                               {int64_t(values.size())}, weight);
  p.value().copy_from(Tensor::from_vector({int64_t(values.size())}, values));
  return p;
}

void set_grad(Parameter& p, std::vector<float> g) {
  p.var->grad_buffer().copy_from(Tensor::from_vector({int64_t(g.size())}, g));
}

OptimizerConfig config(double momentum, bool nesterov, double decay) {
  OptimizerConfig c;
  c.lr = 0.1;
  c.momentum = momentum;
  c.nesterov = nesterov;
  c.weight_decay = decay;
  return c;
}

// The message of parsing `text` as the optimizer object at `path` ("" when it parses).
std::string optimizer_error(const std::string& text, const std::string& path) {
  try {
    JsonReader rr(json::parse(text), path);
    parse_optimizer_config(rr);
  } catch (const InputError& e) {
    return std::string(e.what());
  }
  return std::string();
}

}  // namespace

TEST_CASE("sgd: momentum, Nesterov and weight decay on a hand example", "[nn][sgd]") {
  // w = 1, grad 0.5 twice, lr 0.1, momentum 0.9, weight decay 0.1:
  //   heavy ball: g1 = 0.6, v1 = 0.6, w1 = 0.94; g2 = 0.594, v2 = 1.134, w2 = 0.8266
  //   Nesterov:   g1 = 0.6, v1 = 0.6, d1 = 1.14, w1 = 0.886;
  //               g2 = 0.5886, v2 = 1.1286, d2 = 1.60434, w2 = 0.725566
  //   plain (momentum 0): w1 = 0.94, w2 = 0.94 - 0.1 * 0.594 = 0.8806
  struct Case {
    double momentum;
    bool nesterov;
    float w1, w2;
  } cases[] = {{0.9, false, 0.94f, 0.8266f}, {0.9, true, 0.886f, 0.725566f}, {0.0, false, 0.94f, 0.8806f}};
  for (const Case& k : cases) {
    Parameter p = param("fc.weight", {1.0f});
    Optimizer sgd({&p}, config(k.momentum, k.nesterov, 0.1));
    set_grad(p, {0.5f});
    sgd.step(0.1f);
    REQUIRE(p.value()[0] == Approx(k.w1).epsilon(1e-6));
    sgd.zero_grad();
    REQUIRE_FALSE(p.var->grad.defined());   // released: zero, allocated afresh by the next backward
    set_grad(p, {0.5f});
    sgd.step(0.1f);
    REQUIRE(p.value()[0] == Approx(k.w2).epsilon(1e-6));
    REQUIRE(p.momentum.defined() == (k.momentum > 0));
  }
}

TEST_CASE("sgd: lr and decay multipliers, bias overrides, L1, undefined gradients", "[nn][sgd]") {
  Parameter w = param("fc.weight", {1.0f, -2.0f, 0.0f});
  Parameter b = param("fc.bias", {1.0f}, false);
  Parameter idle = param("fc2.weight", {3.0f});
  w.l1 = 0.01f;
  w.lr_mult = 0.5f;
  OptimizerConfig c = config(0.0, false, 0.1);
  {
    Optimizer sgd({&w, &b, &idle}, c);
    set_grad(w, {0.0f, 0.0f, 0.0f});
    set_grad(b, {0.5f});
    sgd.step(0.1f);
    // weight: g = 0.1 w + 0.01 sign(w): [0.11, -0.21, 0]; w -= 0.05 g
    REQUIRE(w.value()[0] == Approx(1.0f - 0.05f * 0.11f));
    REQUIRE(w.value()[1] == Approx(-2.0f + 0.05f * 0.21f));
    REQUIRE(w.value()[2] == 0.0f);
    // bias: decay_mult 0 -> g = 0.5; w = 1 - 0.05
    REQUIRE(b.value()[0] == Approx(0.95f));
    REQUIRE(idle.value()[0] == 3.0f);   // no gradient: untouched (and no decay)
  }
  c.bias_lr_mult = 2.0;
  c.bias_decay_mult = 1.0;
  Optimizer sgd({&b}, c);
  sgd.step(0.1f);   // g = 0.5 + 0.1 * 0.95 = 0.595; b -= 0.2 * 0.595
  REQUIRE(b.value()[0] == Approx(0.95f - 0.2f * 0.595f));
  REQUIRE(b.lr_mult == 1.0f);   // the override lives in the optimizer, not in the parameter
}

TEST_CASE("sgd: per-row lr_scale (Winograd positions)", "[nn][sgd]") {
  Parameter p = make_parameter("conv2", "weight", {2, 3}, true);
  p.value().fill(1.0f);
  p.lr_scale = Tensor::from_vector({2}, {1.0f, 0.25f});
  OptimizerConfig c = config(0.0, false, 0.0);
  for (bool on : {true, false}) {
    c.position_lr_scale = on;
    p.value().fill(1.0f);
    Optimizer sgd({&p}, c);
    p.var->grad_buffer().fill(1.0f);
    sgd.step(0.1f);
    REQUIRE(p.value()[0] == Approx(0.9f));
    REQUIRE(p.value()[2] == Approx(0.9f));
    REQUIRE(p.value()[3] == Approx(on ? 0.975f : 0.9f));
    REQUIRE(p.value()[5] == Approx(on ? 0.975f : 0.9f));
  }
  p.lr_scale = Tensor::from_vector({3}, {1.0f, 1.0f, 1.0f});
  REQUIRE_THROWS_AS(Optimizer({&p}, c), InputError);
}

TEST_CASE("sgd: masked entries stay exactly zero through many updates", "[nn][sgd]") {
  const int64_t n = 40000;   // above the parallel threshold (32768)
  for (bool nesterov : {false, true}) {
    Parameter p = make_parameter("conv3", "weight", {n}, true);
    auto init = test::random_vector<float>(n, 1);
    auto mask = test::random_vector<float>(n, 2, 0.0f, 1.0f);
    for (auto& m : mask) m = m < 0.6f ? 0.0f : 1.0f;
    p.value().copy_from(Tensor::from_vector({n}, init));
    p.mask = Tensor::from_vector({n}, mask);
    // A loaded momentum that is not masked yet: the constructor masks it (and the value).
    p.momentum = Tensor::from_vector({n}, test::random_vector<float>(n, 3));
    p.l1 = 1e-3f;
    Optimizer sgd({&p}, config(0.9, nesterov, 5e-4));
    for (int it = 0; it < 30; ++it) {
      sgd.zero_grad();
      set_grad(p, test::random_vector<float>(n, 100 + it));
      sgd.step(0.05f);
    }
    int64_t alive_changed = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (mask[i] == 0.0f) {
        REQUIRE(p.value()[i] == 0.0f);
        REQUIRE(p.momentum[i] == 0.0f);
      } else {
        alive_changed += p.value()[i] != init[i];
      }
    }
    REQUIRE(alive_changed > n / 3);
  }
}

TEST_CASE("sgd: the optimizer config", "[nn][sgd]") {
  JsonReader r(json::parse(R"({"type": "sgd", "lr": 0.02, "momentum": 0.9, "nesterov": true,
                               "weight_decay": 5e-4, "bias_lr_mult": 2})"),
               "phases[0].optimizer");
  OptimizerConfig c = parse_optimizer_config(r);
  REQUIRE(c.lr == 0.02);
  REQUIRE(c.nesterov);
  REQUIRE(c.bias_lr_mult.value() == 2.0);
  REQUIRE_FALSE(c.bias_decay_mult);
  JsonReader back(optimizer_config_to_json(c), "x");
  REQUIRE(optimizer_config_to_json(parse_optimizer_config(back)) == optimizer_config_to_json(c));

  auto error = [](const std::string& text) { return optimizer_error(text, "phases[1].optimizer"); };
  CHECK_THAT(error(R"({"type": "rmsprop"})"),
             Catch::Contains("phases[1].optimizer.type: expected one of \"sgd\", \"adam\""));
  CHECK_THAT(error(R"({"lr": -1})"), Catch::Contains("phases[1].optimizer.lr: expected a number in (0,"));
  CHECK_THAT(error(R"({"momentum": 1.5})"), Catch::Contains("phases[1].optimizer.momentum"));
  CHECK_THAT(error(R"({"spatial_preconditioner": -1})"),
             Catch::Contains("phases[1].optimizer.spatial_preconditioner"));
  CHECK_THAT(error(R"({"lr": 0.1, "decay": 0.1})"), Catch::Contains("phases[1].optimizer.decay: unknown key"));
  CHECK_THAT(error(R"({"momentum": 0, "nesterov": true})"), Catch::Contains("phases[1].optimizer.nesterov"));
}

TEST_CASE("adam: the optimizer config", "[nn][sgd][adam]") {
  JsonReader r(json::parse(R"({"type": "adam", "lr": 1e-4, "betas": [0.8, 0.99], "eps": 1e-6,
                               "weight_decay": 0})"),
               "phases[2].optimizer");
  OptimizerConfig c = parse_optimizer_config(r);
  REQUIRE(c.type == OptimizerType::adam);
  REQUIRE(c.lr == 1e-4);
  REQUIRE(c.beta1 == 0.8);
  REQUIRE(c.beta2 == 0.99);
  REQUIRE(c.eps == 1e-6);
  REQUIRE(c.weight_decay == 0.0);
  JsonReader back(optimizer_config_to_json(c), "x");
  REQUIRE(optimizer_config_to_json(parse_optimizer_config(back)) == optimizer_config_to_json(c));
  REQUIRE(optimizer_config_to_json(c)["type"] == "adam");

  auto error = [](const std::string& text) { return optimizer_error(text, "phases[2].optimizer"); };
  // SGD's keys are unknown to Adam, and Adam's to SGD.
  CHECK_THAT(error(R"({"type": "adam", "momentum": 0.9})"),
             Catch::Contains("phases[2].optimizer.momentum: unknown key (expected one of: betas, "
                             "bias_decay_mult, bias_lr_mult, eps, lr, position_lr_scale, type, "
                             "weight_decay)"));
  CHECK_THAT(error(R"({"type": "adam", "spatial_preconditioner": 1})"),
             Catch::Contains("phases[2].optimizer.spatial_preconditioner: unknown key"));
  CHECK_THAT(error(R"({"type": "sgd", "betas": [0.9, 0.999]})"),
             Catch::Contains("phases[2].optimizer.betas: unknown key"));
  CHECK_THAT(error(R"({"type": "adam", "betas": [0.9, 1.0]})"),
             Catch::Contains("phases[2].optimizer.betas: expected [beta1, beta2]"));
  CHECK_THAT(error(R"({"type": "adam", "betas": 0.9})"),
             Catch::Contains("phases[2].optimizer.betas: expected [beta1, beta2]"));
  CHECK_THAT(error(R"({"type": "adam", "eps": 0})"), Catch::Contains("phases[2].optimizer.eps"));
}

TEST_CASE("adam: updates match a naive double formula (masks, decay, L1, lr_mult, bias "
          "correction)",
          "[nn][sgd][adam]") {
  // Two parameters, one masked and larger than a parallel chunk (16K), 7 steps at changing lr;
  // the reference is torch.optim.Adam's formula in double, plus l1 sign(w) and the mask.
  const int64_t n = 40000, nb = 37;
  Parameter w = make_parameter("conv3", "weight", {n}, true);
  Parameter b = make_parameter("conv3", "bias", {nb}, false);
  auto wi = test::random_vector<float>(n, 11), bi = test::random_vector<float>(nb, 12);
  w.value().copy_from(Tensor::from_vector({n}, wi));
  b.value().copy_from(Tensor::from_vector({nb}, bi));
  auto mask = test::random_vector<float>(n, 13, 0.0f, 1.0f);
  for (auto& m : mask) m = m < 0.7f ? 0.0f : 1.0f;
  w.mask = Tensor::from_vector({n}, mask);
  w.l1 = 2e-3f;
  w.lr_mult = 0.5f;
  // A per-row lr scale D (each element its own row here): with position_lr_scale Adam's lr is
  // multiplied by sqrt(D), without it D is ignored.
  auto scale = test::random_vector<float>(n, 14, 1e-4f, 1e-2f);
  w.lr_scale = Tensor::from_vector({n}, scale);
  OptimizerConfig c;
  c.position_lr_scale = GENERATE(false, true);
  c.type = OptimizerType::adam;
  c.beta1 = 0.8;
  c.beta2 = 0.95;
  c.eps = 1e-6;
  c.weight_decay = 0.01;
  c.bias_lr_mult = 2.0;
  Optimizer opt({&w, &b}, c);

  struct Ref {
    std::vector<double> x, m, v;
  };
  auto start = [](const std::vector<float>& x0, const std::vector<float>* mk) {
    Ref r{std::vector<double>(x0.begin(), x0.end()), std::vector<double>(x0.size()),
          std::vector<double>(x0.size())};
    if (mk)
      for (size_t i = 0; i < x0.size(); ++i) r.x[i] *= (*mk)[i];
    return r;
  };
  Ref rw = start(wi, &mask), rb = start(bi, nullptr);
  auto ref_step = [&](Ref& r, const std::vector<float>& g, const std::vector<float>* mk,
                      double lr0, double decay, double l1, int t) {
    for (size_t i = 0; i < r.x.size(); ++i) {
      const double lr = mk && c.position_lr_scale ? lr0 * std::sqrt(double(scale[i])) : lr0;
      const double keep = mk ? (*mk)[i] : 1.0;
      const double sign = (r.x[i] > 0) - (r.x[i] < 0);
      const double gi = g[i] * keep + decay * r.x[i] + l1 * sign;
      r.m[i] = (0.8 * r.m[i] + 0.2 * gi) * keep;
      r.v[i] = (0.95 * r.v[i] + 0.05 * gi * gi) * keep;
      const double mh = r.m[i] / (1 - std::pow(0.8, t)), vh = r.v[i] / (1 - std::pow(0.95, t));
      r.x[i] = (r.x[i] - lr * mh / (std::sqrt(vh) + 1e-6)) * keep;
    }
  };
  for (int t = 1; t <= 7; ++t) {
    const double lr = 0.01 / t;
    auto gw = test::random_vector<float>(n, 100 + t), gb = test::random_vector<float>(nb, 200 + t);
    opt.zero_grad();
    set_grad(w, gw);
    set_grad(b, gb);
    opt.step(float(lr));
    ref_step(rw, gw, &mask, lr * 0.5, 0.01, 2e-3, t);
    ref_step(rb, gb, nullptr, lr * 2.0, 0.0, 0.0, t);   // biases: decay_mult 0
  }
  REQUIRE(opt.step_count() == 7);
  int64_t moved = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (mask[size_t(i)] == 0.0f) {
      REQUIRE(w.value()[i] == 0.0f);
      REQUIRE(w.momentum[i] == 0.0f);
      REQUIRE(w.second_moment[i] == 0.0f);
      continue;
    }
    REQUIRE(w.value()[i] == Approx(rw.x[size_t(i)]).margin(1e-5));
    REQUIRE(w.second_moment[i] == Approx(rw.v[size_t(i)]).margin(1e-6));
    // Early Adam steps move every live coordinate by about its lr, whatever its gradient.
    const float lr_i = 0.5f * (c.position_lr_scale ? std::sqrt(scale[size_t(i)]) : 1.0f);
    moved += std::abs(w.value()[i] - wi[size_t(i)]) > 0.002f * lr_i;
  }
  REQUIRE(moved > n * 3 / 10 * 9 / 10);
  for (int64_t i = 0; i < nb; ++i) REQUIRE(b.value()[i] == Approx(rb.x[size_t(i)]).margin(1e-5));

  // A resumed phase continues the bias correction from the iterations already done: the
  // same state stepped as step 42 and as step 1 follows the formula at t = 42 and t = 1.
  for (int t : {42, 1}) {
    Parameter q = make_parameter("fc6", "bias", {nb}, false);
    q.value().copy_from(b.value());
    q.momentum = b.momentum.clone();
    q.second_moment = b.second_moment.clone();
    Optimizer resumed({&q}, c);
    resumed.set_step_count(t - 1);
    Ref rq{std::vector<double>(nb), std::vector<double>(nb), std::vector<double>(nb)};
    for (int64_t i = 0; i < nb; ++i)
      rq.x[size_t(i)] = q.value()[i], rq.m[size_t(i)] = q.momentum[i],
      rq.v[size_t(i)] = q.second_moment[i];
    auto g = test::random_vector<float>(nb, 300);
    resumed.zero_grad();
    set_grad(q, g);
    resumed.step(0.01f);
    ref_step(rq, g, nullptr, 0.01 * 2.0, 0.0, 0.0, t);
    REQUIRE(resumed.step_count() == t);
    for (int64_t i = 0; i < nb; ++i) REQUIRE(q.value()[i] == Approx(rq.x[size_t(i)]).margin(1e-6));
  }
}

TEST_CASE("sgd: the spatial preconditioner of Winograd weights, on a naive double formula",
          "[nn][sgd][winograd]") {
  // One step without momentum from w with gradient X, for every (k, c) 6x6 slice:
  //   w' = w - lr * [ s (Q X Q + pen) + D (.) (X + pen) ],  pen = decay w + l1 sign(w)
  // and masked entries stay exactly zero over many momentum steps. K*C = 300 spans three
  // 128-column blocks, the last one partial.
  const int t = 6, tt = 36;
  const int64_t kc = 300, n = tt * kc;
  const Tensor q = WinogradConv2dLayer::spatial_preconditioner(4, 3);
  const Tensor d = WinogradConv2dLayer::position_lr_scale(4, 3);
  auto mask0 = test::random_vector<float>(size_t(n), 7, 0.0f, 1.0f);
  for (auto& m : mask0) m = m < 0.7f ? 0.0f : 1.0f;
  for (double s : {1.0, 0.5}) {
    for (bool diag : {true, false}) {
      for (bool masked : {false, true}) {
        Parameter p = make_parameter("conv3", "weight", {tt, 20, 15}, true);
        auto w0 = test::random_vector<float>(size_t(n), 3);
        auto g0 = test::random_vector<float>(size_t(n), 4);
        w0[5] = 0.0f;   // sign(0) = 0
        std::vector<float> mk(size_t(n), 1.0f);
        if (masked) {
          mk = mask0;
          for (int64_t i = 0; i < n; ++i) w0[size_t(i)] *= mk[size_t(i)];
          p.mask = Tensor::from_vector({tt, 20, 15}, mk);
        }
        p.value().copy_from(Tensor::from_vector({tt, 20, 15}, w0));
        p.var->grad_buffer().copy_from(Tensor::from_vector({tt, 20, 15}, g0));
        p.tile_precond = q;
        p.lr_scale = d;
        p.l1 = 0.01f;
        OptimizerConfig c = config(0.0, false, 0.05);
        c.spatial_preconditioner = s;
        c.position_lr_scale = diag;
        Optimizer sgd({&p}, c);
        sgd.step(0.1f);
        double worst = 0;
        for (int64_t col = 0; col < kc; ++col)
          for (int a = 0; a < t; ++a)
            for (int b = 0; b < t; ++b) {
              // The mask applies to the gradient before the product, and to the result.
              double qxq = 0;
              for (int i = 0; i < t; ++i)
                for (int j = 0; j < t; ++j) {
                  const size_t o2 = size_t((i * t + j) * kc + col);
                  qxq += double(q[a * t + i]) * g0[o2] * mk[o2] * q[j * t + b];
                }
              const size_t o = size_t((a * t + b) * kc + col);
              const double wv = w0[o], sign = (wv > 0) - (wv < 0);
              const double pen = 0.05 * wv + 0.01 * sign;
              const double dj = diag ? d[a * t + b] : 0.0;
              const double want =
                  mk[o] * (wv - 0.1 * (s * (qxq + pen) + dj * (g0[o] * mk[o] + pen)));
              worst = std::max(worst, std::abs(p.value()[int64_t(o)] - want));
            }
        REQUIRE(worst < 1e-6);
        // The gradient itself is left as backward wrote it (the adaptive pruner reads it).
      REQUIRE(p.var->grad.to_vector() == g0);
      }
    }
  }
  // Masks: pruned entries and their momentum stay exactly zero.
  Parameter p = make_parameter("conv3", "weight", {tt, 20, 15}, true);
  p.value().copy_from(Tensor::from_vector({tt, 20, 15}, test::random_vector<float>(size_t(n), 5)));
  auto mask = test::random_vector<float>(size_t(n), 6, 0.0f, 1.0f);
  for (auto& m : mask) m = m < 0.9f ? 0.0f : 1.0f;
  p.mask = Tensor::from_vector({tt, 20, 15}, mask);
  p.tile_precond = q;
  p.lr_scale = d;
  Optimizer sgd({&p}, config(0.9, true, 5e-4));
  for (int step = 0; step < 5; ++step) {
    p.var->grad_buffer().copy_from(
        Tensor::from_vector({tt, 20, 15}, test::random_vector<float>(size_t(n), 10 + step)));
    sgd.step(0.1f);
  }
  int64_t moved = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (mask[size_t(i)] == 0.0f) {
      REQUIRE(p.value()[i] == 0.0f);
      REQUIRE(p.momentum[i] == 0.0f);
    } else {
      moved += p.value()[i] != 0.0f;
    }
  }
  REQUIRE(moved > 0);
  Parameter bad = make_parameter("conv3", "weight", {tt, 2, 2}, true);
  bad.tile_precond = Tensor::zeros({5, 5});
  try {
    Optimizer rejected({&bad}, config(0.9, false, 0.0));
    FAIL("a [5, 5] tile_precond on a [36, 2, 2] weight was accepted");
  } catch (const InputError& e) {
    CHECK_THAT(e.what(), Catch::Contains("conv3.weight: tile_precond has shape [5, 5]"));
  }
}

TEST_CASE("frozen masks: the kept-entry update gives the masked update's floats", "[nn][sgd][adam]") {
  // Two copies of a masked Winograd-shaped weight (36 positions of 25 x 40, 10% kept, loaded
  // momentum), one optimizer frozen, one not: after several steps every weight and state entry
  // is the same float (kept entries computed by the same formula at mask 1, masked ones zero),
  // for SGD, Nesterov, Adam, per-position lr (lr_scale) and the spatial preconditioner.
  const int tt = 36;
  const Shape shape{tt, 25, 40};
  const int64_t n = tt * 25 * 40;   // 36000: several chunks
  // 90% sparse: the kept-entry list; 50%: denser than kKeptListMaxDensity, the masked loop.
  for (float sparsity : {0.9f, 0.5f}) {
  INFO("sparsity " << sparsity);
  auto mask = test::random_vector<float>(size_t(n), 21, 0.0f, 1.0f);
  for (auto& m : mask) m = m < sparsity ? 0.0f : 1.0f;
  mask[0] = 1.0f;          // the first and last entries kept: the list's ends
  mask[size_t(n) - 1] = 1.0f;
  struct Case {
    const char* name;
    OptimizerType type;
    bool nesterov, rows, precond;
  };
  for (const Case& cs : {Case{"sgd", OptimizerType::sgd, false, false, false},
                         Case{"nesterov", OptimizerType::sgd, true, false, false},
                         Case{"lr_scale", OptimizerType::sgd, true, true, false},
                         Case{"preconditioner", OptimizerType::sgd, false, true, true},
                         Case{"adam", OptimizerType::adam, false, false, false},
                         Case{"adam lr_scale", OptimizerType::adam, false, true, false}}) {
    INFO(cs.name);
    OptimizerConfig c = config(0.9, cs.nesterov, 5e-4);
    c.type = cs.type;
    c.position_lr_scale = cs.rows;
    c.spatial_preconditioner = cs.precond ? 0.5 : 0.0;
    std::vector<Parameter> ps;
    for (int copy = 0; copy < 2; ++copy) {
      ps.push_back(make_parameter("conv3", "weight", shape, true));
      Parameter& p = ps.back();
      p.value().copy_from(Tensor::from_vector(shape, test::random_vector<float>(size_t(n), 22)));
      p.mask = Tensor::from_vector(shape, mask);
      p.momentum = Tensor::from_vector(shape, test::random_vector<float>(size_t(n), 23));
      p.l1 = 1e-3f;
      if (cs.rows) p.lr_scale = WinogradConv2dLayer::position_lr_scale(4, 3);
      if (cs.precond) p.tile_precond = WinogradConv2dLayer::spatial_preconditioner(4, 3);
    }
    Optimizer plain({&ps[0]}, c), frozen({&ps[1]}, c);
    frozen.set_masks_frozen(true);
    REQUIRE(frozen.masks_frozen());
    for (int step = 0; step < 4; ++step) {
      for (int copy = 0; copy < 2; ++copy) {
        ps[size_t(copy)].var->release_grad();
        ps[size_t(copy)].var->grad_buffer().copy_from(
            Tensor::from_vector(shape, test::random_vector<float>(size_t(n), 30 + step)));
      }
      plain.step(0.05f);
      frozen.step(0.05f);
    }
    int64_t moved = 0, differ = 0;
    const std::vector<float> w0 = test::random_vector<float>(size_t(n), 22);
    for (int64_t i = 0; i < n; ++i) {
      differ += ps[0].value()[i] != ps[1].value()[i] || ps[0].momentum[i] != ps[1].momentum[i];
      if (cs.type == OptimizerType::adam)
        differ += ps[0].second_moment[i] != ps[1].second_moment[i];
      moved += mask[size_t(i)] != 0.0f && ps[1].value()[i] != w0[size_t(i)];
      if (mask[size_t(i)] == 0.0f) differ += ps[1].value()[i] != 0.0f || ps[1].momentum[i] != 0.0f;
    }
    CHECK(differ == 0);
    CHECK(moved > n / 20);
    frozen.check_masks_frozen();   // nothing changed
  }
  }
}

TEST_CASE("frozen masks: a mask changed under a frozen optimizer is caught", "[nn][sgd]") {
  Parameter p = make_parameter("fc6", "weight", {2000}, true);
  p.value().copy_from(Tensor::from_vector({2000}, test::random_vector<float>(2000, 1)));
  auto mask = test::random_vector<float>(2000, 2, 0.0f, 1.0f);
  for (auto& m : mask) m = m < 0.9f ? 0.0f : 1.0f;   // listed: at most 20% kept
  p.mask = Tensor::from_vector({2000}, mask);
  Optimizer sgd({&p}, config(0.9, false, 0.0));
  sgd.check_masks_frozen();   // not frozen: nothing to check
  sgd.set_masks_frozen(true);
  sgd.check_masks_frozen();
  const int64_t pruned = int64_t(std::find(mask.begin(), mask.end(), 1.0f) - mask.begin());
  p.mask[pruned] = 0.0f;   // one more entry pruned
  try {
    sgd.check_masks_frozen();
    FAIL("a changed mask passed the check");
  } catch (const std::logic_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("fc6.weight: its mask changed"));
  }
  p.mask[pruned] = 1.0f;
  sgd.check_masks_frozen();
  sgd.set_masks_frozen(false);   // unfrozen: the masked loop again, nothing to check
  p.mask[pruned] = 0.0f;
  sgd.check_masks_frozen();
  REQUIRE_FALSE(sgd.masks_frozen());
}
