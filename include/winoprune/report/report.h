#pragma once
// The result of a run: RUN_DIR/report.json (machine-readable, docs/contracts.md "Run directory
// contract"), report.md (a readable summary), layers.csv (the per-layer table) and the table the
// CLI prints. Fractions stay fractions in JSON/CSV (top1 0.9105, sparsity 0.9); report.md and the
// printed table show percentages.
//
// report.json (absent numbers are null):
//   {"name", "dataset", "model",
//    "baseline": {"top1", "top5", "loss"},
//    "final":    {"top1", "top5", "loss", "kernel", "eval_seconds"},
//    "layers": [{"name", "kind", "tile", "shape", "params", "nnz", "sparsity",
//                "target_sparsity", "position_sparsity_min", "position_sparsity_max",
//                "dense_mflop", "remaining_mflop",
//                "bench_batch", "sparse_ms", "direct_ms", "speedup_vs_direct"}],   (report --bench)
//    "total":  {"params", "nnz", "sparsity", "dense_mflop", "remaining_mflop"},
//    "wall_seconds",
//    "phases": [{"index", "type", "epochs", "seconds"}],
//    "data": {"train": {"images", "classes", "corrupt_skipped"}, "val": {...}},
//    "provenance": {"version", "command", "overrides", "config", "seed", "threads", "ranks",
//                   "isa", "cpu", "host", "started", "finished"}}
// MFLOP are per image: dense_mflop = the dense direct-convolution FLOPs 2*K*(C/g)*r*r*Hout*Wout
// (fc: 2*in*out) / 1e6, the measure behind "effective FLOP/s"; remaining_mflop =
// dense_mflop * nnz/params for winograd and fc layers (their products scale with nnz: the
// sparse kernel skips zero coefficients) and dense_mflop for spatial conv layers (computed
// densely whatever their zeros).
#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "winoprune/tensor.h"

namespace wp {

constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

struct EvalSummary {
  double top1 = kNoValue, top5 = kNoValue, loss = kNoValue;
};

struct FinalSummary {
  double top1 = kNoValue, top5 = kNoValue, loss = kNoValue;
  std::string kernel;                       // "sparse" | "dense"
  double eval_seconds = kNoValue;
};

struct LayerReport {
  std::string name;                         // "conv3"
  std::string kind;                         // "conv" | "winograd" | "fc"
  std::string tile;                         // "F(4x4,3x3)" for winograd; "" = null
  Shape shape;                              // [t*t, K, C/g] | [K, C/g, r, r] | [out, in]
  int64_t params = 0;                       // weights only, no bias
  int64_t nnz = 0;
  double sparsity = 0;                      // (params - nnz) / params, exact zeros
  double target_sparsity = kNoValue;        // the pruner's final target, if one was set
  // Measured by `report --bench` (winograd layers): the layer's own forward on the sparse
  // kernel and oneDNN direct convolution of the same shape, medians at bench_batch.
  int64_t bench_batch = 0;
  double sparse_ms = kNoValue, direct_ms = kNoValue;
  double speedup_vs_direct() const { return direct_ms / sparse_ms; }
  double position_sparsity_min = kNoValue;  // over the t*t positions; winograd only
  double position_sparsity_max = kNoValue;
  std::vector<double> position_sparsity{};  // [t*t] row-major over the tile; winograd only
  double dense_mflop = kNoValue;            // per image, see above
  double remaining_mflop = kNoValue;
};

struct TotalReport {
  int64_t params = 0, nnz = 0;
  double sparsity = 0;
  double dense_mflop = 0, remaining_mflop = 0;
};

struct PhaseReport {
  int index = 0;                            // position in config.phases
  std::string type;                         // "train" | "convert" | "prune" | ...
  int64_t epochs = 0;
  double seconds = kNoValue;
};

struct SplitStats {
  std::string split;                        // "train" | "val"
  int64_t images = 0, classes = 0, corrupt_skipped = 0;
};

struct Report {
  std::string name, dataset, model;
  EvalSummary baseline;
  FinalSummary final_eval;                  // "final" in JSON
  std::vector<LayerReport> layers;
  TotalReport total;
  double wall_seconds = kNoValue;
  std::vector<PhaseReport> phases;
  std::vector<SplitStats> data;
  nlohmann::json provenance = nlohmann::json::object();   // app/provenance.h; {} if unknown
};

// remaining_mflop for one layer by the rule above (NaN if dense_mflop is).
double remaining_mflop(const LayerReport& layer);
// Fills every layer's sparsity (from params/nnz) and remaining_mflop, and `total` from the
// layers (sparsity = 1 - nnz/params; MFLOP sums skip unknown values).
void compute_totals(Report& report);

nlohmann::json report_to_json(const Report& report);
// Validates types (InputError naming `file` and the JSON path, e.g. "report.json: layers[2].nnz:
// expected an integer, got \"x\""); unknown keys are ignored (the contract may grow).
Report report_from_json(const nlohmann::json& j, const std::string& file);
Report read_report(const std::string& path);
void write_report_json(const std::string& path, const Report& report);   // atomic

// report.md; `plots` are paths relative to the run directory ("plots/loss.svg") to link.
std::string render_report_md(const Report& report, const std::vector<std::string>& plots);
// layers.csv: header, one row per layer, a total row. Fractions as fractions, shape "36x64x32".
std::string render_layers_csv(const Report& report);
// The per-layer table in aligned plain-text columns, total row included (for the CLI).
void print_layer_table(std::ostream& out, const Report& report);

// RUN_DIR/sensitivity.csv, written by sensitivity phases: "layer,sparsity,top1,top5,loss".
struct SensitivityRow {
  std::string layer;
  double sparsity = 0, top1 = kNoValue, top5 = kNoValue, loss = kNoValue;
};
std::string render_sensitivity_csv(const std::vector<SensitivityRow>& rows);
// report.md's sensitivity section: one row per layer, one column per sparsity, top-1.
std::string render_sensitivity_md(const std::vector<SensitivityRow>& rows);
// InputError "<path>:<line>: ..." on a bad header, column count or number.
std::vector<SensitivityRow> read_sensitivity_csv(const std::string& path);

}  // namespace wp
