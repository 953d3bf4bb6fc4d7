// SGD: the update formula on hand-computed values, multipliers, L1, masks, config parsing.
#include "support.h"
#include "winoprune/nn/layers.h"
#include "winoprune/optim/sgd.h"

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

SgdConfig config(double momentum, bool nesterov, double decay) {
  SgdConfig c;
  c.lr = 0.1;
  c.momentum = momentum;
  c.nesterov = nesterov;
  c.weight_decay = decay;
  return c;
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
    Sgd sgd({&p}, config(k.momentum, k.nesterov, 0.1));
    set_grad(p, {0.5f});
    sgd.step(0.1f);
    REQUIRE(p.value()[0] == Approx(k.w1).epsilon(1e-6));
    sgd.zero_grad();
    REQUIRE(p.var->grad[0] == 0.0f);
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
  SgdConfig c = config(0.0, false, 0.1);
  {
    Sgd sgd({&w, &b, &idle}, c);
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
  Sgd sgd({&b}, c);
  sgd.step(0.1f);   // g = 0.5 + 0.1 * 0.95 = 0.595; b -= 0.2 * 0.595
  REQUIRE(b.value()[0] == Approx(0.95f - 0.2f * 0.595f));
  REQUIRE(b.lr_mult == 1.0f);   // the override lives in the optimizer, not in the parameter
}

TEST_CASE("sgd: per-row lr_scale (Winograd positions)", "[nn][sgd]") {
  Parameter p = make_parameter("conv2", "weight", {2, 3}, true);
  p.value().fill(1.0f);
  p.lr_scale = Tensor::from_vector({2}, {1.0f, 0.25f});
  SgdConfig c = config(0.0, false, 0.0);
  for (bool on : {true, false}) {
    c.position_lr_scale = on;
    p.value().fill(1.0f);
    Sgd sgd({&p}, c);
    p.var->grad_buffer().fill(1.0f);
    sgd.step(0.1f);
    REQUIRE(p.value()[0] == Approx(0.9f));
    REQUIRE(p.value()[2] == Approx(0.9f));
    REQUIRE(p.value()[3] == Approx(on ? 0.975f : 0.9f));
    REQUIRE(p.value()[5] == Approx(on ? 0.975f : 0.9f));
  }
  p.lr_scale = Tensor::from_vector({3}, {1.0f, 1.0f, 1.0f});
  REQUIRE_THROWS_AS(Sgd({&p}, c), InputError);
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
    Sgd sgd({&p}, config(0.9, nesterov, 5e-4));
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
  SgdConfig c = parse_sgd_config(r);
  REQUIRE(c.lr == 0.02);
  REQUIRE(c.nesterov);
  REQUIRE(c.bias_lr_mult.value() == 2.0);
  REQUIRE_FALSE(c.bias_decay_mult);
  JsonReader back(sgd_config_to_json(c), "x");
  REQUIRE(sgd_config_to_json(parse_sgd_config(back)) == sgd_config_to_json(c));

  auto error = [](const std::string& text) {
    try {
      JsonReader rr(json::parse(text), "phases[1].optimizer");
      parse_sgd_config(rr);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(error(R"({"type": "adam"})"), Catch::Contains("phases[1].optimizer.type: expected one of \"sgd\""));
  CHECK_THAT(error(R"({"lr": -1})"), Catch::Contains("phases[1].optimizer.lr: expected a number in (0,"));
  CHECK_THAT(error(R"({"momentum": 1.5})"), Catch::Contains("phases[1].optimizer.momentum"));
  CHECK_THAT(error(R"({"lr": 0.1, "decay": 0.1})"), Catch::Contains("phases[1].optimizer.decay: unknown key"));
  CHECK_THAT(error(R"({"momentum": 0, "nesterov": true})"), Catch::Contains("phases[1].optimizer.nesterov"));
}
