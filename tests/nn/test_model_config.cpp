// Model building and the "model" config: shapes, layer names, the report contract of
// weight_layers(), and errors that name the JSON path.
#include "support.h"
#include "winoprune/nn/layers.h"
#include "winoprune/nn/model.h"

using namespace wp;

namespace {

ModelConfig parse(const std::string& text) {
  JsonReader r(json::parse(text), "model");
  return parse_model_config(r);
}

// The InputError message of parsing `text` ("" when it parses).
std::string parse_error(const std::string& text) {
  try {
    parse(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

std::vector<std::string> layer_names(Model& m) {
  std::vector<std::string> out;
  for (Layer* l : m.layers()) out.push_back(l->name());
  return out;
}

const WeightLayerInfo& info_of(const std::vector<WeightLayerInfo>& infos, const std::string& n) {
  for (const auto& i : infos)
    if (i.name == n) return i;
  FAIL("no weight layer " << n);
  return infos.front();
}

}  // namespace

TEST_CASE("alexnet-small: layer names, shapes and the weight_layers contract", "[nn]") {
  ModelConfig c = parse("{}");
  REQUIRE(c.arch == "alexnet-small");
  REQUIRE(c.widths == std::vector<int>{64, 128, 192, 192, 128});
  REQUIRE(c.fc_widths == std::vector<int>{512, 512});
  REQUIRE(c.input_channels == 1);
  REQUIRE(c.input_size == 28);
  Rng rng(1);
  auto model = build_model(c, rng);
  REQUIRE(layer_names(*model) ==
          std::vector<std::string>{"conv1", "relu1", "pool1", "conv2", "relu2", "pool2",
                                   "conv3", "relu3", "conv4", "relu4", "conv5", "relu5",
                                   "pool5", "flatten", "drop6", "fc6", "relu6", "drop7", "fc7",
                                   "relu7", "fc8"});
  REQUIRE(model->input_shape(8) == Shape{8, 1, 28, 28});
  REQUIRE(model->output_shape(8) == Shape{8, 10});
  auto infos = model->weight_layers();
  REQUIRE(infos.size() == 8);
  REQUIRE(info_of(infos, "conv1").weight_shape == Shape{64, 1, 5, 5});
  REQUIRE(info_of(infos, "conv2").weight_shape == Shape{128, 64, 5, 5});
  REQUIRE(info_of(infos, "conv5").weight_shape == Shape{128, 192, 3, 3});
  REQUIRE(info_of(infos, "fc6").weight_shape == Shape{512, 128 * 3 * 3});
  REQUIRE(info_of(infos, "fc8").weight_shape == Shape{10, 512});
  REQUIRE(info_of(infos, "fc6").kind == "fc");
  REQUIRE(info_of(infos, "conv3").kind == "conv");
  REQUIRE_FALSE(info_of(infos, "conv3").tile);
  // conv3 runs on 7x7: 2 * 192 * 128 * 9 * 49.
  REQUIRE(info_of(infos, "conv3").dense_flops_per_image == Approx(2.0 * 192 * 128 * 9 * 49));
  REQUIRE(info_of(infos, "fc6").dense_flops_per_image == Approx(2.0 * 1152 * 512));

  auto params = model->parameters();
  REQUIRE(params.size() == 16);
  Parameter* w = model->find_parameter("conv2.weight");
  Parameter* b = model->find_parameter("conv2.bias");
  REQUIRE(w);
  REQUIRE(b);
  REQUIRE(w->prunable);
  REQUIRE_FALSE(b->prunable);
  REQUIRE(w->decay_mult == 1.0f);
  REQUIRE(b->decay_mult == 0.0f);
  REQUIRE(b->lr_mult == 1.0f);
  REQUIRE(model->find_parameter("conv9.weight") == nullptr);
  // He init: conv2's std is sqrt(2 / (64 * 25)) = 0.0354; biases 0.
  double ss = 0;
  for (float x : w->value().to_vector()) ss += double(x) * x;
  REQUIRE(std::sqrt(ss / double(w->value().numel())) == Approx(std::sqrt(2.0 / 1600)).epsilon(0.02));
  for (float x : b->value().to_vector()) REQUIRE(x == 0.0f);
}

TEST_CASE("alexnet-small with custom widths, groups, LRN, no dropout", "[nn]") {
  ModelConfig c = parse(R"({"widths": [8, 16, 24, 24, 16], "fc_widths": [32, 20], "groups": 4,
                            "lrn": true, "dropout": 0, "classes": 7})");
  Rng rng(1);
  auto model = build_model(c, rng);
  auto names = layer_names(*model);
  REQUIRE(std::count(names.begin(), names.end(), "lrn1") == 1);
  REQUIRE(std::count(names.begin(), names.end(), "lrn2") == 1);
  REQUIRE(std::count(names.begin(), names.end(), "drop6") == 0);
  auto infos = model->weight_layers();
  REQUIRE(info_of(infos, "conv1").weight_shape == Shape{8, 1, 5, 5});    // conv1, conv3 ungrouped
  REQUIRE(info_of(infos, "conv2").weight_shape == Shape{16, 2, 5, 5});
  REQUIRE(info_of(infos, "conv3").weight_shape == Shape{24, 16, 3, 3});
  REQUIRE(info_of(infos, "conv4").weight_shape == Shape{24, 6, 3, 3});
  REQUIRE(info_of(infos, "conv5").weight_shape == Shape{16, 6, 3, 3});
  REQUIRE(info_of(infos, "conv4").groups == 4);
  REQUIRE(info_of(infos, "fc6").weight_shape == Shape{32, 16 * 9});
  REQUIRE(info_of(infos, "fc7").weight_shape == Shape{20, 32});
  REQUIRE(info_of(infos, "fc8").weight_shape == Shape{7, 20});
  REQUIRE(model->output_shape(3) == Shape{3, 7});
}

TEST_CASE("alexnet (Caffe bvlc_alexnet, groups 2): shapes and docs/method.md FLOPs", "[nn]") {
  ModelConfig c = parse(R"({"arch": "alexnet", "groups": 2,
                            "winograd": {"layers": ["conv2", "conv3", "conv4", "conv5"]}})");
  REQUIRE(c.lrn);
  REQUIRE(c.classes == 1000);
  REQUIRE(c.input_channels == 3);
  REQUIRE(c.input_size == 227);
  Rng rng(1);
  auto model = build_model(c, rng);
  REQUIRE(layer_names(*model) ==
          std::vector<std::string>{"conv1", "relu1", "lrn1", "pool1", "conv2", "relu2", "lrn2",
                                   "pool2", "conv3", "relu3", "conv4", "relu4", "conv5", "relu5",
                                   "pool5", "flatten", "fc6", "relu6", "drop6", "fc7", "relu7",
                                   "drop7", "fc8"});
  REQUIRE(model->output_shape(2) == Shape{2, 1000});
  auto infos = model->weight_layers();
  REQUIRE(infos.size() == 8);
  REQUIRE(info_of(infos, "conv1").kind == "conv");
  REQUIRE(info_of(infos, "conv1").weight_shape == Shape{96, 3, 11, 11});
  REQUIRE(info_of(infos, "conv2").kind == "winograd");
  REQUIRE(info_of(infos, "conv2").tile->name() == "F(4x4,5x5)");
  REQUIRE(info_of(infos, "conv2").weight_shape == Shape{64, 256, 48});
  REQUIRE(info_of(infos, "conv3").tile->name() == "F(4x4,3x3)");
  REQUIRE(info_of(infos, "conv3").weight_shape == Shape{36, 384, 256});
  REQUIRE(info_of(infos, "conv4").weight_shape == Shape{36, 384, 192});
  REQUIRE(info_of(infos, "conv5").weight_shape == Shape{36, 256, 192});
  REQUIRE(info_of(infos, "fc6").weight_shape == Shape{4096, 9216});
  REQUIRE(info_of(infos, "fc8").weight_shape == Shape{1000, 4096});
  // REQUIRE dense FLOPs per image of docs/method.md section 3 (groups 2), in MFLOP.
  REQUIRE(info_of(infos, "conv2").dense_flops_per_image / 1e6 == Approx(447.9).epsilon(1e-3));
  REQUIRE(info_of(infos, "conv3").dense_flops_per_image / 1e6 == Approx(299.0).epsilon(1e-3));
  REQUIRE(info_of(infos, "conv4").dense_flops_per_image / 1e6 == Approx(224.3).epsilon(1e-3));
  REQUIRE(info_of(infos, "conv5").dense_flops_per_image / 1e6 == Approx(149.5).epsilon(1e-3));
}

TEST_CASE("winograd layers: \"all\", per-layer m, and the config round trip", "[nn]") {
  ModelConfig c = parse(R"({"widths": [8, 16, 24, 24, 16], "fc_widths": [16, 16],
                            "winograd": {"layers": "all", "m": {"conv3": 2, "conv1": 2}}})");
  REQUIRE(c.winograd_layers == std::vector<std::string>{"conv1", "conv2", "conv3", "conv4", "conv5"});
  REQUIRE(winograd_m_of(c, "conv1") == 2);
  REQUIRE(winograd_m_of(c, "conv2") == 4);
  REQUIRE(winograd_m_of(c, "conv3") == 2);
  Rng rng(1);
  auto model = build_model(c, rng);
  auto infos = model->weight_layers();
  REQUIRE(info_of(infos, "conv1").tile->name() == "F(2x2,5x5)");
  REQUIRE(info_of(infos, "conv1").tile->m == 2);
  REQUIRE(info_of(infos, "conv1").tile->r == 5);
  REQUIRE(info_of(infos, "conv1").weight_shape == Shape{36, 8, 1});
  REQUIRE(info_of(infos, "conv2").weight_shape == Shape{64, 16, 8});
  REQUIRE(info_of(infos, "conv3").weight_shape == Shape{16, 24, 16});
  REQUIRE(info_of(infos, "conv5").weight_shape == Shape{36, 16, 24});

  json j = model_config_to_json(c);
  JsonReader r(j, "model");
  ModelConfig back = parse_model_config(r);
  REQUIRE(model_config_to_json(back) == j);

  // "all" on alexnet skips the stride-4 conv1; an integer m applies to every layer.
  ModelConfig a = parse(R"({"arch": "alexnet", "winograd": {"layers": "all", "m": 2}})");
  REQUIRE(a.winograd_layers == std::vector<std::string>{"conv2", "conv3", "conv4", "conv5"});
  REQUIRE(winograd_m_of(a, "conv2") == 2);
  REQUIRE(winograd_m_of(a, "conv5") == 2);
}

TEST_CASE("model config errors name the JSON path", "[nn]") {
  auto has = [](const std::string& msg, const std::string& part) {
    INFO(msg << " <- expected to contain: " << part);
    CHECK(msg.find(part) != std::string::npos);
  };
  has(parse_error(R"({"arch": "alexnet", "widht": [1]})"), "model.widht: unknown key");
  has(parse_error(R"({"arch": "vgg"})"), "model.arch: expected one of");
  has(parse_error(R"({"arch": "alexnet", "winograd": {"layers": ["conv1", "conv2"]}})"),
      "model.winograd.layers[0]: conv1 has stride 4");
  has(parse_error(R"({"winograd": {"layers": ["conv2", "fc6"]}})"),
      "model.winograd.layers[1]: unknown layer \"fc6\"");
  has(parse_error(R"({"winograd": {"layers": ["conv2", "conv2"]}})"),
      "model.winograd.layers[1]: conv2 is listed twice");
  has(parse_error(R"({"winograd": {"layers": ["conv2"], "m": {"conv3": 2}}})"),
      "model.winograd.m.conv3: conv3 is not a Winograd layer");
  has(parse_error(R"({"winograd": {"layers": ["conv2"], "m": {"conv2": 6}}})"),
      "model.winograd.m.conv2: tile m = 6 with the 5x5 kernel of conv2 is not supported");
  has(parse_error(R"({"winograd": {"layers": ["conv2"], "m": 6}})"), "model.winograd.m: tile m = 6");
  has(parse_error(R"({"winograd": {"layers": ["conv2"], "tile": 4}})"),
      "model.winograd.tile: unknown key");
  has(parse_error(R"({"winograd": {"layers": 3}})"), "model.winograd.layers: expected \"all\"");
  has(parse_error(R"({"widths": [64, 128, 192, 192]})"),
      "model.widths: expected an array of 5 positive integers, got an array of 4");
  has(parse_error(R"({"widths": [64, 128, 0, 192, 128]})"), "model.widths[2]: expected an integer");
  has(parse_error(R"({"widths": [64, 128, 1.5, 192, 128]})"), "model.widths[2]: expected an integer");
  has(parse_error(R"({"fc_widths": [512]})"), "model.fc_widths: expected an array of 2");
  has(parse_error(R"({"groups": 3})"), "model.groups: 3 does not divide conv2's 64 input channels");
  has(parse_error(R"({"dropout": 1})"), "model.dropout: expected a number in [0, 1)");
  has(parse_error(R"({"classes": 1})"), "model.classes: expected an integer in [2,");
  has(parse_error(R"({"input_size": 4})"), "model.input_size: input 4x4 is too small");
  has(parse_error(R"({"lrn": "yes"})"), "model.lrn: expected true or false");
  CHECK(parse_error(R"({"arch": "alexnet", "groups": 2, "lrn": false, "dropout": 0.25})").empty());
}

TEST_CASE("resolve_model_config fills arch defaults and validates hand-built configs", "[nn]") {
  ModelConfig c;
  c.arch = "alexnet";
  ModelConfig r = resolve_model_config(c);
  REQUIRE(r.input_channels == 3);
  REQUIRE(r.input_size == 227);
  REQUIRE(r.widths == std::vector<int>{96, 256, 384, 384, 256});
  c.winograd_layers = {"conv1"};
  REQUIRE_THROWS_WITH(resolve_model_config(c), Catch::Contains("model.winograd.layers[0]: conv1 has stride 4"));
}
