#pragma once
// The plots of a run and `winoprune report RUN_DIR`.
//   plots/loss.svg         train (running mean) and val loss vs step, phases marked
//   plots/top1.svg         train and val top-1 (val top-5 dashed) vs step, phases marked
//   plots/sparsity.svg     per-layer sparsity vs step (metrics records' "sparsity"), phases marked
//   plots/sensitivity.svg  top-1 vs pruned fraction, one series per layer (sensitivity.csv)
// The x axis is the record's "step" (iterations since the run started); if no record has a
// step > 0 (e.g. only evaluations) the record's position in the file is used instead.
#include <string>
#include <vector>

#include "winoprune/io/metrics.h"
#include "winoprune/io/report.h"
#include "winoprune/io/svg_plot.h"

namespace wp {

// A marker at the start of every phase, labelled "<index+1>. <type>".
std::vector<PlotMarker> phase_markers(const std::vector<MetricsRecord>& records);
LineChart loss_chart(const std::vector<MetricsRecord>& records);
LineChart top1_chart(const std::vector<MetricsRecord>& records);
LineChart sparsity_chart(const std::vector<MetricsRecord>& records);
LineChart sensitivity_chart(const std::vector<SensitivityRow>& rows);

// The validation records of a run that has no report.json (killed or failed), as a Markdown
// table: phase, epoch, step, top-1, top-5, loss and each layer's sparsity.
std::string render_unfinished_summary(const std::vector<MetricsRecord>& records);

// Re-renders RUN_DIR/report.md and layers.csv from report.json, and plots/*.svg from
// metrics.jsonl and sensitivity.csv, each if its source exists (plots with no data are not
// written). Without report.json, report.md holds render_unfinished_summary of metrics.jsonl. Returns the paths written. InputError if `run_dir` is not a directory or holds none
// of the three sources.
std::vector<std::string> render_run_report(const std::string& run_dir);

}  // namespace wp
