#pragma once
// Parameters and layers for the pruning tests, built without a Model.
#include <memory>
#include <string>
#include <vector>

#include "support.h"
#include "winoprune/nn/parameter.h"
#include "winoprune/prune/scheduler.h"

namespace wp::test {

// A weight Parameter of `shape` with uniform values in [-1, 1) from `seed`.
inline std::unique_ptr<Parameter> random_parameter(const std::string& layer, const Shape& shape,
                                                   uint64_t seed) {
  auto p = std::make_unique<Parameter>();
  p->name = layer + ".weight";
  p->prunable = true;
  auto v = random_vector<float>(size_t(shape_numel(shape)), seed);
  p->var = leaf(Tensor::from_vector(shape, v), true);
  return p;
}

// A small network's weight layers: conv1 spatial [8,3,3,3], conv2 Winograd F(4x4,3x3)
// [36, 16, 8], conv3 Winograd F(2x2,3x3) [16, 16, 16], fc6 [10, 64].
struct TestNet {
  std::vector<std::unique_ptr<Parameter>> params;
  std::vector<PrunableLayer> layers;
  explicit TestNet(uint64_t seed = 1) {
    add("conv1", "conv", {8, 3, 3, 3}, 0, 0, seed);
    add("conv2", "winograd", {36, 16, 8}, 4, 3, seed + 1);
    add("conv3", "winograd", {16, 16, 16}, 2, 3, seed + 2);
    add("fc6", "fc", {10, 64}, 0, 0, seed + 3);
  }
  void add(const std::string& name, const std::string& kind, const Shape& shape, int m, int r,
           uint64_t seed) {
    params.push_back(random_parameter(name, shape, seed));
    layers.push_back({name, kind, params.back().get(), m, r});
  }
  Parameter& weight(const std::string& name) {
    for (auto& l : layers)
      if (l.name == name) return *l.weight;
    throw std::out_of_range(name);
  }
  std::vector<Parameter*> parameters() {
    std::vector<Parameter*> out;
    for (auto& p : params) out.push_back(p.get());
    return out;
  }
};

inline int64_t zeros_of(const Tensor& t) {
  int64_t z = 0;
  for (int64_t i = 0; i < t.numel(); ++i) z += t[i] == 0.0f;
  return z;
}

}  // namespace wp::test
