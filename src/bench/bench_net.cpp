// `winoprune bench --suite net`: whole-network inference (one forward of a batch, no
// gradients) of a pruned AlexNet, sparse Winograd kernel vs the dense training path, in the same
// process. Winograd layers conv2..conv5 (conv2 F(2x2,5x5) ... the model's defaults) get random
// masks of the given sparsity (uniform over the weights, a fixed seed); fc layers stay dense.
// Reference point (docs/method.md section 5): PyTorch 1.13 dense AlexNet-227 inference, batch 64,
// 2 threads: 2.46 s.
// After the whole-network rows, a per-layer breakdown on each kernel: every layer timed alone on
// its own input (captured from one forward; layers the network fuses into one op timed as one
// row, Model::fused_span), its share of the sum, the same oneDNN primitives run standalone
// where there are (onednn_baselines.h; a fused row: the sum of its ops' primitives), and the
// network's time over the sum (above 1: what running layer after layer costs beyond the layers
// themselves, e.g. caches refilled between layers).
#include <omp.h>

#include "onednn_baselines.h"
#include "winoprune/bench/suites.h"
#include "winoprune/nn/layers.h"
#include "winoprune/error.h"
#include "winoprune/nn/model.h"

namespace wp {

namespace {

void random_prune(Model& model, double sparsity, uint64_t seed) {
  Rng rng(seed, 5);
  for (Layer* layer : model.layers()) {
    auto* w = dynamic_cast<WinogradConv2dLayer*>(layer);
    if (!w) continue;
    Tensor& W = w->weight().value();
    for (int64_t i = 0; i < W.numel(); ++i)
      if (rng.uniform() < sparsity) W[i] = 0.0f;
  }
}

// Each layer of model timed alone on its own input (the output of the layers before it), with
// kernel, fused with the layers after it where the network's forward fuses them
// (Model::fused_span: a ReLU into the layer before it, conv1's block conv ReLU [LRN] max-pool
// into one op); beside it the sum of the standalone oneDNN twins of the ops the row runs
// (onednn_baselines.h: a convolution takes its ReLU as a post-op), when each has one. Medians.
struct LayerTime {
  std::string name;     // "conv1+relu1", "conv1+relu1+lrn1+pool1" when fused
  double ms;
  double onednn_ms;     // < 0: no twin
};
std::vector<LayerTime> time_each_layer(Model& model, const Var& input, InferenceKernel kernel,
                                       int warmup, int repeats) {
  NoGradGuard no_grad;
  model.prepare_inference(kernel);
  ForwardContext ctx;
  ctx.kernel = kernel;
  std::vector<LayerTime> times;
  const std::vector<Layer*> layers = model.layers();
  Var x = input;
  for (size_t i = 0; i < layers.size();) {
    const size_t span = size_t(model.fused_span(i, ctx));
    const Var in = x;
    Timing t = time_median([&] { x = model.forward_span(i, in, ctx); }, warmup, repeats);
    LayerTime lt{layers[i]->name(), t.median_ms, 0.0};
    for (size_t j = i + 1; j < i + span; ++j) lt.name += "+" + layers[j]->name();
    // The twins, each on its own input (the fused ops' intermediate results, op by op).
    Var h = in;
    for (size_t j = i; j < i + span && lt.onednn_ms >= 0;) {
      const bool relu = j + 1 < i + span && dynamic_cast<ReLULayer*>(layers[j + 1]) &&
                        layers[j]->fuses_relu(ctx);
      std::unique_ptr<OnednnTwin> twin = make_onednn_twin(*layers[j], h->value, relu);
      if (!twin) {
        lt.onednn_ms = -1.0;
        break;
      }
      lt.onednn_ms += time_median([&] { twin->run(); }, warmup, repeats).median_ms;
      if (j + (relu ? 2 : 1) < i + span)
        h = relu ? layers[j]->forward_relu(h, ctx) : layers[j]->forward(h, ctx);
      j += relu ? 2 : 1;
    }
    times.push_back(lt);
    i += span;
  }
  return times;
}

// Prints and records the breakdown of one (batch, kernel): rows {"model", "batch", "kernel",
// "sparsity", "layer", "ms", "share"} (plus "onednn_ms" and "over_onednn", the layer's time over
// its twin's, for layers that have a twin), then {"layer": "sum of layers", "ms",
// "net_over_sum"}.
void layer_breakdown(Model& model, const Var& input, InferenceKernel kernel, double sparsity,
                     double net_ms, const BenchOptions& options, std::ostream& out, json& result) {
  const std::string arch = model.config().arch;
  const int batch = int(input->value.dim(0));
  const char* kname = kernel == InferenceKernel::sparse ? "sparse" : "dense";
  const std::vector<LayerTime> times =
      time_each_layer(model, input, kernel, options.warmup, options.repeats);
  double sum = 0;
  for (const LayerTime& t : times) sum += t.ms;
  out << "\nper layer, " << kname << " kernel, batch " << batch
      << " (each alone on its input; oneDNN: the same primitive standalone):\n";
  TablePrinter table(out, {"layer", "ms", "share", "oneDNN ms", "x oneDNN"},
                     {12, 10, 8, 10, 9});
  for (const LayerTime& t : times) {
    const bool twin = t.onednn_ms >= 0;
    table.row({t.name, fmt_fixed(t.ms, 3), fmt_fixed(100.0 * t.ms / sum, 1) + "%",
               twin ? fmt_fixed(t.onednn_ms, 3) : "-",
               twin ? fmt_fixed(t.ms / t.onednn_ms, 2) : "-"});
    json row = {{"model", arch}, {"batch", batch},  {"kernel", kname}, {"sparsity", sparsity},
                {"layer", t.name}, {"ms", t.ms},     {"share", t.ms / sum}};
    if (twin) {
      row["onednn_ms"] = t.onednn_ms;
      row["over_onednn"] = t.ms / t.onednn_ms;
    }
    result["results"].push_back(row);
  }
  table.row({"sum", fmt_fixed(sum, 3), "net " + fmt_fixed(net_ms / sum, 2) + "x", "", ""});
  result["results"].push_back({{"model", arch}, {"batch", batch}, {"kernel", kname},
                               {"sparsity", sparsity}, {"layer", "sum of layers"}, {"ms", sum},
                               {"net_over_sum", net_ms / sum}});
}

}  // namespace

json bench_net(const BenchOptions& options, std::ostream& out) {
  json result = bench_envelope("net");
  std::vector<int> batches = options.batches.empty() ? std::vector<int>{64} : options.batches;
  std::vector<double> sparsities =
      options.sparsities.empty() ? std::vector<double>{0.9} : options.sparsities;
  if (options.quick) batches = {options.batches.empty() ? 2 : batches[0]};

  ModelConfig mc;
  mc.arch = "alexnet";
  mc.classes = 1000;
  mc.groups = 1;
  mc.lrn = true;
  mc.winograd_layers = {"conv2", "conv3", "conv4", "conv5"};
  mc = resolve_model_config(mc);

  TablePrinter table(out, {"model", "batch", "kernel", "sparsity", "ms", "img/s"},
                     {8, 6, 7, 9, 10, 8});
  for (double s : sparsities) {
    Rng rng(7, 7);
    std::unique_ptr<Model> model = build_model(mc, rng);
    random_prune(*model, s, 11);
    for (int batch : batches) {
      Rng xr(3, 3);
      Tensor x = Tensor::empty(model->input_shape(batch));
      for (int64_t i = 0; i < x.numel(); ++i) x[i] = xr.normal();
      Var input = leaf(x);
      std::vector<std::pair<InferenceKernel, double>> net_ms;
      for (InferenceKernel kernel : {InferenceKernel::sparse, InferenceKernel::dense}) {
        NoGradGuard no_grad;
        model->prepare_inference(kernel);   // packing outside the timer
        ForwardContext ctx;
        ctx.kernel = kernel;
        Timing t = time_median([&] { model->forward(input, ctx); }, options.warmup,
                               options.repeats);
        const char* kname = kernel == InferenceKernel::sparse ? "sparse" : "dense";
        table.row({mc.arch, std::to_string(batch), kname, fmt_fixed(s, 2),
                   fmt_fixed(t.median_ms, 1), fmt_fixed(batch * 1000.0 / t.median_ms, 1)});
        result["results"].push_back({{"model", mc.arch}, {"batch", batch}, {"kernel", kname},
                                     {"sparsity", s}, {"ms", t.median_ms}});
        net_ms.emplace_back(kernel, t.median_ms);
      }
      for (auto [kernel, ms] : net_ms)
        layer_breakdown(*model, input, kernel, s, ms, options, out, result);
      model->prepare_inference(InferenceKernel::dense);
    }
  }
  return result;
}

std::vector<LayerSpeed> time_winograd_layers(Model& model, int batch, int warmup, int repeats) {
  NoGradGuard no_grad;
  // Each Winograd layer's input: a forward of random images up to it (dense path).
  model.prepare_inference(InferenceKernel::dense);
  Rng xr(3, 3);
  Tensor x0 = Tensor::empty(model.input_shape(batch));
  for (int64_t i = 0; i < x0.numel(); ++i) x0[i] = xr.normal();
  std::vector<std::pair<WinogradConv2dLayer*, Tensor>> inputs;
  Var x = leaf(x0);
  ForwardContext dense_ctx;
  for (Layer* layer : model.layers()) {
    if (auto* w = dynamic_cast<WinogradConv2dLayer*>(layer)) inputs.emplace_back(w, x->value);
    x = layer->forward(x, dense_ctx);
  }
  std::vector<LayerSpeed> out;
  for (auto& entry : inputs) {
    // Named variables: a structured binding cannot be captured by the lambda below in C++17.
    WinogradConv2dLayer* layer = entry.first;
    const Tensor& input = entry.second;
    const WinogradConvParams& p = layer->params();
    const Shape& in = input.shape();   // [N, C, H, W]
    if (in[2] != in[3])
      throw InputError(layer->name() + ": oneDNN baseline expects square maps, got " + shape_str(in));
    LayerSpeed s;
    s.layer = layer->name();
    s.tile = layer->weight_info()->tile->name();
    s.batch = batch;
    const Tensor& W = layer->weight().value();
    int64_t zeros = 0;
    for (int64_t i = 0; i < W.numel(); ++i) zeros += W[i] == 0.0f;
    s.sparsity = double(zeros) / double(W.numel());
    Var xin = leaf(input);
    for (InferenceKernel k : {InferenceKernel::sparse, InferenceKernel::dense}) {
      layer->prepare_inference(k);   // packing outside the timer
      ForwardContext ctx;
      ctx.kernel = k;
      Timing t = time_median([&] { (void)layer->forward(xin, ctx); }, warmup, repeats);
      (k == InferenceKernel::sparse ? s.sparse_ms : s.dense_ms) = t.median_ms;
    }
    layer->prepare_inference(InferenceKernel::dense);
    const int C = layer->in_channels(), K = layer->out_channels();
    std::vector<float> g(size_t(K) * (C / p.groups) * p.r * p.r);
    std::vector<float> b(static_cast<size_t>(K), 0.0f);
    Rng wr(5, 5);
    for (float& v : g) v = wr.uniform(-1.0f, 1.0f);
    OnednnConv direct(dnnl::algorithm::convolution_direct, batch, C, int(in[2]), K, p.r, p.pad,
                      p.groups, input.data(), g.data(), b.data());
    s.direct_ms = time_median([&] { direct.run(); }, warmup, repeats).median_ms;
    out.push_back(s);
  }
  return out;
}

json bench_net_model(Model& model, const std::string& source, const std::vector<int>& batches,
                     const BenchOptions& options, std::ostream& out) {
  json result = bench_envelope("net");
  result["checkpoint"] = source;
  const std::string arch = model.config().arch;
  out << "net suite on " << source << ": " << omp_get_max_threads() << " threads, median of "
      << options.repeats << " after " << options.warmup << " warm-up\n";
  TablePrinter table(out, {"model", "batch", "layer", "tile", "sparsity", "algo", "ms", "x direct"},
                     {14, 6, 6, 11, 9, 15, 10, 9});
  for (int batch : batches) {
    for (const LayerSpeed& s : time_winograd_layers(model, batch, options.warmup, options.repeats)) {
      for (auto [algo, ms] : {std::pair<const char*, double>{"sparse-winograd", s.sparse_ms},
                              {"dense-winograd", s.dense_ms}, {"onednn-direct", s.direct_ms}}) {
        table.row({arch, std::to_string(batch), s.layer, s.tile, fmt_fixed(s.sparsity, 4), algo,
                   fmt_fixed(ms, 3), fmt_fixed(s.direct_ms / ms, 2)});
        result["results"].push_back({{"model", arch}, {"batch", batch}, {"layer", s.layer},
                                     {"tile", s.tile}, {"algo", algo}, {"sparsity", s.sparsity},
                                     {"ms", ms}, {"x_direct", s.direct_ms / ms}});
      }
    }
    // The whole network, sparse kernel against the dense path.
    NoGradGuard no_grad;
    Rng xr(3, 3);
    Tensor x = Tensor::empty(model.input_shape(batch));
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = xr.normal();
    Var input = leaf(x);
    double total = 0, zeros = 0;
    for (Layer* layer : model.layers())
      if (auto* w = dynamic_cast<WinogradConv2dLayer*>(layer)) {
        const Tensor& W = w->weight().value();
        total += double(W.numel());
        for (int64_t i = 0; i < W.numel(); ++i) zeros += W[i] == 0.0f;
      }
    const double sparsity = total > 0 ? zeros / total : 0.0;
    std::vector<std::pair<InferenceKernel, double>> net_ms;
    for (InferenceKernel kernel : {InferenceKernel::sparse, InferenceKernel::dense}) {
      model.prepare_inference(kernel);
      ForwardContext ctx;
      ctx.kernel = kernel;
      Timing t = time_median([&] { model.forward(input, ctx); }, options.warmup, options.repeats);
      const char* kname = kernel == InferenceKernel::sparse ? "sparse" : "dense";
      table.row({arch, std::to_string(batch), "net", "-", fmt_fixed(sparsity, 4), kname,
                 fmt_fixed(t.median_ms, 3), "-"});
      result["results"].push_back({{"model", arch}, {"batch", batch}, {"layer", "net"},
                                   {"kernel", kname}, {"sparsity", sparsity},
                                   {"ms", t.median_ms}});
      net_ms.emplace_back(kernel, t.median_ms);
    }
    for (auto [kernel, ms] : net_ms)
      layer_breakdown(model, input, kernel, sparsity, ms, options, out, result);
    model.prepare_inference(InferenceKernel::dense);
  }
  return result;
}

}  // namespace wp
