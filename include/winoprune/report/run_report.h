#pragma once
// The plots of a run and `winoprune report RUN_DIR`.
//   plots/loss.svg         train (running mean) and val loss vs step, phases marked
//   plots/top1.svg         train and val top-1 (val top-5 dashed) vs step, phases marked
//   plots/sparsity.svg     per-layer sparsity vs step as steps, one panel per layer (metrics
//                          records' "sparsity"), phases marked by number
//   plots/accuracy_sparsity.svg  validation top-1 against the mean sparsity of the pruned
//                          layers, one series per phase, the baseline as a dashed line
//   plots/layers.svg       bars per layer of the final model: sparsity (and target), nnz
//                          against dense weights (report.json)
//   plots/positions.svg    a t x t heatmap per Winograd layer: each tile position's sparsity
//                          (report.json layers[].position_sparsity)
//   plots/sensitivity.svg  top-1 vs pruned fraction, one series per layer (sensitivity.csv)
// The x axis is the record's "step" (iterations since the run started); if no record has a
// step > 0 (e.g. only evaluations) the record's position in the file is used instead.
#include <string>
#include <vector>

#include "winoprune/report/metrics.h"
#include "winoprune/report/report.h"
#include "winoprune/report/svg_plot.h"

namespace wp {

// A marker at the start of every phase, labelled "<index+1>. <type>".
std::vector<PlotMarker> phase_markers(const std::vector<MetricsRecord>& records);
LineChart loss_chart(const std::vector<MetricsRecord>& records);
LineChart top1_chart(const std::vector<MetricsRecord>& records);
// One chart per layer that is pruned at some record (panels of plots/sparsity.svg), and the
// figure's title: the phases by number, and the layers that stay dense.
std::vector<LineChart> sparsity_charts(const std::vector<MetricsRecord>& records);
std::string sparsity_title(const std::vector<MetricsRecord>& records);
// Validation top-1 against the mean sparsity of the layers pruned at the end; `baseline`
// (report.json's, NaN if unknown) as a dashed line. No series when nothing was pruned.
LineChart accuracy_sparsity_chart(const std::vector<MetricsRecord>& records, double baseline);
// plots/layers.svg and plots/positions.svg of a report ("" when there is nothing to draw).
std::string layers_figure(const Report& report);
std::string positions_figure(const Report& report);
LineChart sensitivity_chart(const std::vector<SensitivityRow>& rows);

// The validation records of a run that has no report.json (killed or failed), as a Markdown
// table: phase, epoch, step, top-1, top-5, loss and each layer's sparsity.
std::string render_unfinished_summary(const std::vector<MetricsRecord>& records);

// Re-renders RUN_DIR/report.md and layers.csv from report.json, and plots/*.svg from
// metrics.jsonl and sensitivity.csv, each if its source exists (plots with no data are not
// written). Without report.json, report.md holds render_unfinished_summary of metrics.jsonl.
// Returns the paths written. InputError if `run_dir` is not a directory or holds none of the
// three sources.
std::vector<std::string> render_run_report(const std::string& run_dir);

}  // namespace wp
