// End-to-end checks that need the ops and the Winograd layer: conversion keeps the function,
// SGD overfits a tiny batch, and a fixed seed gives a bit-identical loss curve.
#include "support.h"
#include "winoprune/nn/layers.h"
#include "winoprune/nn/model.h"
#include "winoprune/ops/ops.h"
#include "winoprune/optim/optimizer.h"
#include "winoprune/winograd/transform.h"

using namespace wp;

namespace {

ModelConfig small_config(const std::string& extra = "") {
  JsonReader r(json::parse(R"({"widths": [8, 16, 24, 24, 16], "fc_widths": [32, 32)" +
                           std::string(R"(], "groups": 2)") + extra + "}"),
               "model");
  return parse_model_config(r);
}

Tensor random_batch(const Model& m, int64_t n, uint64_t seed) {
  Shape s = m.input_shape(n);
  return Tensor::from_vector(s, test::random_vector<float>(size_t(shape_numel(s)), seed));
}

Tensor eval_logits(Model& m, const Tensor& x) {
  NoGradGuard guard;
  ForwardContext ctx;
  return m.forward(leaf(x), ctx)->value.clone();
}

// `steps` SGD steps on one fixed batch; the loss of each step.
std::vector<float> train_steps(Model& m, const Tensor& x, const std::vector<int32_t>& labels,
                               int steps, float lr, bool position_lr_scale = true,
                               double spatial_preconditioner = 1.0, bool nesterov = false) {
  OptimizerConfig sc;
  sc.position_lr_scale = position_lr_scale;
  sc.spatial_preconditioner = spatial_preconditioner;
  sc.nesterov = nesterov;
  sc.lr = lr;
  sc.momentum = 0.9;
  sc.weight_decay = 5e-4;
  Optimizer sgd(m.parameters(), sc);
  Rng rng(5);
  std::vector<float> losses;
  for (int i = 0; i < steps; ++i) {
    ForwardContext ctx;
    ctx.training = true;
    ctx.rng = &rng;
    sgd.zero_grad();
    Var loss = softmax_cross_entropy(m.forward(leaf(x), ctx), labels);
    backward(loss);
    sgd.step(lr);
    losses.push_back(loss->value[0]);
  }
  return losses;
}

}  // namespace

TEST_CASE("a converted Winograd model computes the spatial model's logits", "[nn][winograd]") {
  struct Case {
    const char* arch;
    std::vector<std::pair<std::string, int>> convert;
  } cases[] = {
      {"alexnet-small", {{"conv1", 4}, {"conv2", 4}, {"conv3", 4}, {"conv4", 2}, {"conv5", 4}}},
      {"alexnet", {{"conv2", 4}, {"conv3", 4}, {"conv4", 4}, {"conv5", 2}}},
  };
  for (const Case& k : cases) {
    ModelConfig c = small_config(std::string(R"(, "arch": ")") + k.arch + "\"");
    Rng rng(11);
    auto model = build_model(c, rng);
    Tensor x = random_batch(*model, 3, 7);
    Tensor spatial = eval_logits(*model, x);
    for (const auto& [name, m] : k.convert) model->convert_to_winograd(name, m);
    for (const auto& [name, m] : k.convert) {
      REQUIRE(model->find_layer(name)->weight_info()->kind == "winograd");
      REQUIRE(winograd_m_of(model->config(), name) == m);
    }
    REQUIRE(model->config().winograd_layers.size() == k.convert.size());
    Tensor wino = eval_logits(*model, x);
    INFO(k.arch);
    REQUIRE(test::relative_error(wino.data(), spatial.data(), size_t(wino.numel()), 1e-4, k.arch) <
            1e-4);
  }
  // conv1 of alexnet has stride 4: no Winograd conversion.
  ModelConfig c = small_config(R"(, "arch": "alexnet")");
  Rng rng(1);
  auto model = build_model(c, rng);
  REQUIRE_THROWS_WITH(model->convert_to_winograd("conv1", 4), Catch::Contains("stride 4"));
  REQUIRE_THROWS_AS(model->convert_to_winograd("fc6", 4), InputError);
}

TEST_CASE("spatial and Winograd models built from one seed agree", "[nn][winograd]") {
  ModelConfig spatial_c = small_config();
  ModelConfig wino_c = small_config(R"(, "winograd": {"layers": "all", "m": {"conv4": 2}})");
  Rng r1(3), r2(3);
  auto a = build_model(spatial_c, r1);
  auto b = build_model(wino_c, r2);
  Tensor x = random_batch(*a, 2, 9);
  Tensor la = eval_logits(*a, x), lb = eval_logits(*b, x);
  REQUIRE(test::relative_error(lb.data(), la.data(), size_t(la.numel()), 1e-4, "seeded") < 1e-4);
}

TEST_CASE("SGD overfits a tiny batch, a fixed seed repeats the loss curve exactly", "[nn][train]") {
  // Random inputs and labels: memorizing 16 of them drives the loss from ~ln 10 toward 0. The
  // Winograd variant uses the same lr thanks to the per-position lr scale.
  for (const char* winograd : {"", R"(, "winograd": {"layers": ["conv2", "conv3", "conv4", "conv5"]})",
                               R"(, "winograd": {"layers": "all", "m": {"conv4": 2}})"}) {
    ModelConfig c = small_config(std::string(R"(, "dropout": 0)") + winograd);
    Rng rng(21);
    auto model = build_model(c, rng);
    Tensor x = random_batch(*model, 16, 4);
    std::vector<int32_t> labels;
    for (int i = 0; i < 16; ++i) labels.push_back(i % 10);
    auto losses = train_steps(*model, x, labels, 30, 0.02f);
    std::string curve;
    for (float l : losses) curve += std::to_string(l) + " ";
    INFO("model" << winograd << ", losses " << curve);
    CHECK(losses.front() == Approx(std::log(10.0)).epsilon(0.3));
    CHECK(losses.back() < 0.1f * losses.front());

    Rng rng2(21);
    auto again = build_model(c, rng2);
    auto losses2 = train_steps(*again, x, labels, 30, 0.02f);
    REQUIRE(losses2 == losses);
  }
}

TEST_CASE("without a preconditioner, SGD on Winograd weights diverges", "[nn][train]") {
  // The observation behind WinogradConv2dLayer::position_lr_scale and spatial_preconditioner,
  // kept as a check: the same net, batch and lr 0.01 that the preconditioned runs memorize ends
  // far above where it started.
  ModelConfig c = small_config(R"(, "dropout": 0, "winograd": {"layers": ["conv3", "conv4", "conv5"]})");
  Rng rng(21);
  auto model = build_model(c, rng);
  Tensor x = random_batch(*model, 16, 4);
  std::vector<int32_t> labels;
  for (int i = 0; i < 16; ++i) labels.push_back(i % 10);
  auto losses = train_steps(*model, x, labels, 20, 0.01f, false, 0.0);
  float worst = 0;
  for (float l : losses) worst = std::isfinite(l) ? std::max(worst, l) : 1e30f;
  REQUIRE(worst > 10.0f * losses.front());
}

TEST_CASE("the spatial preconditioner alone trains a Winograd model along the spatial model's path",
          "[nn][winograd][train]") {
  // W = G g G^T and the preconditioned step -lr (Q dW Q + decay W), Q = G G^T, is the image of
  // the spatial step -lr (dg + decay g): losses and logits stay those of the spatial model
  // (up to float rounding) through momentum, Nesterov and weight decay, 5x5 and 3x3 kernels,
  // F(4,3), F(2,3), F(4,5) and groups 2.
  ModelConfig c = small_config(R"(, "dropout": 0)");
  Rng rng_a(31), rng_b(31);
  auto spatial = build_model(c, rng_a);
  auto wino = build_model(c, rng_b);
  wino->convert_to_winograd("conv2", 4);
  wino->convert_to_winograd("conv3", 4);
  wino->convert_to_winograd("conv4", 2);
  wino->convert_to_winograd("conv5", 4);
  Tensor x = random_batch(*spatial, 8, 6);
  std::vector<int32_t> labels{0, 1, 2, 3, 4, 5, 6, 7};
  auto ls = train_steps(*spatial, x, labels, 8, 0.02f, true, 1.0, true);
  auto lw = train_steps(*wino, x, labels, 8, 0.02f, false, 1.0, true);
  REQUIRE(ls.back() < 0.9f * ls.front());   // it did train
  for (size_t i = 0; i < ls.size(); ++i) REQUIRE(lw[i] == Approx(ls[i]).epsilon(1e-4));
  Tensor ys = eval_logits(*spatial, x), yw = eval_logits(*wino, x);
  REQUIRE(test::relative_error(yw.data(), ys.data(), size_t(ys.numel())) < 1e-4);
  // The diagonal term moves W off the spatial path (it is what lets pruning go native).
  Rng rng_c(31);
  auto native = build_model(c, rng_c);
  native->convert_to_winograd("conv3", 4);
  auto ln = train_steps(*native, x, labels, 8, 0.02f, true, 1.0, true);
  REQUIRE(std::abs(ln.back() - ls.back()) > 1e-4f * std::abs(ls.back()));
}

TEST_CASE("spatial_preconditioner of F(4x4,3x3) is G G^T", "[nn][winograd]") {
  const WinogradTransform& tr = winograd_transform(4, 3);
  Tensor q = WinogradConv2dLayer::spatial_preconditioner(4, 3);
  REQUIRE(q.shape() == Shape{6, 6});
  // Rows of G (docs/method.md): g0 = [1/4,0,0], g5 = [0,0,1], g3 = [1/24,1/12,1/6].
  REQUIRE(q[0] == Approx(1.0 / 16));
  REQUIRE(q[5 * 6 + 5] == Approx(1.0));
  REQUIRE(q[3 * 6 + 5] == Approx(1.0 / 6));
  REQUIRE(q[3 * 6 + 4] == Approx(1.0 / 576 - 1.0 / 144 + 1.0 / 36));
  for (int a = 0; a < 6; ++a)
    for (int b = 0; b < 6; ++b) REQUIRE(q[a * 6 + b] == q[b * 6 + a]);
  REQUIRE(tr.t == 6);
}

TEST_CASE("position_lr_scale of F(4x4,3x3)", "[nn][winograd]") {
  // a_p^2 = ||row p of A||^2 = [1, 4, 4, 85, 85, 1], b_p^2 = ||row p of B^T||^2 =
  // [42, 34, 34, 10, 10, 42]: lr_scale = 16 / (a_p^2 b_p^2 a_q^2 b_q^2).
  Tensor s = WinogradConv2dLayer::position_lr_scale(4, 3);
  REQUIRE(s.numel() == 36);
  REQUIRE(s[0] == Approx(16.0 / (42.0 * 42.0)));
  REQUIRE(s[3 * 6 + 3] == Approx(16.0 / (850.0 * 850.0)));
  REQUIRE(s[1 * 6 + 3] == Approx(16.0 / (136.0 * 850.0)));
  REQUIRE(s[5 * 6 + 5] == Approx(16.0 / (42.0 * 42.0)));
}

TEST_CASE("Winograd weight gradients map to the spatial ones: dL/dg = G^T dL/dW G", "[nn][winograd]") {
  ModelConfig c = small_config(R"(, "dropout": 0)");
  Rng rng(13);
  auto model = build_model(c, rng);
  Tensor x = random_batch(*model, 2, 3);
  std::vector<int32_t> labels{3, 8};
  auto loss_backward = [&](Model& m) {
    for (Parameter* p : m.parameters())
      if (p->var->grad.defined()) p->var->grad.zero();
    ForwardContext ctx;
    backward(softmax_cross_entropy(m.forward(leaf(x), ctx), labels));
  };
  loss_backward(*model);
  std::vector<std::vector<float>> dg;
  const char* convs[] = {"conv1", "conv2", "conv3", "conv4", "conv5"};
  for (const char* n : convs) dg.push_back(model->find_parameter(std::string(n) + ".weight")->var->grad.to_vector());
  for (const char* n : convs) model->convert_to_winograd(n, n == std::string("conv4") ? 2 : 4);
  loss_backward(*model);
  for (int l = 0; l < 5; ++l) {
    auto* layer = dynamic_cast<WinogradConv2dLayer*>(model->find_layer(convs[l]));
    REQUIRE(layer);
    const WinogradTransform& tr = winograd_transform(layer->params().m, layer->params().r);
    const int t = tr.t, r = tr.r;
    const Tensor& dW = layer->weight().var->grad;
    const int64_t kc = dW.numel() / (t * t);
    std::vector<double> mapped(size_t(kc) * r * r, 0.0);
    for (int64_t e = 0; e < kc; ++e)
      for (int a = 0; a < r; ++a)
        for (int b = 0; b < r; ++b) {
          double acc = 0;
          for (int p = 0; p < t; ++p)
            for (int q = 0; q < t; ++q)
              acc += tr.G[p * r + a] * double(dW[(p * t + q) * kc + e]) * tr.G[q * r + b];
          mapped[(e * r + a) * r + b] = acc;
        }
    INFO(convs[l]);
    REQUIRE(test::relative_error(mapped.data(), dg[l].data(), mapped.size(), 1e-3, convs[l]) < 1e-3);
  }
}

TEST_CASE("InferenceKernel::sparse gives the dense path's logits on a pruned model", "[nn][sparse]") {
  ModelConfig c = small_config(R"(, "winograd": {"layers": "all", "m": {"conv4": 2}})");
  Rng rng(17);
  auto model = build_model(c, rng);
  // Prune ~80% of every Winograd weight at random.
  Rng prune(3);
  for (Parameter* p : model->parameters())
    if (p->name.find("conv") == 0 && p->name.find(".weight") != std::string::npos)
      for (int64_t i = 0; i < p->value().numel(); ++i)
        if (prune.uniform() < 0.8f) p->value()[i] = 0.0f;
  Tensor x = random_batch(*model, 3, 5);
  Tensor dense = eval_logits(*model, x);
  try {
    model->prepare_inference(InferenceKernel::sparse);
  } catch (const std::runtime_error& e) {
    WARN(std::string("SKIPPED: ") + e.what());
    return;
  }
  NoGradGuard guard;
  ForwardContext ctx;
  ctx.kernel = InferenceKernel::sparse;
  Tensor sparse = model->forward(leaf(x), ctx)->value;
  REQUIRE(test::relative_error(sparse.data(), dense.data(), size_t(dense.numel()), 1e-4, "sparse") < 1e-4);
  auto* conv3 = dynamic_cast<WinogradConv2dLayer*>(model->find_layer("conv3"));
  REQUIRE(conv3->has_packed_sparse());
  model->prepare_inference(InferenceKernel::dense);
  REQUIRE_FALSE(conv3->has_packed_sparse());
}
