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
  int input_channels = 1, input_size = 28;
};

// Parses and validates the "model" object (unknown keys, ranges, layer names).
ModelConfig parse_model_config(JsonReader& reader);

class Model {
 public:
  explicit Model(ModelConfig config) : config_(std::move(config)) {}
  const ModelConfig& config() const { return config_; }
  void add(std::unique_ptr<Layer> layer);
  Var forward(const Var& x, ForwardContext& ctx);
  std::vector<Parameter*> parameters();
  Parameter* find_parameter(const std::string& name);      // null if absent
  Layer* find_layer(const std::string& name);               // null if absent
  std::vector<Layer*> layers();
  // The conv / winograd / fc layers in network order (report.json's "layers").
  std::vector<WeightLayerInfo> weight_layers() const;
  // Replaces a layer (e.g. a spatial conv by its Winograd conversion), keeping its position.
  void replace(const std::string& name, std::unique_ptr<Layer> layer);
  Shape input_shape(int64_t batch) const;   // [batch, C, H, W]

 private:
  ModelConfig config_;
  std::vector<std::unique_ptr<Layer>> layers_;
};

// Builds and initializes the model (weights from `rng`, Caffe-style: gaussian/He for convs and
// fc, zero or constant biases). Winograd layers are initialized from a spatial initialization
// transformed by W = G g G^T, as the reference does.
std::unique_ptr<Model> build_model(const ModelConfig& config, Rng& rng);

}  // namespace wp
