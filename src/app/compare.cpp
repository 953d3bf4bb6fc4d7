// `winoprune compare` (include/winoprune/app/compare.h).
#include "winoprune/app/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "winoprune/app/experiment.h"
#include "winoprune/error.h"
#include "winoprune/report/metrics.h"
#include "winoprune/report/report.h"
#include "winoprune/io/run_dir.h"
#include "winoprune/report/svg_plot.h"
#include "winoprune/report/table.h"

namespace fs = std::filesystem;

namespace wp {

namespace {

// Leaf values of a JSON document by path: {"a": {"b": [1, 2]}} -> a.b[0] = 1, a.b[1] = 2.
void flatten(const json& j, const std::string& path, std::map<std::string, std::string>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it)
      flatten(it.value(), path.empty() ? it.key() : path + "." + it.key(), out);
  } else if (j.is_array() && !j.empty() && (j[0].is_object() || j[0].is_array())) {
    for (size_t i = 0; i < j.size(); ++i) flatten(j[i], path + "[" + std::to_string(i) + "]", out);
  } else {
    out[path] = j.dump();
  }
}

// A run directory's JSON file (read_json_file), with a hint when it is missing.
json read_json_at(const std::string& path) {
  if (!fs::exists(path)) throw InputError(path + ": cannot open (is this a finished winoprune run?)");
  return read_json_file(path);
}

std::string pct(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100 * v);
  return buf;
}

std::string num(double v, int decimals) {
  if (!std::isfinite(v)) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string differing(const CompareRow& r, const Comparison& c) {
  std::string s;
  for (const std::string& k : c.keys) {
    auto it = r.values.find(k);
    s += (s.empty() ? "" : " ") + k + "=" + (it == r.values.end() ? "(none)" : it->second);
  }
  return s.empty() ? "-" : s;
}

// Header and cells of every row, shared by the three renderings.
std::vector<std::vector<std::string>> cells(const Comparison& c, bool fractions) {
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> head = {"run", "differs", "seed"};
  for (const std::string& l : c.layers) head.push_back(l);
  for (const char* h : {"total sparsity", "baseline top-1", "baseline top-5", "final top-1",
                        "final top-5", "change top-1", "wall s"})
    head.push_back(h);
  out.push_back(head);
  auto frac = [&](double v) { return fractions ? num(v, 6) : pct(v); };
  for (const CompareRow& r : c.rows) {
    std::vector<std::string> row = {r.run, differing(r, c), std::to_string(r.seed)};
    for (const std::string& l : c.layers)
      row.push_back(r.sparsity.count(l) ? frac(r.sparsity.at(l)) : "");
    row.push_back(frac(r.total_sparsity));
    row.push_back(frac(r.baseline_top1));
    row.push_back(frac(r.baseline_top5));
    row.push_back(frac(r.final_top1));
    row.push_back(frac(r.final_top5));
    row.push_back(fractions ? num(r.final_top1 - r.baseline_top1, 6)
                            : num(100 * (r.final_top1 - r.baseline_top1), 2) + " pts");
    row.push_back(num(r.wall_seconds, 1));
    out.push_back(row);
  }
  return out;
}

std::string csv_quote(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

}  // namespace

Comparison compare_runs(const std::vector<std::string>& run_dirs) {
  if (run_dirs.size() < 2) throw InputError("compare: expected at least two RUN_DIRs");
  Comparison c;
  std::vector<std::map<std::string, std::string>> configs;
  std::vector<std::string> layer_order;
  std::set<std::string> pruned;
  for (const std::string& d : run_dirs) {
    RunDir dir{d};
    json cfg = read_json_at(dir.config_json());
    Report rep = read_report(dir.report_json());
    std::map<std::string, std::string> flat;
    flatten(cfg, "", flat);
    flat.erase("threads");   // how, not what
    configs.push_back(flat);
    CompareRow r;
    r.run = fs::path(d).filename().string();
    if (r.run.empty()) r.run = fs::path(d).parent_path().filename().string();
    r.seed = cfg.value("seed", uint64_t(0));
    for (const LayerReport& l : rep.layers) {
      r.sparsity[l.name] = l.sparsity;
      if (l.sparsity > 0) pruned.insert(l.name);
      if (std::find(layer_order.begin(), layer_order.end(), l.name) == layer_order.end())
        layer_order.push_back(l.name);
    }
    r.total_sparsity = rep.total.sparsity;
    r.baseline_top1 = rep.baseline.top1, r.baseline_top5 = rep.baseline.top5;
    r.final_top1 = rep.final_eval.top1, r.final_top5 = rep.final_eval.top5;
    r.wall_seconds = rep.wall_seconds;
    if (fs::exists(dir.metrics_jsonl()))
      for (const MetricsRecord& m : read_metrics(dir.metrics_jsonl()))
        if (m.split == "val" && std::isfinite(m.top1)) r.val_top1.emplace_back(double(m.step), m.top1);
    c.rows.push_back(r);
  }
  for (const std::string& l : layer_order)
    if (pruned.count(l)) c.layers.push_back(l);
  std::set<std::string> all;
  for (const auto& f : configs)
    for (const auto& [k, v] : f) all.insert(k);
  for (const std::string& k : all) {
    bool differs = false;
    const auto& f0 = configs[0];
    const auto first = f0.find(k);
    for (const auto& f : configs) {
      const auto it = f.find(k);
      differs = differs || (it == f.end()) != (first == f0.end()) ||
                (it != f.end() && it->second != first->second);
    }
    if (differs) c.keys.push_back(k);
  }
  for (size_t i = 0; i < c.rows.size(); ++i)
    for (const std::string& k : c.keys)
      if (configs[i].count(k)) c.rows[i].values[k] = configs[i].at(k);
  return c;
}

// The comparison as one TextTable: run and differing keys left-aligned, figures right-aligned.
static TextTable compare_table(const Comparison& c, bool code_runs) {
  std::vector<std::vector<std::string>> t = cells(c, false);
  TextTable table;
  table.header = t[0];
  for (size_t i = 0; i < t[0].size(); ++i) table.right.push_back(i >= 2);
  for (size_t r = 1; r < t.size(); ++r) {
    if (code_runs) t[r][1] = "`" + t[r][1] + "`";
    table.rows.push_back(t[r]);
  }
  return table;
}

std::string render_compare_table(const Comparison& c) {
  return render_aligned(compare_table(c, false));
}

std::string render_compare_csv(const Comparison& c) {
  std::string s;
  for (const auto& row : cells(c, true)) {
    for (size_t i = 0; i < row.size(); ++i) s += (i ? "," : "") + csv_quote(row[i]);
    s += "\n";
  }
  return s;
}

std::string render_compare_md(const Comparison& c) {
  return render_markdown(compare_table(c, true));
}

std::vector<std::string> write_compare_plots(const Comparison& c, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw InputError(dir + ": cannot create the plots directory: " + ec.message());
  LineChart scatter;
  scatter.title = "Final top-1 against total sparsity";
  scatter.x_label = "total sparsity (weights)";
  scatter.y_label = "final top-1";
  scatter.y_percent = true;
  for (const CompareRow& r : c.rows) {
    PlotSeries p;
    p.label = r.run;
    p.x = {r.total_sparsity};
    p.y = {r.final_top1};
    p.points = true;
    scatter.series.push_back(p);
  }
  LineChart curves;
  curves.title = "Validation top-1 over the steps of each run";
  curves.x_label = "step";
  curves.y_label = "val top-1";
  curves.y_percent = true;
  for (const CompareRow& r : c.rows) {
    PlotSeries p;
    p.label = r.run;
    for (const auto& [x, y] : r.val_top1) p.x.push_back(x), p.y.push_back(y);
    p.points = true;
    curves.series.push_back(p);
  }
  const std::string a = dir + "/compare-sparsity.svg", b = dir + "/compare-top1.svg";
  write_svg(a, scatter);
  write_svg(b, curves);
  return {a, b};
}

}  // namespace wp
