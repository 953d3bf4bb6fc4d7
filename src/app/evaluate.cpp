#include <chrono>

#include "winoprune/app/runner.h"
#include "winoprune/data/loader.h"
#include "winoprune/dist/dist.h"
#include "winoprune/nn/model.h"
#include "winoprune/ops/ops.h"
#include "winoprune/prune/scheduler.h"

namespace wp {

Evaluation evaluate_model(Model& model, const Dataset& data, const DataConfig& config,
                          InferenceKernel kernel, std::vector<float>* logits_out) {
  auto t0 = std::chrono::steady_clock::now();
  NoGradGuard no_grad;
  model.prepare_inference(kernel);
  ForwardContext ctx;
  ctx.training = false;
  ctx.kernel = kernel;
  LoaderOptions opt = eval_loader_options(config);
  opt.shard = dist::rank(), opt.shards = dist::size();   // data parallel: a slice per rank
  BatchLoader loader(data, opt);
  Batch batch;
  Evaluation e;
  // images, loss sum, top-1 and top-5 counts: summed over ranks at the end
  double sums[4] = {0, 0, 0, 0};
  int k5 = std::min(5, data.classes());
  while (loader.next(batch)) {
    if (batch.size() == 0) continue;
    Var x = leaf(batch.images);
    Var logits = model.forward(x, ctx);
    Var loss = softmax_cross_entropy(logits, batch.labels);
    sums[0] += double(batch.size());
    sums[1] += double(loss->value[0]) * batch.size();
    sums[2] += double(count_topk_correct(logits->value, batch.labels, 1));
    sums[3] += double(count_topk_correct(logits->value, batch.labels, k5));
    if (logits_out)
      logits_out->insert(logits_out->end(), logits->value.data(),
                         logits->value.data() + logits->value.numel());
  }
  dist::allreduce_sum(sums, 4);
  e.images = int64_t(sums[0]);
  double loss_sum = sums[1];
  const int64_t top1 = int64_t(sums[2]), top5 = int64_t(sums[3]);
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
    r.tile = info.tile ? info.tile->name() : "";
    r.shape = info.weight_shape;
    r.dense_mflop = info.dense_flops_per_image / 1e6;
    for (const LayerSparsity& s : sparsity) {
      if (s.name != info.name) continue;
      r.params = s.params;
      r.nnz = s.nnz;
      r.sparsity = s.sparsity;
      if (s.position_sparsity_min) r.position_sparsity_min = *s.position_sparsity_min;
      if (s.position_sparsity_max) r.position_sparsity_max = *s.position_sparsity_max;
      r.position_sparsity = s.position_sparsity;
    }
    r.remaining_mflop = remaining_mflop(r);
    out.push_back(r);
  }
  return out;
}

}  // namespace wp
