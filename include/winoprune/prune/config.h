#pragma once
// The pruning part of a phase config, split as Distiller does: "pruners" say WHAT (which layers,
// which targets), "policies" say WHEN (start, end, frequency, unit).
//
//   "pruners": {
//     "<name>": { "type": "magnitude" | "gradual" | "steps" | "threshold",
//                 "layers": ["conv2", ...] | "winograd"   or   "regex": "conv[2-5]",
//                 ...the type's keys (below) },
//   },
//   "policies": [ { "pruner": "<name>", "start": 0, "end": E, "frequency": 1,
//                   "unit": "epoch" | "iteration" } ]
//
// Type keys and defaults:
//   magnitude  "sparsity": s in [0,1) or {"conv2": 0.9, ...} (required), "global": false
//   gradual    "initial_sparsity": 0, "final_sparsity": s_f in [0,1) (required), "global": false
//              s_t = s_f + (s_i - s_f)(1 - (t - start)/span)^3, span = ((end-start-1)/freq)*freq
//              (integer division), so the last pruning step, start + span, is exactly s_f.
//   steps      "schedule": [[t, s], ...] (required; t strictly increasing, s non-decreasing, in
//              the policy's unit), "global": false. At each policy step the target is the s of
//              the last entry with t' <= t (none yet: no pruning).
//   magnitude, gradual and steps also take
//              "position_scale": "none" | "output" | "output_input" (default "output_input"):
//              Winograd coefficients are ranked by |W_j[k][c]| * s_j, s_j the factor of their
//              position j = (p, q) (position_scale.h: none 1, output ||A_p|| ||A_q||,
//              output_input ||A_p|| ||A_q|| ||B^T_p|| ||B^T_q|| / m); conv and fc layers by |w|.
//              "global": true puts one threshold on these scaled scores across layers.
//              "saliency": "magnitude" (default: the scores above) | "fisher": every entry is
//              ranked by |w| * sqrt(mean g^2), g its loss gradient at the training steps since
//              the pruner's previous event (Optimal Brain Damage's w^2 H_ii with the empirical
//              Fisher diagonal for H; no position factor, the gradients carry it). An event with
//              no gradient seen yet (one-shot at step 0) falls back to "magnitude"; the sum is
//              checkpointed (a resume continues it). (Measured against magnitude:
//              docs/measurements.md.)
//   threshold  "l1": 5e-5 (L1 lambda: Parameter::l1, the optimizer adds l1*sign(W)), "thr0": 1e-4,
//              "per_position": true (thr_j = thr0 / (||A_p|| ||A_q||) on Winograd layers),
//              "adaptive": false, "factor": 10 (thr = 1 / (|dL/dW|/thr_j + 1/(factor*thr_j))),
//              "final_sparsity": none | s_f in [0,1), "initial_sparsity": 0. With a final
//              sparsity the rule stays the reference's (L1, per-position and adaptive thresholds,
//              regrowth inside the window) but thr0 is no longer fixed: it is re-chosen per
//              layer, every 16 steps and at the window's last step, as the smallest value that
//              zeroes the cubic (AGP) schedule's target s_t of the layer, ranking entries by
//              |W| / thr(thr0 = 1). The window ends exactly on s_f (what SkimCaffe users could not
//              get: a fixed thr0 gives whatever sparsity it gives).
//              "gradient": "step" (default: |g| of the current step, the reference's rule) |
//              "rms": sqrt of an exponential moving average of g^2 over the steps of the window
//              (bias-corrected as Adam's; "rms_decay": 0.99, about 100 steps), with "adaptive";
//              each window of the pruner starts its own average.
//              Why: the threshold acts after EVERY step, so with the step's |g| an entry gets
//              thousands of draws of batch noise, and one small draw zeroes it (a zeroed entry
//              rarely comes back: its |W| restarts from one step's update). The average is the
//              Fisher saliency's sqrt(mean g^2) in the reference's formula. Checkpointed with the
//              cut and step counters (PruningScheduler::state): a resume continues them.
//              (Measured, step against rms, per_position and l1: docs/measurements.md.)
// Policy defaults: start 0, end = the phase's end (exclusive), frequency 1, unit "epoch". When
// "policies" is absent, every pruner gets the default policy. A pruner that no policy uses, a
// policy naming an unknown pruner, and a layer selected by two pruners are errors.
// Sparsity targets are ABSOLUTE fractions of each layer's weights (not of the survivors).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "winoprune/io/json_reader.h"
#include "winoprune/prune/position_scale.h"

namespace wp {

// Which weight layers a pruner (or a sensitivity sweep) acts on. Exactly one form is given.
struct LayerSelection {
  std::vector<std::string> names;   // "layers": [...]
  bool all_winograd = false;        // "layers": "winograd"
  std::string regex;                // "regex": matched against the whole layer name
  std::string path;                 // JSON path of the owning object, for resolution errors
};

// Reads "layers" / "regex" from `r` (exactly one of them must be present).
LayerSelection parse_layer_selection(JsonReader& r);

enum class Saliency { magnitude, fisher };

// How a mask-based pruner (magnitude, gradual, steps) ranks the entries it prunes: its keys
// "global", "position_scale" and "saliency" (above).
struct RankingOptions {
  bool global = false;
  PositionScale position_scale = kDefaultPositionScale;
  Saliency saliency = Saliency::magnitude;
};

struct MagnitudeSpec {
  double sparsity = 0;                                       // every selected layer, unless
  std::vector<std::pair<std::string, double>> per_layer;    // non-empty: one target per layer
  RankingOptions ranking;
};
struct GradualSpec {
  double initial_sparsity = 0, final_sparsity = 0;
  RankingOptions ranking;
};
struct StepsSpec {
  std::vector<std::pair<int64_t, double>> schedule;   // (t, sparsity)
  RankingOptions ranking;
};
struct ThresholdSpec {
  double l1 = 5e-5;           // the reference recipe's weight decay, used as an L1 term
  double thr0 = 1e-4;
  bool per_position = true;
  bool adaptive = false;
  double factor = 10;
  bool gradient_rms = false;  // "gradient": "step" (false) | "rms" (true), see above
  double rms_decay = 0.99;
  std::optional<double> final_sparsity;   // set: thr0 follows the AGP target (see above)
  double initial_sparsity = 0;
};
using PrunerSpec = std::variant<MagnitudeSpec, GradualSpec, StepsSpec, ThresholdSpec>;

struct PrunerConfig {
  std::string name;
  std::string path;           // "phases[2].pruners.g1"
  LayerSelection layers;
  PrunerSpec spec;
};

enum class PruneUnit { epoch, iteration };

struct PolicyConfig {
  std::string pruner;
  size_t pruner_index = 0;    // into PruningConfig::pruners
  int64_t start = 0;
  int64_t end = -1;           // exclusive; -1: the end of the phase
  int64_t frequency = 1;
  PruneUnit unit = PruneUnit::epoch;
  std::string path;           // "phases[2].policies[0]"
};

struct PruningConfig {
  std::vector<PrunerConfig> pruners;
  std::vector<PolicyConfig> policies;
  bool empty() const { return pruners.empty(); }
};

// Reads the "pruners" and "policies" keys of a phase object (marking them known; the caller
// still calls phase.finish()). Throws InputError naming the JSON path, e.g.
//   phases[2].pruners.g1.final_sparsity: expected a number in [0, 1), got 1.5
PruningConfig parse_pruning_config(JsonReader& phase);

// Back to JSON (defaults filled in), for the run directory's resolved config.json.
json pruning_config_to_json(const PruningConfig& config);

const char* pruner_type_name(const PrunerSpec& spec);   // "magnitude", ...

// The "position_scale" key of `r` (default kDefaultPositionScale); an unknown name is an
// InputError naming the path and the choices. Shared by the pruners and sensitivity sweeps.
PositionScale parse_position_scale_key(JsonReader& r);

// The ranking options of a mask-based pruner (magnitude, gradual, steps); null for threshold.
const RankingOptions* pruner_ranking(const PrunerSpec& spec);

}  // namespace wp
