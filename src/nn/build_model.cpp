// build_model: the AlexNet family from a resolved ModelConfig (tables in arch.h).
//   alexnet:       conv1 relu1 [lrn1] pool1 conv2 relu2 [lrn2] pool2 conv3 relu3 conv4 relu4
//                  conv5 relu5 pool5 flatten fc6 relu6 drop6 fc7 relu7 drop7 fc8     (Caffe)
//   alexnet-small: the same convs; flatten drop6 fc6 relu6 drop7 fc7 relu7 fc8  (torchvision)
// Initialization (model.h): He normal std sqrt(2 / fan_in), fc8 sqrt(1 / fan_in), biases 0;
// Winograd layers store G g G^T of the same spatial draw.
#include <algorithm>
#include <cmath>

#include "arch.h"
#include "winoprune/nn/layers.h"
#include "winoprune/nn/model.h"

namespace wp {

namespace {

void fill_normal(Tensor& t, float stddev, Rng& rng) {
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = stddev * rng.normal();
}

std::unique_ptr<Layer> make_conv(const ModelConfig& c, const arch::ArchSpec& a, int i,
                                 int in_channels, Rng& rng) {
  const std::string name = "conv" + std::to_string(i + 1);
  const int groups = arch::grouped(i) ? c.groups : 1;
  const int k = a.kernel[i];
  Tensor g = Tensor::empty({c.widths[i], in_channels / groups, k, k});
  fill_normal(g, std::sqrt(2.0f / float(in_channels / groups * k * k)), rng);
  if (std::find(c.winograd_layers.begin(), c.winograd_layers.end(), name) !=
      c.winograd_layers.end()) {
    WinogradConvParams p;
    p.m = winograd_m_of(c, name);
    p.r = k;
    p.pad = a.pad[i];
    p.groups = groups;
    auto layer = std::make_unique<WinogradConv2dLayer>(name, in_channels, c.widths[i], p);
    layer->set_from_spatial(g);
    return layer;
  }
  Conv2dParams p;
  p.stride = a.stride[i];
  p.pad = a.pad[i];
  p.groups = groups;
  auto layer = std::make_unique<Conv2dLayer>(name, in_channels, c.widths[i], k, p);
  layer->weight().value().copy_from(g);
  return layer;
}

std::unique_ptr<Layer> make_fc(const std::string& name, int in, int out, float gain, Rng& rng) {
  auto layer = std::make_unique<LinearLayer>(name, in, out);
  fill_normal(layer->weight().value(), std::sqrt(gain / float(in)), rng);
  return layer;
}

}  // namespace

std::unique_ptr<Model> build_model(const ModelConfig& config, Rng& rng) {
  const ModelConfig c = resolve_model_config(config);
  const arch::ArchSpec& a = arch::spec(c.arch);
  auto model = std::make_unique<Model>(c);
  int channels = c.input_channels;
  for (int i = 0; i < 5; ++i) {
    const std::string n = std::to_string(i + 1);
    model->add(make_conv(c, a, i, channels, rng));
    model->add(std::make_unique<ReLULayer>("relu" + n));
    if (c.lrn && i < 2) model->add(std::make_unique<LRNLayer>("lrn" + n, 5, 1e-4f, 0.75f, 1.0f));
    if (i == 0 || i == 1 || i == 4)
      model->add(std::make_unique<MaxPoolLayer>("pool" + n, a.pool_kernel, a.pool_stride));
    channels = c.widths[i];
  }
  model->add(std::make_unique<FlattenLayer>("flatten"));
  const int features = static_cast<int>(model->output_shape(1)[1]);
  const bool drop = c.dropout > 0.0f;
  auto dropout = [&](const char* name) {
    if (drop) model->add(std::make_unique<DropoutLayer>(name, c.dropout));
  };
  if (a.dropout_before_fc) dropout("drop6");
  model->add(make_fc("fc6", features, c.fc_widths[0], 2.0f, rng));
  model->add(std::make_unique<ReLULayer>("relu6"));
  dropout(a.dropout_before_fc ? "drop7" : "drop6");
  model->add(make_fc("fc7", c.fc_widths[0], c.fc_widths[1], 2.0f, rng));
  model->add(std::make_unique<ReLULayer>("relu7"));
  if (!a.dropout_before_fc) dropout("drop7");
  model->add(make_fc("fc8", c.fc_widths[1], c.classes, 1.0f, rng));
  return model;
}

}  // namespace wp
