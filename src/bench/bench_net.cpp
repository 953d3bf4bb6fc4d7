// `winoprune bench --suite net`: whole-network inference (one forward of a batch, no
// gradients) of a pruned AlexNet, sparse Winograd kernel vs the dense training path, in the same
// process. Winograd layers conv2..conv5 (conv2 F(2x2,5x5) ... the model's defaults) get random
// masks of the given sparsity (uniform over the weights, a fixed seed); fc layers stay dense.
// Reference point (REFERENCE.md section 5): PyTorch 1.13 dense AlexNet-227 inference, batch 64,
// 2 threads: 2.46 s.
#include <omp.h>

#include "winoprune/bench/suites.h"
#include "winoprune/nn/layers.h"
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
      }
      model->prepare_inference(InferenceKernel::dense);
    }
  }
  return result;
}

}  // namespace wp
