#pragma once
// The subcommands of the winoprune CLI (tools/winoprune.cpp parses arguments and maps errors to
// exit codes: InputError -> 2, other exceptions -> 1). Each returns the exit status.
#include <optional>
#include <string>
#include <vector>

namespace wp {

struct RunArgs {
  std::string config_path;             // run CONFIG.json
  std::optional<std::string> out_dir;  // --out
  std::vector<std::string> sets;       // --set key.path=value (in order)
  std::optional<std::string> resume;   // --resume RUN_DIR
  bool dry_run = false;                // --dry-run: check and print the plan, run nothing
  std::string command;                 // the command line as typed (report.json provenance)
};
int command_run(const RunArgs& args);

struct EvalArgs {
  std::string checkpoint;
  std::optional<std::string> config_path;
  std::optional<std::string> kernel;   // sparse | dense (default: sparse if any mask, else dense)
  std::optional<std::string> json_path;
  std::optional<std::string> logits_path;   // --dump-logits: NumPy .npy, float32 [images, classes]
  std::vector<std::string> sets;       // applied to the config (e.g. data.root)
};
int command_eval(const EvalArgs& args);

struct BenchArgs {
  std::string suite;                   // conv | layer | train | net | loader
  std::vector<int> batches;
  std::vector<double> sparsities;
  std::optional<std::string> json_path;
  int repeats = 0;                     // 0: the suite's default
  bool quick = false;
  int tile = 0;                        // conv: Winograd output tile m (0: 4, AlexNet's default)
  std::optional<std::string> checkpoint;   // net: time this checkpoint's own model
  std::optional<std::string> masks_from;   // conv: this checkpoint's per-position densities
};
int command_bench(const BenchArgs& args);

// `report RUN_DIR [--bench]`: --bench also times the run's final model (its Winograd layers on
// the sparse kernel against oneDNN direct) and adds the figures to report.json, report.md and
// layers.csv.
int command_report(const std::string& run_dir, bool bench = false);

// `compare RUN_DIR... [--csv FILE] [--md FILE] [--plots DIR]` (app/compare.h): the table to
// stdout, the other renderings to files.
struct CompareArgs {
  std::vector<std::string> runs;
  std::optional<std::string> csv, md, plots;
};
int command_compare(const CompareArgs& args);

// `predict MODEL IMAGE|DIR... [--top K] [--json FILE] [--labels FILE] [--kernel K]`: classifies
// image files through evaluation's preprocessing; prints the top K classes of each to stdout.
struct PredictArgs {
  std::string model;                       // checkpoint, export or run directory
  std::vector<std::string> inputs;         // image files or directories of them
  int top = 5;
  std::optional<std::string> json_path, labels, kernel;
};
int command_predict(const PredictArgs& args);

// `export CKPT|RUN_DIR --out MODEL.safetensors` (app/export.h).
int command_export(const std::string& checkpoint, const std::string& out);

}  // namespace wp
