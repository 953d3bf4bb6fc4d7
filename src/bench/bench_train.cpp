// `winoprune bench --suite train`: one whole training step (forward with dropout, softmax
// cross-entropy, backward, SGD momentum update, zero_grad) on a synthetic batch.
// Rows (docs/contracts.md bench contract): {model, batch, variant: spatial | winograd |
// finetune-dense | finetune, step_ms, peak_rss_mb} plus sparsity, masked_products,
// step_vs_winograd (finetune rows: step time over the winograd row's), step_vs_winograd_paired
// and paired_runs (the same ratio from steps of the two models alternated: paired_vs_winograd),
// step_ms_min (the fastest run: on a shared machine the least disturbed), images_per_s, runs,
// winograd_layers, rss_scope.
//   alexnet-small (28x28x1), batch 128        PyTorch 1.13 on this machine: 416 ms
//   alexnet (227x227x3, groups 1, LRN), 64    PyTorch: 9.1 s per step, peak RSS 2.0 GB
// (docs/method.md section 5). variant winograd = conv2..conv5 as F(4x4, r) (--tile 2: F(2x2, r)) Winograd layers and
// conv1 spatial, the layout of docs/contracts.md's data flow; spatial = all five convs through oneDNN.
// Measured here (2 threads, AVX-512, beside two busy training
// processes, so times are ~1.8x a quiet machine's): alexnet-small b128 284 ms spatial / 208 ms
// winograd; alexnet b64 2.08 s / 1.34 s; peak RSS 168 / 227 MB and 1404 / 1550 MB (params +
// grads + momentum are 699 MB of AlexNet's, 870 MB with Winograd-domain conv2..5; PyTorch:
// 2.0 GB). Before the storage segments (allocator.h), the graph freed as backward runs
// (autograd.h) and the LRN workspace rebuilt in backward, same load and otherwise the same
// code: peak RSS 328-337 / 391-412 and 2487-2581 / 2558-2654 MB; AlexNet steps 1.00x (spatial)
// and 1.01-1.03x (Winograd) of the old times in paired runs (noise about +-5%).
//
// Peak RSS per row, in one process: before each row the previous row's model is freed, the
// memory it left mapped but unused is returned to the kernel (the storage segments,
// allocator.h, and glibc's free heap pages, malloc_trim), and the kernel's high-water mark is
// reset to the current RSS by writing "5" to /proc/self/clear_refs (Linux >= 4.0); VmHWM after
// the row is then that row's peak, including what the process still holds (code, oneDNN's
// cached kernels and plans: tens of MB). If the reset is refused, the value is the cumulative peak of the
// process so far and rss_scope says "cumulative".
#include <malloc.h>
#include <omp.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "winoprune/allocator.h"
#include "winoprune/error.h"
#include "winoprune/autograd.h"
#include "winoprune/bench/bench.h"
#include "winoprune/dist/dist.h"
#include "winoprune/dist/gradient_allreduce.h"
#include "winoprune/nn/model.h"
#include "winoprune/ops/ops.h"
#include "winoprune/optim/optimizer.h"

namespace wp {

namespace {

// VmHWM of this process in MB (0 if /proc is unavailable).
double peak_rss_mb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;   // kB
  return 0.0;
}

bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return bool(out);
}

// Variants: spatial (all convs through oneDNN); winograd (conv2..conv5 Winograd layers, the
// optimizer of a from-scratch Winograd train phase: the Q X Q spatial-equivalent term on);
// finetune (the same layers with uniform random masks at the row's sparsity and the optimizer
// of prune and fine-tune phases: no Q X Q term, the per-position scale D, masked updates; the
// products over unmasked weights only, winograd/masked_products.h, as fine-tune phases run);
// finetune-dense (the same with the dense products: what fine-tune phases ran before).
// --tile: the output tile m of the Winograd layers (4 by default; the Fashion-MNIST configs and
// the quickstart train with 2).
int tile_m(const BenchOptions& opts) { return opts.tile ? opts.tile : 4; }

enum class TrainVariant { spatial, winograd, finetune_dense, finetune };
const char* variant_name(TrainVariant v) {
  switch (v) {
    case TrainVariant::spatial: return "spatial";
    case TrainVariant::winograd: return "winograd";
    case TrainVariant::finetune_dense: return "finetune-dense";
    default: return "finetune";
  }
}

struct TrainRow {
  std::string model;
  int batch;
  TrainVariant variant;
  double sparsity = 0.0;   // finetune variants: the masks' sparsity
  bool winograd() const { return variant != TrainVariant::spatial; }
  bool masked() const {
    return variant == TrainVariant::finetune || variant == TrainVariant::finetune_dense;
  }
};

// One row's model, synthetic batch, masks and optimizer; step() runs one training step with
// the gradients summed by `reducer` under mpirun.
struct TrainFixture {
  TrainFixture(const TrainRow& row, const BenchOptions& opts);
  void step(GradientAllreduce& reducer);

  TrainRow row;
  OptimizerConfig sc;
  std::unique_ptr<Model> model;
  std::unique_ptr<Optimizer> optimizer;
  Var input;
  std::vector<int32_t> labels;
  Rng dropout_rng{4};
  uint64_t frozen_masks = 0;   // ForwardContext::frozen_masks of the fine-tune rows
};

TrainFixture::TrainFixture(const TrainRow& r, const BenchOptions& opts) : row(r) {
  const bool big = row.model == "alexnet";
  ModelConfig config;
  config.arch = row.model;
  config.classes = big ? 1000 : 10;
  config.lrn = big;
  config.groups = 1;
  if (row.winograd()) {
    config.winograd_layers = {"conv2", "conv3", "conv4", "conv5"};
    for (const std::string& name : config.winograd_layers)
      config.winograd_m.push_back({name, tile_m(opts)});
  }
  Rng init(1);
  model = build_model(config, init);

  Rng data(2, 3);
  Tensor x = Tensor::empty(model->input_shape(row.batch));
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = data.normal();
  labels.resize(size_t(row.batch));
  for (auto& l : labels) l = int32_t(data.below(uint32_t(config.classes)));

  sc.lr = 1e-3;   // small: the weights stay finite over the timed steps
  sc.momentum = 0.9;
  sc.weight_decay = 5e-4;
  if (row.masked()) {
    sc.spatial_preconditioner = 0.0;   // what prune and fine-tune phases run
    Rng masks(5, 6);
    for (Parameter* p : model->parameters()) {
      if (p->value().ndim() != 3) continue;   // Winograd weights [t*t, K, C/g]
      p->mask = Tensor::empty(p->value().shape());
      for (int64_t i = 0; i < p->mask.numel(); ++i) {
        p->mask[i] = masks.uniform() < float(row.sparsity) ? 0.0f : 1.0f;
        p->value()[i] *= p->mask[i];
      }
    }
  }
  optimizer = std::make_unique<Optimizer>(model->parameters(), sc);
  // The fine-tune rows as a fine-tune phase runs them (runner.cpp): frozen masks.
  if (row.variant == TrainVariant::finetune) {
    optimizer->set_masks_frozen(true);
    frozen_masks = new_frozen_masks_id();
  }
  // Under mpirun: `batch` is the global batch, each rank steps on its 1/N share and the
  // gradients are summed in overlapped buckets (bucket_bytes > 0) or in one blocking allreduce
  // after backward (0), which measures the communication itself.
  const int ranks = dist::size();
  if (ranks > 1) {
    const int64_t local = row.batch / ranks;
    x = x.slice(0, local);
    labels.resize(size_t(local));
  }
  input = leaf(x);
}

void TrainFixture::step(GradientAllreduce& reducer) {
  ForwardContext ctx;
  ctx.training = true;
  ctx.rng = &dropout_rng;
  ctx.masked_products = row.variant == TrainVariant::finetune;
  ctx.frozen_masks = frozen_masks;
  optimizer->zero_grad();
  reducer.begin_step(1.0 / dist::size());
  Var loss = softmax_cross_entropy(model->forward(input, ctx), labels);
  backward(loss);
  reducer.finish();
  optimizer->step(float(sc.lr));
}

// AlexNet steps take seconds: at most 2 warm-ups and 3 timed steps per row there (5 pairs in
// the paired ratio below), so the suite stays near two minutes. With one warm-up the Winograd
// row's timed steps were slower and spread (AlexNet b64, two runs: median 701.7 / 788.2 ms,
// fastest 660.5 / 743.8) than after four (673.7 / 760.6, fastest 663.6 / 758.9).
int warmup_of(const TrainRow& row, const BenchOptions& opts) {
  return opts.quick ? 1 : row.model == "alexnet" ? std::min(opts.warmup, 2) : opts.warmup;
}
int repeats_of(const TrainRow& row, const BenchOptions& opts, int alexnet_cap) {
  return opts.quick ? 1 : row.model == "alexnet" ? std::min(opts.repeats, alexnet_cap)
                                                 : opts.repeats;
}

json run_row(const TrainRow& row, const BenchOptions& opts, std::unique_ptr<TrainFixture>* kept) {
  release_cached_memory();
  malloc_trim(0);
  const bool scoped = reset_peak_rss();
  auto f = std::make_unique<TrainFixture>(row, opts);
  auto timed = [&](int64_t bucket_bytes, double* comm_ms) {
    GradientAllreduce reducer(f->model->parameters(), bucket_bytes);
    const int warmup = warmup_of(row, opts), repeats = repeats_of(row, opts, 3);
    const double before = reducer.exposed_seconds();
    Timing tm = time_median([&] { f->step(reducer); }, warmup, repeats);
    *comm_ms = 1000.0 * (reducer.exposed_seconds() - before) / std::max(1, warmup + repeats);
    return tm;
  };
  double exposed_ms = 0, blocking_ms = 0;
  Timing t = timed(GradientAllreduce::kDefaultBucketBytes, &exposed_ms);
  json extra = json::object();
  const int ranks = dist::size();
  if (ranks > 1) {
    Timing tb = timed(0, &blocking_ms);
    extra = {{"ranks", ranks},
             {"comm_exposed_ms", exposed_ms},
             {"allreduce_ms", blocking_ms},
             {"step_ms_blocking_allreduce", tb.median_ms},
             {"compute_ms", tb.median_ms - blocking_ms}};
  }

  json r = json{{"model", row.model},
              {"batch", row.batch},
              {"variant", variant_name(row.variant)},
              {"sparsity", row.sparsity},
              {"masked_products", row.variant == TrainVariant::finetune},
              {"step_ms", t.median_ms},
              {"step_ms_min", t.min_ms},
              {"peak_rss_mb", peak_rss_mb()},
              {"images_per_s", 1000.0 * row.batch / t.median_ms},
              {"runs", t.runs},
              {"winograd_layers", f->model->config().winograd_layers},
              {"tile", row.winograd() ? json(winograd_m_of(f->model->config(), "conv2")) : json(nullptr)},
              {"rss_scope", scoped ? "row" : "cumulative"}};
  for (auto& [k, v] : extra.items()) r[k] = v;
  if (kept) *kept = std::move(f);
  return r;
}

// A masked row's step over the Winograd step, from steps of the two models run alternately
// (W F, F W, W F, ...): the median of the pairs' ratios. The rows' own medians are minutes
// apart, and on a shared machine whose speed drifts by 10-25% over minutes their quotient moved
// by +-0.03 between runs of the same build; a pair's two steps are a second apart. Run after the
// row's peak RSS was read (both models are in memory here). Measured (AlexNet b64, 90%): the
// paired ratio read 0.649 / 0.652 in two runs of one build and 0.632 / 0.635 of the next, where
// the rows' quotient read 0.58-0.63 for both. The paired fine-tune steps match the row's (432.3
// against 431.4 ms); the Winograd row, one warm-up and three steps of a fresh model, ran slower
// than the same model's steps in the pairs (712.9 against 688.3 ms), which flattered the rows'
// quotient. Switching models between steps costs neither: with one untimed step of the same
// model before each timed one the ratio read 0.630 against 0.631.
PairedTiming paired_vs_winograd(TrainFixture& masked, const BenchOptions& opts) {
  TrainRow wrow = masked.row;
  wrow.variant = TrainVariant::winograd;
  wrow.sparsity = 0.0;
  TrainFixture winograd(wrow, opts);
  GradientAllreduce rw(winograd.model->parameters()), rm(masked.model->parameters());
  return time_paired([&] { winograd.step(rw); }, [&] { masked.step(rm); },
                     warmup_of(masked.row, opts), repeats_of(masked.row, opts, 5));
}

}  // namespace

json bench_train(const BenchOptions& opts, std::ostream& out) {
  json result = bench_envelope("train");
  std::vector<TrainRow> rows;
  for (const char* model : {"alexnet-small", "alexnet"}) {
    const bool big = std::string(model) == "alexnet";
    std::vector<int> batches = opts.batches;
    if (batches.empty()) batches = {big ? 64 : 128};
    if (opts.quick) batches = {big ? 2 : 8};
    for (int b : batches)
      for (TrainRow row : {TrainRow{model, b, TrainVariant::spatial},
                           TrainRow{model, b, TrainVariant::winograd},
                           TrainRow{model, b, TrainVariant::finetune_dense, 0.9},
                           TrainRow{model, b, TrainVariant::finetune, 0.9},
                           TrainRow{model, b, TrainVariant::finetune, 0.95}})
        rows.push_back(row);
  }
  const bool dp = dist::size() > 1;
  if (dp)
    out << "data parallel: " << dist::size() << " ranks x " << omp_get_max_threads()
        << " threads; batch is the global batch; comm ms = allreduce time backward did not hide, "
           "allreduce ms = one blocking allreduce of every gradient\n";
  std::vector<std::string> head = {"model", "batch", "variant", "tile", "sparsity", "step_ms", "min_ms",
                                   "vs winograd", "paired", "img/s", "peak_rss_mb", "rss"};
  std::vector<int> widths = {14, 5, 14, 4, 8, 10, 10, 11, 8, 8, 11, 10};
  if (dp) {
    head.insert(head.end(), {"comm ms", "allreduce ms", "compute ms"});
    widths.insert(widths.end(), {9, 13, 11});
  }
  TablePrinter table(out, head, widths);
  double winograd_ms = 0;   // the winograd row of the same model and batch (it comes before)
  for (const TrainRow& row : rows) {
    if (dp && row.batch % dist::size() != 0)
      throw InputError("--batch: " + std::to_string(row.batch) + " (the global batch) does not "
                       "split evenly over " + std::to_string(dist::size()) + " ranks");
    std::unique_ptr<TrainFixture> fixture;
    json r = run_row(row, opts, row.masked() ? &fixture : nullptr);
    if (row.variant == TrainVariant::winograd) winograd_ms = r["step_ms"];
    std::string ratio = "-", paired = "-";
    if (row.masked() && winograd_ms > 0) {
      r["step_vs_winograd"] = double(r["step_ms"]) / winograd_ms;
      ratio = fmt_fixed(r["step_vs_winograd"], 2) + "x";
    }
    if (fixture) {
      const PairedTiming pt = paired_vs_winograd(*fixture, opts);
      fixture.reset();
      r["step_vs_winograd_paired"] = pt.ratio_median;
      r["paired_runs"] = pt.runs;
      r["paired_step_ms"] = pt.b_median_ms;
      r["paired_winograd_ms"] = pt.a_median_ms;
      paired = fmt_fixed(pt.ratio_median, 3) + "x";
    }
    std::vector<std::string> cells = {row.model, std::to_string(row.batch), r["variant"],
                                      r["tile"].is_null() ? "-" : r["tile"].dump(),
                                      row.masked() ? fmt_fixed(row.sparsity, 2) : "-",
                                      fmt_fixed(r["step_ms"], 1), fmt_fixed(r["step_ms_min"], 1),
                                      ratio, paired, fmt_fixed(r["images_per_s"], 1),
                                      fmt_fixed(r["peak_rss_mb"], 0), r["rss_scope"]};
    if (dp)
      cells.insert(cells.end(), {fmt_fixed(r["comm_exposed_ms"], 2), fmt_fixed(r["allreduce_ms"], 2),
                                 fmt_fixed(r["compute_ms"], 1)});
    table.row(cells);
    result["results"].push_back(r);
  }
  return result;
}

}  // namespace wp
