#pragma once
// An experiment: one config file, phases run in order, one run directory (docs/contracts.md).
//
//   { "name": "fmnist-prune-gradual", "seed": 1, "threads": 0,
//     "data": {...}  (include/winoprune/data/dataset.h),
//     "model": {...} (include/winoprune/nn/model.h),
//     "log_every": 50, "checkpoint_every": 0, "keep_checkpoints": "last",
//     "phases": [ {...}, ... ] }
//
// Phase keys (all phases: "type", "name" (default: the type, numbered if repeated), "init"):
//   train | prune | finetune:
//     "epochs" (required), "optimizer" {...}, "lr_schedule" {...} (include/winoprune/optim/),
//     prune: "pruners" {...}, "policies" [...] (include/winoprune/prune/config.h),
//       "on_sparsity_shortfall": "error" (default) | "warn": at the end of the phase each
//       pruner's promised sparsity (its final target) is compared with what its layers reached;
//       more than 0.5 points short fails the run (exit 1) or, with "warn", is logged
//       "sparse_forward": true (default): between pruning events, Winograd layers at least 50%
//       sparse run their forward on the sparse kernel packed from the mask (same values up to
//       rounding; false: the dense forward)
//     finetune: masks are frozen from the current zeros at its start (pruned entries stay 0)
//     "eval_every": evaluate the validation split every N epochs (1; the last epoch always)
//     "distill": {"teacher", "temperature" (4), "weight" (0.5)}: knowledge distillation, the
//       loss becomes ops.h's distillation_loss against the teacher's logits, computed on the fly
//       on the same (augmented) batch in evaluation mode. "teacher" is the name of an earlier
//       phase of this config (the model as that phase left it, read from this run's
//       checkpoints/<name>-<epochs>.safetensors) or a checkpoint path; null: no distillation
//   convert: "layers" (default ["conv2", "conv3", "conv4", "conv5"]), "m" (4 or
//     {"conv2": 2, ...}): spatial conv -> Winograd layer, W = G g G^T
//   eval: "kernel": "sparse" | "dense" (default "sparse")
//   sensitivity: "layers"/"regex", "range": [start, stop, step] (stop included), "kernel"
// "init": a checkpoint whose parameters (and masks) are loaded into the model before the phase.
// Parsed, each type's keys are one PhaseSpec alternative (TrainPhase, ..., below); the training
// phases' common keys are their TrainingConfig.
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "winoprune/data/dataset.h"
#include "winoprune/io/json_reader.h"
#include "winoprune/nn/layer.h"
#include "winoprune/nn/model.h"
#include "winoprune/optim/lr_schedule.h"
#include "winoprune/optim/optimizer.h"
#include "winoprune/prune/config.h"
#include "winoprune/prune/sensitivity.h"

namespace wp {

enum class PhaseType { train, convert, prune, finetune, eval, sensitivity };   // PhaseSpec's order
const char* phase_type_name(PhaseType type);
inline bool is_training_phase(PhaseType t) {
  return t == PhaseType::train || t == PhaseType::prune || t == PhaseType::finetune;
}

struct DistillConfig {
  std::string teacher;               // an earlier phase's name or a checkpoint path
  bool teacher_is_phase = false;     // teacher names an earlier phase of this config
  double temperature = 4.0;
  double weight = 0.5;               // of the soft (teacher) term; 1 - weight for the labels
};

// What train, prune and finetune phases have in common.
struct TrainingConfig {
  int epochs = 0;
  int eval_every = 1;
  OptimizerConfig optimizer;
  LrSchedule lr_schedule;
  std::optional<DistillConfig> distill;
};

// One struct per phase type, holding that type's keys.
struct TrainPhase {
  TrainingConfig training;
};
struct PrunePhase {
  TrainingConfig training;
  PruningConfig pruning;
  bool shortfall_is_error = true;    // "on_sparsity_shortfall" "error" | "warn"
  bool sparse_forward = true;        // "sparse_forward": ForwardContext::sparse_forward
};
struct FinetunePhase {
  TrainingConfig training;
  bool masked_products = true;       // products over unmasked weights only
};
struct ConvertPhase {
  std::vector<std::string> layers;
  std::vector<std::pair<std::string, int>> m;   // m per converted layer
};
struct EvalPhase {
  InferenceKernel kernel = InferenceKernel::sparse;
};
struct SensitivityPhase {
  InferenceKernel kernel = InferenceKernel::sparse;
  SensitivityConfig sweep;
};
// The alternatives in PhaseType's order: the index is the type.
using PhaseSpec =
    std::variant<TrainPhase, ConvertPhase, PrunePhase, FinetunePhase, EvalPhase, SensitivityPhase>;

struct PhaseConfig {
  std::string name;                  // checkpoint names: checkpoints/<name>-<epoch>.safetensors
  std::string path;                  // "phases[2]", for messages
  std::string init;                  // checkpoint to load first ("" = none)
  PhaseSpec spec = TrainPhase{};

  PhaseType type() const { return static_cast<PhaseType>(spec.index()); }
  // The phase's keys of type T, or null when it is of another type.
  template <class T>
  const T* as() const {
    return std::get_if<T>(&spec);
  }
  // train, prune and finetune: their common part; null for the other phases.
  const TrainingConfig* training() const;
  // A training phase's epochs, 0 for the others (their checkpoint is <name>-0).
  int epochs() const { return training() ? training()->epochs : 0; }
};

struct ExperimentConfig {
  std::string file;                  // where it was read from ("" for an in-memory config)
  std::string name = "experiment";
  uint64_t seed = 1;
  int threads = 0;                   // 0 = all cores (OMP_NUM_THREADS if set)
  int log_every = 50;                // a metrics.jsonl train record every N iterations
  int checkpoint_every = 0;          // also checkpoint every N iterations (0: epoch ends only)
  std::string keep_checkpoints = "last";   // "last": each phase keeps its newest; "all"
  DataConfig data;
  ModelConfig model;
  std::vector<PhaseConfig> phases;
};

// Validates everything up front (a bad value in the last phase fails before any training);
// errors are InputError naming `file` and the JSON path.
ExperimentConfig parse_experiment(const json& config, const std::string& file);
// Reads a JSON file; InputError naming the file on a read or JSON error (syntax, a number out of
// double's range such as 1e400, invalid UTF-8).
json read_json_file(const std::string& path);
// The same for text already in memory; `file` names it in messages.
json parse_json_text(const std::string& text, const std::string& file);
// The resolved config: every default filled in (RUN_DIR/config.json); parse_experiment of it
// gives the same experiment.
json experiment_to_json(const ExperimentConfig& config);

}  // namespace wp
