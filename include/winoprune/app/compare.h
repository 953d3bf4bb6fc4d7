#pragma once
// `winoprune compare RUN_DIR...`: runs side by side, as a researcher sweeping final_sparsity or a
// schedule needs them. One row per run: its name, the config keys whose values differ between
// the runs (each run's values), seed, per-layer and total sparsity, baseline and final top-1 and
// top-5, wall time; as an aligned table, CSV or Markdown; and two SVG overlays: final top-1
// against total sparsity over the runs, and validation top-1 over the steps of each run.
#include <map>
#include <string>
#include <vector>

#include "winoprune/io/json_reader.h"

namespace wp {

struct CompareRow {
  std::string run;                                   // the run directory's name
  std::map<std::string, std::string> values;         // differing key path -> JSON value text
  uint64_t seed = 0;
  std::map<std::string, double> sparsity;            // per prunable layer (weight layers)
  double total_sparsity = 0;
  double baseline_top1 = 0, baseline_top5 = 0, final_top1 = 0, final_top5 = 0;
  double wall_seconds = 0;
  std::vector<std::pair<double, double>> val_top1;   // (step, top-1) of its val records
};

struct Comparison {
  std::vector<std::string> keys;     // config key paths that differ ("phases[2].pruners.agp.final_sparsity")
  std::vector<std::string> layers;   // layers with a nonzero sparsity in some run, network order
  std::vector<CompareRow> rows;
};

// Reads each RUN_DIR's config.json, report.json and metrics.jsonl. InputError naming the file
// for a run that has not finished (no report.json) or unreadable files; at least 2 runs.
Comparison compare_runs(const std::vector<std::string>& run_dirs);

std::string render_compare_table(const Comparison& c);   // aligned plain text
std::string render_compare_csv(const Comparison& c);
std::string render_compare_md(const Comparison& c);
// Writes DIR/compare-sparsity.svg (final top-1 against total sparsity) and DIR/compare-top1.svg
// (validation top-1 over steps, a line per run); returns the paths.
std::vector<std::string> write_compare_plots(const Comparison& c, const std::string& dir);

}  // namespace wp
