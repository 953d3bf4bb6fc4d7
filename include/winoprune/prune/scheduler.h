#pragma once
// PruningScheduler: runs one phase's pruners on their policies, from hooks the training loop
// calls (Distiller's CompressionScheduler). The loop of a phase of E epochs, I iterations each:
//
//   PruningScheduler sched(phase.pruning, prunable_layers(model), E);
//   (a fine-tune phase instead calls freeze_masks(layers) once: masks from the current zeros)
//   for epoch in [0, E):
//     sched.on_epoch_begin(epoch);                         // epoch-unit pruning events
//     for iter in [0, I):
//       sched.on_minibatch_begin(epoch, iter, I);          // iteration-unit pruning events
//       sgd.zero_grad(); loss = forward(...); backward(loss);
//       sched.after_backward(epoch, iter, I);              // adaptive thresholds read dL/dW
//       sgd.step(lr);                                      // masks; L1 from Parameter::l1
//       sched.after_optimizer_step(epoch, iter, I);        // hard thresholds W := 0
//     sched.on_epoch_end(epoch);                           // closes threshold windows
//   stats = sched.stats();                                 // per-layer sparsity, report.json
//
// epoch and iter count from 0 within the phase, and every hook must be called (the threshold
// pruner acts in all of them). Targets are functions of t; the running statistics (the Fisher
// pruners' sum of g^2, the threshold pruners' rms average, cut and step counters) are state():
// a resumed phase restore()s it, then starts from the resumed epoch's on_epoch_begin when it
// resumes at an epoch boundary, or from on_minibatch_begin of the resumed iteration when it
// resumes inside an epoch (on_epoch_begin would fire that epoch's events a second time).
// The scheduler does not step the optimizer; it relies on it (wp::Optimizer) to keep value and
// momentum masked after every step and to add Parameter::l1 * sign(W) to the gradient.
//
// Mask-based pruners (magnitude, gradual, steps) set Parameter::mask at their events and zero
// value and momentum where it is 0, so nothing regrows. They rank Winograd coefficients by
// |W| times their position's factor (the pruner's "position_scale", position_scale.h). The threshold pruner (the reference's
// method) keeps NO mask while its policy is active (any existing mask of its layers is removed:
// weights may regrow), sets Parameter::l1 = its l1, and after every optimizer step sets W := 0
// where |W| <= thr; when its window closes the mask is frozen from the zeros (mask = W != 0,
// momentum masked) and l1 reset to 0, for what follows. Each kind is a class behind one set of
// hooks (src/prune/pruners.h); the scheduler forwards every hook to each of its pruners.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "winoprune/nn/parameter.h"
#include "winoprune/prune/config.h"

namespace wp {

class Model;

// A weight layer as the pruner sees it.
struct PrunableLayer {
  std::string name;            // "conv3"
  std::string kind;            // "conv" | "winograd" | "fc"
  Parameter* weight = nullptr; // winograd: [t*t, K, C/g]; conv: [K, C/g, r, r]; fc: [out, in]
  int m = 0, r = 0;            // winograd tile F(m x m, r x r); 0 for conv and fc
};

// The conv, winograd and fc layers of a model in network order, with their weight Parameters.
std::vector<PrunableLayer> prunable_layers(Model& model);

// Resolves a selection against the layers, in network order. Throws InputError naming
// selection.path for an unknown name, a bad regex or an empty result.
std::vector<PrunableLayer> select_layers(const LayerSelection& selection,
                                         const std::vector<PrunableLayer>& layers);

// report.json's per-layer numbers. Position fields only for Winograd layers: the fraction of
// exact zeros of each position's K x C/g matrix W_j, minimum and maximum over j.
struct LayerSparsity {
  std::string name, kind;
  int64_t params = 0, nnz = 0;
  double sparsity = 0;                            // exact zeros / params
  std::optional<double> position_sparsity_min, position_sparsity_max;
  std::vector<double> position_sparsity;         // [t*t], position j = (row, col) = (j / t, j % t)
};
LayerSparsity layer_sparsity(const PrunableLayer& layer);
std::vector<LayerSparsity> layer_sparsities(const std::vector<PrunableLayer>& layers);

// Masks from the current zeros for every layer that has a mask or any zero (see freeze_mask).
void freeze_masks(const std::vector<PrunableLayer>& layers);

// A scheduler's running state, for an exact resume: per-entry statistics as tensors named
// "pruning.<pruner>.<layer>.grad_sq" (Fisher) and "pruning.<pruner>.<layer>.grad_ms" (threshold,
// "gradient": "rms"), and the counters as JSON:
//   {"<pruner>": {"grad_steps": n, "layers": {"<layer>": {"grad_steps", "cut",
//    "steps_since_cut"}}}, "targets": [["conv2", 0.5], ...]}
struct PruningState {
  json scalars = json::object();
  std::vector<std::pair<std::string, Tensor>> tensors;
};
constexpr const char* kPruningTensorPrefix = "pruning.";

// What a pruner promises at a point of its phase: the sparsity of each of its layers (or, for a
// "global" pruner, of its layers together). nullopt: nothing promised yet (no event so far) or
// nothing at all (a threshold pruner without final_sparsity: its sparsity is what the rule gives).
struct PlannedTarget {
  std::string pruner;                 // the pruner's name
  std::string path;                   // its JSON path, "phases[2].pruners.agp"
  std::vector<std::string> layers;    // one layer, or all of a global pruner's
  std::optional<double> sparsity;
};
class PruningScheduler {
 public:
  // `layers`: every prunable layer of the model (pruners select among them). `phase_epochs`
  // closes open-ended policies. Throws InputError (naming the config path) when a selection
  // does not resolve or a layer is selected by two pruners.
  PruningScheduler(const PruningConfig& config, std::vector<PrunableLayer> layers,
                   int64_t phase_epochs);
  ~PruningScheduler();
  PruningScheduler(PruningScheduler&&) noexcept;
  PruningScheduler& operator=(PruningScheduler&&) noexcept;

  void on_epoch_begin(int64_t epoch);
  void on_minibatch_begin(int64_t epoch, int64_t iter, int64_t iters_per_epoch);
  void after_backward(int64_t epoch, int64_t iter, int64_t iters_per_epoch);
  void after_optimizer_step(int64_t epoch, int64_t iter, int64_t iters_per_epoch);
  void on_epoch_end(int64_t epoch);

  // The targets at the end of epoch `epoch` (after its last iteration) of a phase with
  // `iters_per_epoch` iterations: mask pruners the target of their last event at or before it
  // (reached exactly, to a weight), threshold pruners in target mode the cubic schedule's value
  // at their last re-choice of the cut (reached at least: entries that fall under the held cut
  // add a little; exactly at the window's end).
  // Computed from the config alone (no pruning happens): the plan (--dry-run) and the check at
  // the end of a prune phase use it.
  std::vector<PlannedTarget> planned_targets(int64_t epoch, int64_t iters_per_epoch) const;
  // InputError naming the policy's JSON path when an iteration-unit window does not fit a phase
  // of `iters_per_epoch` iterations per epoch (start past the end, or an end the phase never
  // reaches: the schedule would never finish). Epoch-unit windows are checked by the constructor.
  void check_windows(int64_t iters_per_epoch) const;

  // The running state (see PruningState); restore() takes what state() gave for the same
  // config and model, and throws InputError naming `file` for a tensor that is missing or of
  // the wrong shape.
  PruningState state() const;
  void restore(const PruningState& state, const std::string& file);

  std::vector<LayerSparsity> stats() const { return layer_sparsities(layers()); }
  const std::vector<PrunableLayer>& layers() const;

  // The most recent target sparsity each pruner set, per layer name (for logs).
  const std::vector<std::pair<std::string, double>>& last_targets() const;

 private:
  struct Impl;   // the pruners (src/prune/pruners.h) and what they share
  std::unique_ptr<Impl> impl_;
};

}  // namespace wp
