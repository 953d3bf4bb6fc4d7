#pragma once
// The suites of `winoprune bench` (docs/contracts.md, bench contract), one file each in src/bench/.
// Each prints a table to `out` as rows complete and returns the JSON envelope with its rows.
#include <ostream>
#include <string>
#include <vector>

#include "winoprune/bench/bench.h"

namespace wp {

class Model;

json bench_conv(const BenchOptions& options, std::ostream& out);    // bench_conv.cpp
json bench_layer(const BenchOptions& options, std::ostream& out);   // bench_layer.cpp
json bench_train(const BenchOptions& options, std::ostream& out);   // bench_train.cpp
json bench_net(const BenchOptions& options, std::ostream& out);     // bench_net.cpp
json bench_loader(const BenchOptions& options, std::ostream& out);  // bench_loader.cpp

// A trained model's own Winograd layers, each timed on its own input (a forward of random
// images up to it) with the model's real masks: the sparse kernel, the dense Winograd path, and
// oneDNN direct convolution for the same shape (random weights: its time does not depend on
// them). bench_net.cpp.
struct LayerSpeed {
  std::string layer, tile;       // "conv3", "F(4x4,3x3)"
  int batch = 0;
  double sparsity = 0;
  double sparse_ms = 0, dense_ms = 0, direct_ms = 0;   // medians
};
std::vector<LayerSpeed> time_winograd_layers(Model& model, int batch, int warmup, int repeats);

// `bench --suite net --checkpoint CKPT`: time_winograd_layers at each batch, then the whole
// network on the sparse kernel and the dense path, then every layer's time alone on its input
// per kernel (bench_net.cpp). Rows: {"model", "batch", "layer" ("net" for the whole network),
// "algo" or "kernel", "sparsity", "ms", "x_direct"}; breakdown rows {"layer", "kernel", "ms",
// "share"} and {"layer": "sum of layers", "net_over_sum"}; `source` names the checkpoint in the
// envelope.
json bench_net_model(Model& model, const std::string& source, const std::vector<int>& batches,
                     const BenchOptions& options, std::ostream& out);

}  // namespace wp
