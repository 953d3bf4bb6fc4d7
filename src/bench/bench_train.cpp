// `winoprune bench --suite train`: one whole training step (forward with dropout, softmax
// cross-entropy, backward, SGD momentum update, zero_grad) on a synthetic batch.
// Rows (docs/contracts.md bench contract): {model, batch, variant: spatial|winograd, step_ms,
// peak_rss_mb} plus step_ms_min (the fastest run: on a shared machine the least disturbed),
// images_per_s, runs, winograd_layers and rss_scope.
//   alexnet-small (28x28x1), batch 128        PyTorch 1.13 on this machine: 416 ms
//   alexnet (227x227x3, groups 1, LRN), 64    PyTorch: 9.1 s per step, peak RSS 2.0 GB
// (docs/method.md section 5). variant winograd = conv2..conv5 as F(4x4, r) Winograd layers and
// conv1 spatial, the layout of docs/contracts.md's data flow; spatial = all five convs through oneDNN.
// AlexNet steps take seconds: at most 1 warm-up and 3 timed steps per row there, so the
// suite stays near a minute. Measured here (2 threads, AVX-512, beside two busy training
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
#include <ostream>
#include <string>
#include <vector>

#include "winoprune/allocator.h"
#include "winoprune/autograd.h"
#include "winoprune/bench/bench.h"
#include "winoprune/nn/model.h"
#include "winoprune/ops/ops.h"
#include "winoprune/optim/sgd.h"

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

struct TrainRow {
  std::string model;
  int batch;
  bool winograd;
};

json run_row(const TrainRow& row, const BenchOptions& opts, std::ostream& log_unused) {
  (void)log_unused;
  const bool big = row.model == "alexnet";
  release_cached_memory();
  malloc_trim(0);
  const bool scoped = reset_peak_rss();

  ModelConfig config;
  config.arch = row.model;
  config.classes = big ? 1000 : 10;
  config.lrn = big;
  config.groups = 1;
  if (row.winograd) config.winograd_layers = {"conv2", "conv3", "conv4", "conv5"};
  Rng init(1);
  auto model = build_model(config, init);

  Rng data(2, 3);
  Tensor x = Tensor::empty(model->input_shape(row.batch));
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = data.normal();
  std::vector<int32_t> labels(size_t(row.batch));
  for (auto& l : labels) l = int32_t(data.below(uint32_t(config.classes)));
  Var input = leaf(x);

  SgdConfig sc;
  sc.lr = 1e-3;   // small: the weights stay finite over the timed steps
  sc.momentum = 0.9;
  sc.weight_decay = 5e-4;
  Sgd sgd(model->parameters(), sc);
  Rng dropout_rng(4);
  auto step = [&] {
    ForwardContext ctx;
    ctx.training = true;
    ctx.rng = &dropout_rng;
    sgd.zero_grad();
    Var loss = softmax_cross_entropy(model->forward(input, ctx), labels);
    backward(loss);
    sgd.step(float(sc.lr));
  };
  int warmup = opts.quick ? 1 : opts.warmup;
  int repeats = opts.quick ? 1 : opts.repeats;
  if (big) {
    warmup = std::min(warmup, 1);
    repeats = std::min(repeats, 3);
  }
  Timing t = time_median(step, warmup, repeats);

  return json{{"model", row.model},
              {"batch", row.batch},
              {"variant", row.winograd ? "winograd" : "spatial"},
              {"step_ms", t.median_ms},
              {"step_ms_min", t.min_ms},
              {"peak_rss_mb", peak_rss_mb()},
              {"images_per_s", 1000.0 * row.batch / t.median_ms},
              {"runs", t.runs},
              {"winograd_layers", model->config().winograd_layers},
              {"rss_scope", scoped ? "row" : "cumulative"}};
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
      for (bool winograd : {false, true}) rows.push_back({model, b, winograd});
  }
  TablePrinter table(out,
                     {"model", "batch", "variant", "step_ms", "min_ms", "img/s", "peak_rss_mb", "rss"},
                     {14, 5, 9, 10, 10, 8, 11, 10});
  for (const TrainRow& row : rows) {
    json r = run_row(row, opts, out);
    table.row({row.model, std::to_string(row.batch), r["variant"], fmt_fixed(r["step_ms"], 1),
               fmt_fixed(r["step_ms_min"], 1), fmt_fixed(r["images_per_s"], 1), fmt_fixed(r["peak_rss_mb"], 0), r["rss_scope"]});
    result["results"].push_back(r);
  }
  return result;
}

}  // namespace wp
