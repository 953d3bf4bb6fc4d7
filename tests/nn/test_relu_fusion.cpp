// Inference fusion in Model::forward: a Winograd layer on the sparse kernel applies the ReLU
// that follows it in its output transform, a convolution layer as oneDNN's post-op, and conv1's
// block conv ReLU [LRN] max-pool runs as one op. The fused network must give what the layers
// give one by one (no fusion), and fusion must stay off wherever it does not apply.
#include "support.h"
#include "winoprune/nn/layers.h"
#include "winoprune/nn/model.h"

using namespace wp;

namespace {

ModelConfig winograd_small() {
  JsonReader r(json::parse(R"({"winograd": {"layers": ["conv2", "conv3", "conv4", "conv5"]}})"),
               "model");
  return parse_model_config(r);
}

Tensor random_input(const Shape& shape, uint64_t seed) {
  const std::vector<float> v = test::random_vector<float>(size_t(shape_numel(shape)), seed);
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = v[size_t(i)];
  return t;
}

// The forward of every layer in turn, never fused.
Tensor layer_by_layer(Model& model, const Var& x, ForwardContext& ctx) {
  Var h = x;
  for (Layer* layer : model.layers()) h = layer->forward(h, ctx);
  return h->value;
}

}  // namespace

TEST_CASE("a ReLU fused into the sparse Winograd layer gives the unfused network's output",
          "[nn][fusion]") {
  if (!test::isa_available_or_skip()) return;
  Rng rng(5);
  auto model = build_model(winograd_small(), rng);
  // Prune the Winograd weights by half so the sparse kernel has zeros to skip.
  for (Layer* layer : model->layers())
    if (auto* w = dynamic_cast<WinogradConv2dLayer*>(layer)) {
      Tensor& W = w->weight().value();
      for (int64_t i = 0; i < W.numel(); i += 2) W[i] = 0.0f;
    }
  const Var x = leaf(random_input(model->input_shape(3), 9));
  NoGradGuard no_grad;
  ForwardContext ctx;
  ctx.kernel = InferenceKernel::sparse;
  model->prepare_inference(InferenceKernel::sparse);
  int fusing = 0;
  for (Layer* layer : model->layers()) fusing += layer->fuses_relu(ctx) ? 1 : 0;
  CHECK(fusing == 5);   // conv1 (post-op) and conv2..conv5 (sparse kernel), each before a ReLU
  const Tensor fused = model->forward(x, ctx)->value;
  const Tensor plain = layer_by_layer(*model, x, ctx);
  REQUIRE(fused.numel() == plain.numel());
  CHECK(test::relative_error(fused.data(), plain.data(), size_t(fused.numel()), 1e-6, "y") <
        1e-6);

  ForwardContext dense;   // the dense Winograd path fuses too (its output transform)
  for (Layer* layer : model->layers())
    CHECK(layer->fuses_relu(dense) == (layer->name().rfind("conv", 0) == 0));
  model->prepare_inference(InferenceKernel::dense);
  const Tensor dense_fused = model->forward(x, dense)->value;
  const Tensor dense_plain = layer_by_layer(*model, x, dense);
  CHECK(test::relative_error(dense_fused.data(), dense_plain.data(), size_t(dense_fused.numel()),
                             1e-6, "dense y") < 1e-6);
}

TEST_CASE("with gradients on, only the Winograd layers fuse a ReLU", "[nn][fusion]") {
  // Their training paths mask dy by y > 0 in backward (WinogradConvParams::relu); a spatial
  // conv's post-op has no backward (its block op conv ReLU [LRN] pool has, Model::fused_span).
  Rng rng(5);
  auto model = build_model(winograd_small(), rng);
  ForwardContext ctx;
  ctx.kernel = InferenceKernel::sparse;
  for (Layer* layer : model->layers())   // grad mode on
    CHECK(layer->fuses_relu(ctx) == (dynamic_cast<WinogradConv2dLayer*>(layer) != nullptr));
  REQUIRE(model->layers()[0]->name() == "conv1");
  REQUIRE_THROWS_AS(model->layers()[0]->forward_relu(leaf(Tensor::zeros({1, 1, 28, 28})), ctx),
                    std::logic_error);
}

TEST_CASE("conv1's block conv ReLU [LRN] max-pool runs as one op", "[nn][fusion]") {
  // AlexNet (LRN) and alexnet-small (none): the fused network gives the layers' output one by
  // one; the block fuses in training too (the op has a backward), a lone ReLU does not.
  for (const char* cfg : {R"({"arch": "alexnet", "lrn": true, "classes": 10})",
                          R"({"arch": "alexnet-small"})"}) {
    INFO(cfg);
    JsonReader r(json::parse(cfg), "model");
    Rng rng(7);
    auto model = build_model(parse_model_config(r), rng);
    const bool lrn = model->config().lrn;
    ForwardContext ctx;
    REQUIRE(model->fused_span(0, ctx) == (lrn ? 4 : 3));   // grad mode on
    CHECK(model->fused_span(lrn ? 4 : 3, ctx) == (lrn ? 4 : 3));   // conv2's block too
    const size_t conv3 = lrn ? 8 : 6;
    REQUIRE(model->layers()[conv3]->name() == "conv3");
    CHECK(model->fused_span(conv3, ctx) == 1);   // conv3 relu3 conv4: no ReLU fusion in training
    const Var x = leaf(random_input(model->input_shape(2), 11));
    NoGradGuard no_grad;
    REQUIRE(model->fused_span(0, ctx) == (lrn ? 4 : 3));
    CHECK(model->layers()[lrn ? 3 : 2]->name() == "pool1");
    CHECK(model->fused_span(conv3, ctx) == 2);   // inference: conv3 takes relu3 as a post-op
    const Tensor fused = model->forward(x, ctx)->value;
    const Tensor plain = layer_by_layer(*model, x, ctx);
    REQUIRE(fused.numel() == plain.numel());
    CHECK(test::relative_error(fused.data(), plain.data(), size_t(fused.numel()), 1e-6, "y") <
          1e-6);
  }
}
