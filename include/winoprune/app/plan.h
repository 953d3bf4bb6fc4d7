#pragma once
// The plan of an experiment, checked before its first training step: a run either does what its
// config says or stops at once with a message naming the JSON path.
//
// plan_experiment walks the phases on a model built from the config (random weights; no data is
// read beyond the datasets' indexes) and checks, in order:
//   - the data: both splits open (root, files), data.batch fits the training split, and each
//     split's classes match model.classes (fewer is an error unless data.allow_fewer_classes);
//   - per phase, against the model as it will be at that phase (conversions applied): an
//     "init" checkpoint holds every parameter of that model with its shape; convert layers
//     exist and have stride 1; pruner and sensitivity selections resolve ("winograd" selects
//     nothing before a convert); every policy window fits the phase in epochs AND iterations
//     (a window that would not finish is an error); a prune phase has at least one epoch; a
//     distillation teacher phase writes a checkpoint.
// The plan records, per phase, its iterations per epoch and, for prune phases, what sparsity
// each pruner promises at each epoch end (PruningScheduler::planned_targets), which the run
// compares with what it reaches at the end of the phase.
#include <ostream>
#include <string>
#include <vector>

#include "winoprune/app/experiment.h"
#include "winoprune/data/dataset.h"
#include "winoprune/prune/scheduler.h"

namespace wp {

struct PhasePlan {
  int index = 0;
  const PhaseConfig* phase = nullptr;
  int64_t iters_per_epoch = 0;                             // training phases
  std::vector<std::string> winograd_layers;                // "conv2 F(4x4,5x5)", after the phase
  std::vector<std::vector<PlannedTarget>> epoch_targets;   // prune: at the end of each epoch
};

struct ExperimentPlan {
  std::vector<PhasePlan> phases;
  DatasetStats train, val;
  int64_t parameters = 0;                                  // weights of the final model
};

// `train` may be null when no training phase has epochs (then nothing needs it).
// Throws InputError naming cfg.file and the JSON path.
ExperimentPlan plan_experiment(const ExperimentConfig& cfg, const Dataset* train,
                               const Dataset& val);

// Whether any phase trains (needs the training split).
bool experiment_trains(const ExperimentConfig& cfg);

// The plan as a person reads it: phases, iterations, and the sparsity table of each prune phase.
void print_plan(std::ostream& out, const ExperimentConfig& cfg, const ExperimentPlan& plan);

}  // namespace wp
