#pragma once
// The run directory (docs/contracts.md "Run directory contract"):
//   RUN_DIR/config.json, metrics.jsonl, report.json, report.md, layers.csv, sensitivity.csv,
//   checkpoints/<phase>-<epoch>.safetensors, checkpoints/latest.safetensors, plots/*.svg
// Small text files are replaced atomically (write_text_file_atomic, io/atomic_file.h).
#include <ctime>
#include <string>

namespace wp {

// "runs/<name>-<YYYYmmdd-HHMMSS>" in local time. Characters of `name` outside [A-Za-z0-9._-]
// become '-' (a config name is free text; a path component must not contain '/').
std::string default_run_dir(const std::string& name, std::time_t now);
std::string default_run_dir(const std::string& name);   // now

struct RunDir {
  std::string root;
  std::string config_json() const { return root + "/config.json"; }
  std::string metrics_jsonl() const { return root + "/metrics.jsonl"; }
  std::string report_json() const { return root + "/report.json"; }
  std::string report_md() const { return root + "/report.md"; }
  std::string layers_csv() const { return root + "/layers.csv"; }
  std::string sensitivity_csv() const { return root + "/sensitivity.csv"; }
  std::string checkpoints() const { return root + "/checkpoints"; }
  std::string plots() const { return root + "/plots"; }
  // checkpoints/<phase>-<epoch>.safetensors, e.g. "prune-3"; phase sanitized as above.
  std::string checkpoint(const std::string& phase, int64_t epoch) const;
  std::string latest_checkpoint() const { return checkpoints() + "/latest.safetensors"; }
};

// Creates `path` (and parents), checkpoints/ and plots/. A path that exists and is not an empty
// directory is refused with InputError ("<path>: run directory exists and is not empty; choose
// another --out or resume it with --resume <path>") unless `resume`. With `resume` the directory
// must exist and hold config.json (InputError otherwise).
RunDir create_run_dir(const std::string& path, bool resume);
// The refusal above without creating anything (checked before a run plans).
void check_run_dir_free(const std::string& path);

// The checkpoint to resume from: checkpoints/latest.safetensors. InputError naming the run
// directory if there is none.
std::string resume_checkpoint(const RunDir& dir);

}  // namespace wp
