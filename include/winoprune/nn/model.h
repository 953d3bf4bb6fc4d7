#pragma once
// A sequential model of named layers (the AlexNet family), built from the config's "model"
// object. Layer names are stable: conv1..conv5, fc6..fc8 (plus relu1, pool1, ... for the rest).
#include <memory>
#include <string>
#include <vector>

#include "winoprune/io/json_reader.h"
#include "winoprune/nn/layer.h"

namespace wp {

struct ModelConfig {
  std::string arch = "alexnet-small";   // "alexnet" (227x227x3) | "alexnet-small" (28x28x1)
  int classes = 10;
  std::vector<int> widths;              // conv1..conv5 output channels (empty: the arch default)
  std::vector<int> fc_widths;           // fc6, fc7 (empty: the arch default)
  int groups = 1;                       // groups of conv2, conv4, conv5 (Caffe AlexNet: 2)
  bool lrn = false;                     // AlexNet: after relu1 and relu2 (default on for alexnet)
  float dropout = 0.5f;
  std::vector<std::string> winograd_layers;   // e.g. conv2..conv5: built as Winograd layers
  std::vector<std::pair<std::string, int>> winograd_m;   // per-layer output tile m (default 4)
  int input_channels = 0, input_size = 0;     // 0: the arch's (alexnet 3x227, small 1x28)
};

// The arch's defaults filled in (widths, fc_widths, input size; winograd_m gets an entry for
// every Winograd layer). parse_model_config returns a resolved config; build_model resolves too.
ModelConfig resolve_model_config(ModelConfig config);
// Output tile m of a Winograd layer (4 when not listed in winograd_m).
int winograd_m_of(const ModelConfig& config, const std::string& layer);
// The resolved config as the "model" JSON object (parse_model_config reads it back unchanged).
json model_config_to_json(const ModelConfig& config);

// Parses and validates the "model" object (unknown keys, ranges, layer names) and calls
// reader.finish(). Keys: arch, classes, widths [5], fc_widths [2], groups, lrn, dropout,
// input_channels, input_size, winograd { layers: [names] | "all", m: int | {layer: int} }.
// "all" means every stride-1 conv (alexnet: conv2..conv5; alexnet-small: conv1..conv5).
// Errors name the JSON path, e.g. "model.winograd.layers[0]: conv1 has stride 4; ...".
ModelConfig parse_model_config(JsonReader& reader);

class Model {
 public:
  explicit Model(ModelConfig config) : config_(std::move(config)) {}
  const ModelConfig& config() const { return config_; }
  void add(std::unique_ptr<Layer> layer);
  Var forward(const Var& x, ForwardContext& ctx);
  // How many layers forward() runs as one op from layer i: 1; 2 when layer i applies the ReLU
  // after it (Layer::fuses_relu, inference); 3 or 4 when layer i is a spatial convolution
  // followed by ReLU, [LRN,] max-pool (Conv2dLayer::forward_relu_lrn_pool, the conv1 blocks of
  // both arches, in training and inference).
  int fused_span(size_t i, const ForwardContext& ctx) const;
  // Layers [i, i + fused_span(i, ctx)) on x, as forward() runs them.
  Var forward_span(size_t i, const Var& x, ForwardContext& ctx);
  std::vector<Parameter*> parameters();
  Parameter* find_parameter(const std::string& name);      // null if absent
  Layer* find_layer(const std::string& name);               // null if absent
  std::vector<Layer*> layers();
  // The conv / winograd / fc layers in network order (report.json's "layers").
  std::vector<WeightLayerInfo> weight_layers() const;
  // Replaces a layer (e.g. a spatial conv by its Winograd conversion), keeping its position.
  // Parameter pointers of the old layer die with it: rebuild optimizers afterwards.
  void replace(const std::string& name, std::unique_ptr<Layer> layer);
  // The "convert" phase for one layer: a spatial conv becomes a Winograd layer with tile m
  // (W = G g G^T, bias copied) and config().winograd_layers / winograd_m record it. A layer
  // that already is Winograd is left as is. Throws InputError for stride != 1 or no such conv.
  void convert_to_winograd(const std::string& name, int m);
  // prepare_inference(kernel) on every layer (packs sparse Winograd weights).
  void prepare_inference(InferenceKernel kernel);
  Shape input_shape(int64_t batch) const;   // [batch, C, H, W]
  // Shape after every layer for an input of input_shape(batch); throws InputError naming the
  // layer that does not fit.
  Shape output_shape(int64_t batch) const;

 private:
  ModelConfig config_;
  std::vector<std::unique_ptr<Layer>> layers_;
};

// Builds and initializes the model. Weights: He/Kaiming normal, std = sqrt(2 / fan_in) with
// fan_in = (C/groups) r^2 or in (every conv and fc is followed by a ReLU), except fc8:
// std = sqrt(1 / fan_in) (no ReLU after it, so no factor 2). Biases 0.
// Winograd layers draw the same spatial g as the spatial layer would and store W = G g G^T, so
// a spatial and a Winograd model built from the same seed compute the same function.
// Draw order: layers in network order, weight elements in storage order of g.
std::unique_ptr<Model> build_model(const ModelConfig& config, Rng& rng);

}  // namespace wp
