#include <chrono>

#include "winoprune/app/runner.h"
#include "winoprune/data/loader.h"
#include "winoprune/nn/model.h"
#include "winoprune/ops/ops.h"
#include "winoprune/prune/scheduler.h"

namespace wp {

Evaluation evaluate_model(Model& model, const Dataset& data, const DataConfig& config,
                          InferenceKernel kernel) {
  auto t0 = std::chrono::steady_clock::now();
  NoGradGuard no_grad;
  model.prepare_inference(kernel);
  ForwardContext ctx;
  ctx.training = false;
  ctx.kernel = kernel;
  BatchLoader loader(data, eval_loader_options(config));
  Batch batch;
  Evaluation e;
  double loss_sum = 0;
  int64_t top1 = 0, top5 = 0;
  int k5 = std::min(5, data.classes());
  while (loader.next(batch)) {
    Var x = leaf(batch.images);
    Var logits = model.forward(x, ctx);
    Var loss = softmax_cross_entropy(logits, batch.labels);
    loss_sum += double(loss->value[0]) * batch.size();
    top1 += count_topk_correct(logits->value, batch.labels, 1);
    top5 += count_topk_correct(logits->value, batch.labels, k5);
    e.images += batch.size();
  }
  // Packed sparse weights go stale once training resumes; drop them.
  model.prepare_inference(InferenceKernel::dense);
  if (e.images > 0) {
    e.top1 = double(top1) / e.images;
    e.top5 = double(top5) / e.images;
    e.loss = loss_sum / e.images;
  }
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return e;
}

std::vector<LayerReport> layer_reports(Model& model) {
  std::vector<WeightLayerInfo> infos = model.weight_layers();
  std::vector<LayerSparsity> sparsity = layer_sparsities(prunable_layers(model));
  std::vector<LayerReport> out;
  for (const WeightLayerInfo& info : infos) {
    LayerReport r;
    r.name = info.name;
    r.kind = info.kind;
    r.tile = info.tile;
    r.shape = info.weight_shape;
    r.dense_mflop = info.dense_flops_per_image / 1e6;
    for (const LayerSparsity& s : sparsity) {
      if (s.name != info.name) continue;
      r.params = s.params;
      r.nnz = s.nnz;
      r.sparsity = s.sparsity;
      if (s.position_sparsity_min) r.position_sparsity_min = *s.position_sparsity_min;
      if (s.position_sparsity_max) r.position_sparsity_max = *s.position_sparsity_max;
    }
    r.remaining_mflop = remaining_mflop(r);
    out.push_back(r);
  }
  return out;
}

}  // namespace wp
