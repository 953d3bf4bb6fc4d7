// Plots of a run from metrics.jsonl / sensitivity.csv, and the report re-rendering behind
// `winoprune report RUN_DIR` (contract: io/run_report.h).
#include "winoprune/io/run_report.h"

#include <filesystem>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

#include "winoprune/error.h"
#include "winoprune/io/atomic_file.h"
#include "winoprune/io/run_dir.h"

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

LineChart sparsity_chart(const std::vector<MetricsRecord>& records) {
  LineChart c;
  c.title = "Sparsity per layer";
  c.x_label = x_label(records);
  c.y_label = "fraction of zero weights";
  c.y_percent = true;
  c.y_min = 0;
  c.y_max = 1;
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
  for (size_t k = 0; k < order.size(); ++k) series[k].label = order[k];
  for (size_t i = 0; i < records.size(); ++i)
    for (const auto& kv : records[i].sparsity) {
      PlotSeries& s = series[index[kv.first]];
      s.x.push_back(x[i]);
      s.y.push_back(kv.second);
    }
  for (auto& s : series) add_if_points(c, std::move(s));
  c.markers = phase_markers(records);
  span_run(c, x);
  return c;
}

LineChart sensitivity_chart(const std::vector<SensitivityRow>& rows) {
  LineChart c;
  c.title = "Pruning sensitivity";
  c.x_label = "fraction of the layer pruned";
  c.y_label = "validation top-1";
  c.y_percent = true;
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
  s << "| phase | epoch | step | top-1 | top-5 | loss |";
  for (const std::string& l : layers) s << " " << l << " |";
  s << "\n| --- | ---: | ---: | ---: | ---: | ---: |";
  for (size_t i = 0; i < layers.size(); ++i) s << " ---: |";
  s << "\n";
  char buf[64];
  auto pct = [&](double v) {
    if (!std::isfinite(v)) return std::string("-");
    std::snprintf(buf, sizeof buf, "%.2f%%", 100 * v);
    return std::string(buf);
  };
  size_t rows = 0;
  for (const MetricsRecord& r : records) {
    if (r.split != "val") continue;
    std::snprintf(buf, sizeof buf, "%.4f", r.loss);
    s << "| " << r.phase_index + 1 << ". " << r.phase << " | " << r.epoch << " | " << r.step
      << " | " << pct(r.top1) << " | " << pct(r.top5) << " | " << buf << " |";
    for (const std::string& l : layers)
      s << " " << (r.sparsity.count(l) ? pct(r.sparsity.at(l)) : "-") << " |";
    s << "\n";
    ++rows;
  }
  if (rows == 0) s << "| (no validation record yet) | | | | | |\n";
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
  auto plot = [&](const char* file, const LineChart& chart) {
    if (chart.series.empty()) return;
    std::string rel = std::string("plots/") + file;
    write_svg(run_dir + "/" + rel, chart);
    written.push_back(run_dir + "/" + rel);
    plots.push_back(rel);
  };
  if (has_metrics) {
    std::vector<MetricsRecord> records = read_metrics(d.metrics_jsonl());
    plot("loss.svg", loss_chart(records));
    plot("top1.svg", top1_chart(records));
    plot("sparsity.svg", sparsity_chart(records));
  }
  if (has_sensitivity) plot("sensitivity.svg", sensitivity_chart(read_sensitivity_csv(d.sensitivity_csv())));
  if (has_report) {
    Report r = read_report(d.report_json());
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
