// Plots of a run from metrics.jsonl / sensitivity.csv, and the report re-rendering behind
// `winoprune report RUN_DIR` (contract: report/run_report.h).
#include "winoprune/report/run_report.h"

#include <algorithm>
#include <filesystem>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>

#include "winoprune/error.h"
#include "winoprune/io/atomic_file.h"
#include "winoprune/io/run_dir.h"
#include "winoprune/report/table.h"

namespace fs = std::filesystem;

namespace wp {

namespace {

std::vector<double> x_positions(const std::vector<MetricsRecord>& records) {
  bool any_step = false;
  for (const auto& r : records) any_step = any_step || r.step > 0;
  std::vector<double> x(records.size());
  for (size_t i = 0; i < records.size(); ++i)
    x[i] = any_step ? double(records[i].step) : double(i);
  return x;
}

const char* x_label(const std::vector<MetricsRecord>& records) {
  for (const auto& r : records)
    if (r.step > 0) return "iteration (whole run)";
  return "record";
}

// One series of `value(record)` over the records of `split` (x from x_positions).
PlotSeries series_of(const std::vector<MetricsRecord>& records, const std::vector<double>& x,
                     const std::string& split, const std::string& label,
                     double (*value)(const MetricsRecord&)) {
  PlotSeries s;
  s.label = label;
  for (size_t i = 0; i < records.size(); ++i) {
    if (records[i].split != split) continue;
    double v = value(records[i]);
    if (!std::isfinite(v)) continue;
    s.x.push_back(x[i]);
    s.y.push_back(v);
  }
  return s;
}

bool has_points(const PlotSeries& s) { return !s.x.empty(); }

// Every run chart spans the whole run (from 0 or the first record to the last), so the loss,
// accuracy and sparsity plots line up and phases before the first sparsity record still show.
void span_run(LineChart& c, const std::vector<double>& x) {
  if (x.empty()) return;
  c.x_min = std::min(0.0, x.front());
  c.x_max = x.back();
  for (double v : x) c.x_max = std::max(c.x_max, v);
}

void add_if_points(LineChart& c, PlotSeries s) {
  if (has_points(s)) c.series.push_back(std::move(s));
}

}  // namespace

std::vector<PlotMarker> phase_markers(const std::vector<MetricsRecord>& records) {
  std::vector<PlotMarker> out;
  std::vector<double> x = x_positions(records);
  for (size_t i = 0; i < records.size(); ++i) {
    if (i > 0 && records[i].phase_index == records[i - 1].phase_index) continue;
    // A phase starts where the previous one's last record was (its first record is one logging
    // interval later).
    double at = i == 0 ? std::min(0.0, x[0]) : x[i - 1];
    std::string label = std::to_string(records[i].phase_index + 1) + ". " + records[i].phase;
    if (!out.empty() && out.back().x == at)
      out.back().label = label;    // an empty phase (e.g. convert) is followed at once
    else
      out.push_back({at, label});
  }
  return out;
}

LineChart loss_chart(const std::vector<MetricsRecord>& records) {
  LineChart c;
  c.title = "Loss";
  c.x_label = x_label(records);
  c.y_label = "cross-entropy loss";
  std::vector<double> x = x_positions(records);
  add_if_points(c, series_of(records, x, "train", "train (running mean)",
                             [](const MetricsRecord& r) { return r.loss; }));
  PlotSeries val = series_of(records, x, "val", "validation",
                             [](const MetricsRecord& r) { return r.loss; });
  val.points = true;
  add_if_points(c, val);
  c.markers = phase_markers(records);
  span_run(c, x);
  c.y_min = 0;
  return c;
}

LineChart top1_chart(const std::vector<MetricsRecord>& records) {
  LineChart c;
  c.title = "Accuracy";
  c.x_label = x_label(records);
  c.y_label = "accuracy";
  c.y_percent = true;
  std::vector<double> x = x_positions(records);
  add_if_points(c, series_of(records, x, "train", "train top-1 (running)",
                             [](const MetricsRecord& r) { return r.top1; }));
  PlotSeries val = series_of(records, x, "val", "validation top-1",
                             [](const MetricsRecord& r) { return r.top1; });
  val.points = true;
  add_if_points(c, val);
  PlotSeries val5 = series_of(records, x, "val", "validation top-5",
                              [](const MetricsRecord& r) { return r.top5; });
  val5.dashed = true;
  add_if_points(c, val5);
  c.markers = phase_markers(records);
  span_run(c, x);
  c.y_max = 1;
  return c;
}

// "Sparsity per layer; phases 3 prune, 4 finetune; dense throughout: conv1, fc6, fc7, fc8".
std::string sparsity_title(const std::vector<MetricsRecord>& records) {
  std::string title = "Sparsity per layer (phases:";
  const char* sep = " ";
  for (const PlotMarker& m : phase_markers(records)) title += sep + m.label, sep = ", ";
  title += ")";
  std::vector<std::string> dense;
  std::map<std::string, bool> pruned;
  for (const auto& r : records)
    for (const auto& [name, v] : r.sparsity) {
      if (!pruned.count(name)) dense.push_back(name);
      pruned[name] = pruned[name] || v > 0;
    }
  std::string list;
  for (const std::string& n : dense)
    if (!pruned[n]) list += (list.empty() ? "" : ", ") + n;
  if (!list.empty()) title += "; dense throughout: " + list;
  return title;
}

std::vector<LineChart> sparsity_charts(const std::vector<MetricsRecord>& records) {
  std::vector<double> x = x_positions(records);
  // Layers in order of first appearance (the network order the writer used), not sorted.
  std::vector<std::string> order;
  std::map<std::string, size_t> index;
  for (const auto& r : records)
    for (const auto& kv : r.sparsity)
      if (!index.count(kv.first)) {
        index[kv.first] = order.size();
        order.push_back(kv.first);
      }
  std::vector<PlotSeries> series(order.size());
  for (size_t k = 0; k < order.size(); ++k) series[k].label = order[k], series[k].steps = true;
  for (size_t i = 0; i < records.size(); ++i)
    for (const auto& kv : records[i].sparsity) {
      PlotSeries& s = series[index[kv.first]];
      s.x.push_back(x[i]);
      s.y.push_back(kv.second);
    }
  // One panel per layer: pruned layers usually share one schedule, and their lines would
  // coincide on a single chart.
  // Layers that stay dense throughout get no panel (the figure's title lists them).
  std::vector<LineChart> out;
  for (size_t k = 0; k < series.size(); ++k) {
    if (!has_points(series[k])) continue;
    if (std::none_of(series[k].y.begin(), series[k].y.end(), [](double v) { return v > 0; }))
      continue;
    LineChart c;
    c.title = order[k];
    c.id = "sparsity-" + order[k];
    c.x_label = x_label(records);
    c.y_label = "zero weights";
    c.y_percent = true;
    c.y_min = 0;
    c.y_max = 1;
    c.width = 520;
    c.height = 300;
    c.series.push_back(series[k]);
    c.series.back().color = "#1f77b4";
    c.legend = false;
    c.markers = phase_markers(records);
    for (PlotMarker& m : c.markers) m.label = m.label.substr(0, m.label.find(' '));   // "3."
    span_run(c, x);
    out.push_back(std::move(c));
  }
  return out;
}

LineChart accuracy_sparsity_chart(const std::vector<MetricsRecord>& records, double baseline) {
  LineChart c;
  c.title = "Accuracy against sparsity";
  c.x_label = "sparsity of the pruned layers (mean over layers)";
  c.y_label = "validation top-1";
  c.y_percent = true;
  c.x_percent = true;
  c.x_min = 0;
  c.x_max = 1;
  // The pruned layers: those with any zero at the last record that has sparsity.
  std::vector<std::string> pruned;
  for (auto it = records.rbegin(); it != records.rend() && pruned.empty(); ++it)
    for (const auto& [name, v] : it->sparsity)
      if (v > 0) pruned.push_back(name);
  if (pruned.empty()) return c;
  std::vector<std::string> phases;
  std::map<std::string, PlotSeries> by_phase;
  for (const MetricsRecord& r : records) {
    if (r.split != "val" || !std::isfinite(r.top1)) continue;
    double sum = 0;
    size_t n = 0;
    for (const std::string& l : pruned)
      if (r.sparsity.count(l)) sum += r.sparsity.at(l), ++n;
    if (n == 0 || sum == 0) continue;   // before pruning: the baseline line stands for it
    std::string label = std::to_string(r.phase_index + 1) + ". " + r.phase;
    if (!by_phase.count(label)) {
      phases.push_back(label);
      by_phase[label].label = label;
      by_phase[label].points = true;
    }
    by_phase[label].x.push_back(sum / double(n));
    by_phase[label].y.push_back(r.top1);
  }
  for (const std::string& p : phases) add_if_points(c, by_phase[p]);
  if (!c.series.empty() && std::isfinite(baseline)) {
    PlotSeries b;
    b.label = "baseline (before pruning)";
    b.x = {0, 1};
    b.y = {baseline, baseline};
    b.dashed = true;
    b.color = "#7f7f7f";
    c.series.push_back(b);
  }
  return c;
}

std::string layers_figure(const Report& r) {
  BarChart sparsity, nnz;
  sparsity.title = "Sparsity per layer";
  sparsity.y_label = "zero weights";
  sparsity.y_percent = true;
  sparsity.y_max = 1;
  nnz.title = "Nonzero weights per layer";
  nnz.y_label = "weights";
  BarSeries zero{"sparsity", {}, "#1f77b4"}, target{"target", {}, "#aec7e8"};
  BarSeries kept{"nonzero", {}, "#ff7f0e"}, all{"dense", {}, "#ffbb78"};
  bool any_target = false;
  for (const LayerReport& l : r.layers) {
    std::string name = l.name + (l.kind == "winograd" ? " (W)" : "");
    sparsity.categories.push_back(name);
    nnz.categories.push_back(name);
    zero.values.push_back(l.sparsity);
    target.values.push_back(l.target_sparsity);
    any_target = any_target || std::isfinite(l.target_sparsity);
    kept.values.push_back(double(l.nnz));
    all.values.push_back(double(l.params));
  }
  sparsity.series.push_back(zero);
  if (any_target) sparsity.series.push_back(target);
  nnz.series = {all, kept};
  return compose_svg_panels({render_bar_svg(sparsity), render_bar_svg(nnz)}, 1,
                            "Layers of the final model (W: Winograd layer)");
}

std::string positions_figure(const Report& r) {
  std::vector<std::string> panels;
  for (const LayerReport& l : r.layers) {
    const size_t n = l.position_sparsity.size();
    const int t = int(std::lround(std::sqrt(double(n))));
    if (n == 0 || size_t(t) * size_t(t) != n) continue;
    Heatmap h;
    h.title = l.name + " " + l.tile;
    h.rows = h.cols = t;
    h.values = l.position_sparsity;
    h.cell = t <= 4 ? 64 : t <= 6 ? 52 : 44;
    panels.push_back(render_heatmap_svg(h));
  }
  if (panels.empty()) return "";
  return compose_svg_panels(panels, 2, "Sparsity of each Winograd tile position (%)");
}

LineChart sensitivity_chart(const std::vector<SensitivityRow>& rows) {
  LineChart c;
  c.title = "Pruning sensitivity";
  c.x_label = "sparsity of the layer (the others unpruned)";
  c.y_label = "validation top-1";
  c.y_percent = true;
  c.x_percent = true;
  c.x_min = 0;
  c.x_max = 1;
  std::vector<std::string> order;
  std::map<std::string, PlotSeries> by_layer;
  for (const auto& r : rows) {
    if (!by_layer.count(r.layer)) {
      order.push_back(r.layer);
      by_layer[r.layer].label = r.layer;
      by_layer[r.layer].points = true;
    }
    by_layer[r.layer].x.push_back(r.sparsity);
    by_layer[r.layer].y.push_back(r.top1);
  }
  for (const auto& name : order) add_if_points(c, by_layer[name]);
  return c;
}

std::string render_unfinished_summary(const std::vector<MetricsRecord>& records) {
  std::ostringstream s;
  s << "The run has not finished (no report.json): a killed or failed run. Its validation "
       "records so far, from metrics.jsonl (resume it with winoprune run --resume RUN_DIR):\n\n";
  std::set<std::string> layers;
  for (const MetricsRecord& r : records)
    if (r.split == "val")
      for (const auto& [name, v] : r.sparsity) layers.insert(name);
  TextTable t;
  t.header = {"phase", "epoch", "step", "top-1", "top-5", "loss"};
  t.right = {false, true, true, true, true, true};
  for (const std::string& l : layers) {
    t.header.push_back(l);
    t.right.push_back(true);
  }
  char buf[64];
  auto pct = [&](double v) {
    if (!std::isfinite(v)) return std::string("-");
    std::snprintf(buf, sizeof buf, "%.2f%%", 100 * v);
    return std::string(buf);
  };
  for (const MetricsRecord& r : records) {
    if (r.split != "val") continue;
    std::snprintf(buf, sizeof buf, "%.4f", r.loss);
    std::vector<std::string> row = {std::to_string(r.phase_index + 1) + ". " + r.phase,
                                    std::to_string(r.epoch), std::to_string(r.step),
                                    pct(r.top1), pct(r.top5), buf};
    for (const std::string& l : layers)
      row.push_back(r.sparsity.count(l) ? pct(r.sparsity.at(l)) : "-");
    t.rows.push_back(row);
  }
  if (t.rows.empty()) t.rows.push_back({"(no validation record yet)", "", "", "", "", ""});
  s << render_markdown(t);
  return s.str();
}

std::vector<std::string> render_run_report(const std::string& run_dir) {
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) throw InputError(run_dir + ": not a run directory");
  RunDir d{run_dir};
  bool has_report = fs::exists(d.report_json(), ec);
  bool has_metrics = fs::exists(d.metrics_jsonl(), ec);
  bool has_sensitivity = fs::exists(d.sensitivity_csv(), ec);
  if (!has_report && !has_metrics && !has_sensitivity)
    throw InputError(run_dir + ": nothing to render (no report.json, metrics.jsonl or "
                     "sensitivity.csv)");
  fs::create_directories(d.plots(), ec);
  if (ec) throw std::runtime_error(d.plots() + ": cannot create directory: " + ec.message());

  std::vector<std::string> written, plots;
  auto figure = [&](const char* file, const std::string& svg) {
    if (svg.empty()) return;
    std::string rel = std::string("plots/") + file;
    write_text_file_atomic(run_dir + "/" + rel, svg);
    written.push_back(run_dir + "/" + rel);
    plots.push_back(rel);
  };
  auto plot = [&](const char* file, const LineChart& chart) {
    if (!chart.series.empty()) figure(file, render_svg(chart));
  };
  std::optional<Report> report;
  if (has_report) report = read_report(d.report_json());
  if (has_metrics) {
    std::vector<MetricsRecord> records = read_metrics(d.metrics_jsonl());
    plot("loss.svg", loss_chart(records));
    plot("top1.svg", top1_chart(records));
    std::vector<std::string> panels;
    for (const LineChart& c : sparsity_charts(records)) panels.push_back(render_svg(c));
    if (!panels.empty())
      figure("sparsity.svg", compose_svg_panels(panels, 2, sparsity_title(records)));
    plot("accuracy_sparsity.svg",
         accuracy_sparsity_chart(records, report ? report->baseline.top1 : kNoValue));
  }
  if (has_sensitivity) plot("sensitivity.svg", sensitivity_chart(read_sensitivity_csv(d.sensitivity_csv())));
  if (report) {
    figure("layers.svg", layers_figure(*report));
    figure("positions.svg", positions_figure(*report));
  }
  if (has_report) {
    Report r = *report;
    std::string md = render_report_md(r, plots);
    if (has_sensitivity) md += render_sensitivity_md(read_sensitivity_csv(d.sensitivity_csv()));
    write_text_file_atomic(d.report_md(), md);
    write_text_file_atomic(d.layers_csv(), render_layers_csv(r));
    written.push_back(d.report_md());
    written.push_back(d.layers_csv());
  } else if (has_metrics) {   // killed or failed: what the metrics hold
    std::string md = "# winoprune run: " + fs::path(run_dir).filename().string() + " (unfinished)\n\n" +
                     render_unfinished_summary(read_metrics(d.metrics_jsonl())) + "\n";
    for (const std::string& p : plots) md += "![" + p + "](" + p + ")\n\n";
    write_text_file_atomic(d.report_md(), md);
    written.push_back(d.report_md());
  }
  return written;
}

}  // namespace wp
