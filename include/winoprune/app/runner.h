#pragma once
// Runs an experiment's phases into a run directory (docs/contracts.md: data flow, run directory).
//
// Training phases (train, prune, finetune), per epoch e and iteration i:
//   pruning.on_epoch_begin(e); for each batch: pruning.on_minibatch_begin; zero_grad; forward;
//   softmax cross-entropy; backward; pruning.after_backward; sgd.step(lr_at(e, i));
//   pruning.after_optimizer_step; every log_every iterations a metrics.jsonl train record;
//   then pruning.on_epoch_end(e), a validation record, and a checkpoint
//   checkpoints/<phase>-<e+1>.safetensors (+ latest). Each phase starts with fresh momentum.
// baseline = the evaluation just before the first prune phase; final = the model at the end
// (evaluated by the last eval phase, or by one added at the end: sparse kernel when the model
// has Winograd layers, dense otherwise).
// Resume: the newest checkpoint restores parameters, masks, momentum, the dropout RNG and the
// position (phase, epoch, iteration); data order is a function of (seed, epoch), so the resumed
// run ends with the same result as an uninterrupted one.
#include <memory>
#include <stdexcept>
#include <ostream>
#include <string>

#include "winoprune/app/experiment.h"
#include "winoprune/app/provenance.h"
#include "winoprune/report/report.h"
#include "winoprune/io/run_dir.h"

namespace wp {

struct ExperimentPlan;
class Dataset;

struct RunOptions {
  std::ostream* log = nullptr;       // progress (default std::cerr)
  std::ostream* out = nullptr;       // results: the final table and figures (default std::cout)
  bool resume = false;
  // Already opened and checked (the CLI plans before it creates the run directory); when
  // absent, run_experiment opens the datasets and plans itself, before the first step.
  std::shared_ptr<Dataset> train, val;
  const ExperimentPlan* plan = nullptr;
  Provenance provenance;             // command line, overrides, config file (report.json)
};

// Thrown at the end of a prune phase whose layers ended short of their pruners' targets
// (runtime failure, exit 1).
struct SparsityShortfall : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Runs (or resumes) the experiment; writes config.json, metrics.jsonl, checkpoints, report.json,
// report.md, layers.csv, plots. Returns the report.
Report run_experiment(const ExperimentConfig& config, const RunDir& dir, const RunOptions& options);

// Evaluation of a model on a split: top-1/top-5 fractions and mean loss.
struct Evaluation {
  double top1 = 0, top5 = 0, loss = 0;
  int64_t images = 0;
  double seconds = 0;
};
class Dataset;
class Model;
// `logits`, when given (single process only), receives every image's logits in the split's
// order, images x classes.
Evaluation evaluate_model(Model& model, const Dataset& data, const DataConfig& config,
                          InferenceKernel kernel, std::vector<float>* logits = nullptr);

// The report's per-layer rows for a model (sparsity, position min/max, MFLOP).
std::vector<LayerReport> layer_reports(Model& model);

}  // namespace wp
