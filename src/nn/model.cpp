// Model: an ordered list of named layers; forward runs them in order, fusing a spatial conv
// block conv ReLU [LRN] max-pool into one op and, in inference, a ReLU into the layer before it
// where that layer can apply it (Layer::fuses_relu); fused_span.
#include <algorithm>
#include <stdexcept>

#include "winoprune/error.h"
#include "winoprune/nn/layers.h"
#include "winoprune/nn/model.h"

namespace wp {

void Model::add(std::unique_ptr<Layer> layer) {
  if (!layer) throw std::logic_error("Model::add: null layer");
  if (find_layer(layer->name()))
    throw std::logic_error("Model::add: duplicate layer name " + layer->name());
  layers_.push_back(std::move(layer));
}

int Model::fused_span(size_t i, const ForwardContext& ctx) const {
  const size_t n = layers_.size();
  const bool relu_next = i + 1 < n && dynamic_cast<const ReLULayer*>(layers_[i + 1].get());
  if (!relu_next) return 1;
  if (dynamic_cast<const Conv2dLayer*>(layers_[i].get())) {
    size_t j = i + 2;
    if (j < n && dynamic_cast<const LRNLayer*>(layers_[j].get())) ++j;
    if (j < n && dynamic_cast<const MaxPoolLayer*>(layers_[j].get())) return int(j - i + 1);
  }
  return layers_[i]->fuses_relu(ctx) ? 2 : 1;
}

Var Model::forward_span(size_t i, const Var& x, ForwardContext& ctx) {
  const int span = fused_span(i, ctx);
  if (span == 1) return layers_[i]->forward(x, ctx);
  if (span == 2) return layers_[i]->forward_relu(x, ctx);
  // conv ReLU [LRN] max-pool (fused_span): one op.
  auto& conv = dynamic_cast<Conv2dLayer&>(*layers_[i]);
  const auto* lrn = span == 4 ? dynamic_cast<const LRNLayer*>(layers_[i + 2].get()) : nullptr;
  const auto& pool = dynamic_cast<const MaxPoolLayer&>(*layers_[i + size_t(span) - 1]);
  LrnParams lp;
  if (lrn) lp = LrnParams{lrn->size(), lrn->alpha(), lrn->beta(), lrn->k()};
  return conv.forward_relu_lrn_pool(x, lrn ? &lp : nullptr, pool.kernel(), pool.stride());
}

Var Model::forward(const Var& x, ForwardContext& ctx) {
  Var h = x;
  for (size_t i = 0; i < layers_.size();) {
    const int span = fused_span(i, ctx);
    h = forward_span(i, h, ctx);
    i += size_t(span);
  }
  return h;
}

std::vector<Parameter*> Model::parameters() {
  std::vector<Parameter*> out;
  for (auto& layer : layers_)
    for (Parameter* p : layer->parameters()) out.push_back(p);
  return out;
}

Parameter* Model::find_parameter(const std::string& name) {
  for (Parameter* p : parameters())
    if (p->name == name) return p;
  return nullptr;
}

Layer* Model::find_layer(const std::string& name) {
  for (auto& layer : layers_)
    if (layer->name() == name) return layer.get();
  return nullptr;
}

std::vector<Layer*> Model::layers() {
  std::vector<Layer*> out;
  for (auto& layer : layers_) out.push_back(layer.get());
  return out;
}

std::vector<WeightLayerInfo> Model::weight_layers() const {
  std::vector<WeightLayerInfo> out;
  Shape shape = input_shape(1);
  for (const auto& layer : layers_) {
    if (auto info = layer->weight_info()) {
      info->dense_flops_per_image = layer->dense_flops_per_image(shape);
      out.push_back(*info);
    }
    shape = layer->output_shape(shape);
  }
  return out;
}

void Model::replace(const std::string& name, std::unique_ptr<Layer> layer) {
  if (!layer) throw std::logic_error("Model::replace: null layer");
  for (auto& slot : layers_) {
    if (slot->name() != name) continue;
    if (layer->name() != name)
      throw std::logic_error("Model::replace: " + layer->name() + " cannot replace " + name);
    slot = std::move(layer);
    return;
  }
  throw InputError("model has no layer named " + name);
}

void Model::convert_to_winograd(const std::string& name, int m) {
  Layer* layer = find_layer(name);
  if (!layer) throw InputError("model has no layer named " + name);
  if (dynamic_cast<WinogradConv2dLayer*>(layer)) return;
  auto* conv = dynamic_cast<Conv2dLayer*>(layer);
  if (!conv) throw InputError(name + " is not a convolution; only convolutions convert to Winograd");
  replace(name, WinogradConv2dLayer::from_conv(*conv, m));
  // Record it in the config (network order), so checkpoints describe the new architecture.
  if (std::find(config_.winograd_layers.begin(), config_.winograd_layers.end(), name) ==
      config_.winograd_layers.end())
    config_.winograd_layers.push_back(name);
  std::sort(config_.winograd_layers.begin(), config_.winograd_layers.end());  // conv1..conv5
  std::vector<std::pair<std::string, int>> ms;
  for (const auto& l : config_.winograd_layers)
    ms.emplace_back(l, l == name ? m : winograd_m_of(config_, l));
  config_.winograd_m = ms;
}

void Model::prepare_inference(InferenceKernel kernel) {
  for (auto& layer : layers_) layer->prepare_inference(kernel);
}

Shape Model::input_shape(int64_t batch) const {
  return {batch, config_.input_channels, config_.input_size, config_.input_size};
}

Shape Model::output_shape(int64_t batch) const {
  Shape shape = input_shape(batch);
  for (const auto& layer : layers_) shape = layer->output_shape(shape);
  return shape;
}

}  // namespace wp
