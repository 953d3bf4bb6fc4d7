#pragma once
// A model's state as a safetensors checkpoint (docs/contracts.md, checkpoint format):
//   "<layer>.weight" / "<layer>.bias"  F32  parameters by model path (Winograd: [t*t][K][C/g])
//   "<layer>.weight.mask"             U8   0/1, when the parameter has a mask
//   "<layer>.weight.momentum"         F32  SGD velocity / Adam first moment, when defined
//   "<layer>.weight.second_moment"    F32  Adam second moment, when defined
//   "<layer>.winograd.AT" / ".BT" / ".G"  F64  each Winograd layer's transforms (m x t, t x t,
//                                            t x r), so any tool can evaluate the model
//   __metadata__: "format" = "winoprune-checkpoint-1", "model" = the model config as JSON (the
//   architecture at this point of the run, conversions included), "config" = the resolved
//   experiment config, "state" = the run position as JSON (RunState below), and "phase",
//   "epoch", "iteration" for people reading the header.
#include <map>
#include <string>

#include "winoprune/io/json_reader.h"
#include "winoprune/io/safetensors.h"
#include "winoprune/nn/model.h"

namespace wp {

constexpr const char* kCheckpointFormat = "winoprune-checkpoint-1";

// Where a run is: the phase, the epochs and iterations done in it, the RNG state, and what the
// report needs from earlier phases (baseline, phase timings). Serialized as JSON metadata.
struct RunState {
  int phase_index = 0;          // the phase this checkpoint was taken in
  bool phase_done = false;      // true: resume at phase_index + 1
  int64_t epoch = 0;            // epochs completed in the phase
  int64_t iteration = 0;        // iterations completed in the current (incomplete) epoch
  int64_t step = 0;             // iterations over the whole run
  double seconds = 0;           // wall seconds of the run so far
  uint64_t rng_state = 0, rng_inc = 1;   // the dropout RNG
  json extra = json::object();  // baseline, phases done, last evaluation (the runner's)
};
json run_state_to_json(const RunState& s);
RunState run_state_from_json(const json& j, const std::string& file);
// The run state in a checkpoint's "state" metadata; InputError naming the file and
// __metadata__.state when it is missing, not JSON, or lacks a field.
RunState checkpoint_run_state(const SafeTensorsFile& file);

struct CheckpointContents {
  bool momentum = true;         // include optimizer state (off for a final, inference-only export)
  // Run state that is not the model's (the pruning scheduler's statistics, names starting
  // "pruning."): written as F32 tensors, skipped by load_checkpoint_into.
  std::vector<std::pair<std::string, Tensor>> extra_tensors;
  // false: a position record, metadata only ("weights": "none"; no tensor at all), for phases
  // that change no weight; the run takes the weights from checkpoints/latest.safetensors.
  bool weights = true;
};
// Whether a checkpoint holds the model (false for a position record).
bool checkpoint_has_weights(const SafeTensorsFile& file);

// Writes atomically (temp, fsync, rename).
void save_checkpoint(const std::string& path, Model& model, const RunState& state,
                     const json& resolved_config, const CheckpointContents& what = {});

// Loads parameters into `model` by name: every model parameter must be present with its shape
// (InputError naming the file and tensor otherwise); masks and momentum are loaded when present
// (with_momentum) and cleared when absent. Tensors the model does not have are an error too,
// except Winograd transforms, which are checked against this build's matrices, and the run
// state's "pruning.*" tensors (read with checkpoint_extra_tensors).
void load_checkpoint_into(const SafeTensorsFile& file, Model& model, bool with_momentum);

// The checkpoint a killed run resumes from: of every RUN_DIR/checkpoints/*.safetensors (temp
// files of interrupted writes never end so), the one furthest along (largest step, then phase,
// then phase_done). A run killed between writing <phase>-<epoch> and relinking latest still
// resumes from the newer file. Files whose header or state does not parse are passed over.
// Empty if there is none.
std::string newest_checkpoint(const std::string& checkpoints_dir);

// The checkpoint's tensors whose names start with `prefix`, as F32 Tensors.
std::vector<std::pair<std::string, Tensor>> checkpoint_extra_tensors(const SafeTensorsFile& file,
                                                                      const std::string& prefix);

// The model config stored in a checkpoint's metadata.
ModelConfig checkpoint_model_config(const SafeTensorsFile& file);

}  // namespace wp
