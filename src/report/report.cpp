// report.json <-> Report, report.md, layers.csv, the CLI's layer table, sensitivity.csv.
// Contract and MFLOP rule: report/report.h.
#include "winoprune/report/report.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "winoprune/error.h"
#include "winoprune/io/atomic_file.h"
#include "winoprune/io/json_reader.h"
#include "winoprune/report/table.h"

namespace wp {

namespace {

using nlohmann::json;

// ---- JSON helpers (NaN <-> null) ----

json num(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }
json str_or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

// Typed reads with path-qualified errors; absent or null -> default.
struct Get {
  const std::string& file;
  [[noreturn]] void fail(const std::string& path, const std::string& msg) const {
    throw InputError(file + ": " + path + ": " + msg);
  }
  const json* at(const json& obj, const std::string& path, const char* key) const {
    if (!obj.is_object()) fail(path, "expected an object, got " + json_brief(obj));
    if (!obj.contains(key) || obj[key].is_null()) return nullptr;
    return &obj[key];
  }
  double number(const json& obj, const std::string& path, const char* key) const {
    const json* v = at(obj, path, key);
    if (!v) return kNoValue;
    if (!v->is_number())
      fail(json_path_join(path, key), "expected a number or null, got " + json_brief(*v));
    return v->get<double>();
  }
  int64_t integer(const json& obj, const std::string& path, const char* key) const {
    const json* v = at(obj, path, key);
    if (!v) return 0;
    if (!v->is_number_integer())
      fail(json_path_join(path, key), "expected an integer, got " + json_brief(*v));
    return v->get<int64_t>();
  }
  std::string string(const json& obj, const std::string& path, const char* key) const {
    const json* v = at(obj, path, key);
    if (!v) return "";
    if (!v->is_string())
      fail(json_path_join(path, key), "expected a string or null, got " + json_brief(*v));
    return v->get<std::string>();
  }
  const json& array(const json& obj, const std::string& path, const char* key) const {
    static const json empty = json::array();
    const json* v = at(obj, path, key);
    if (!v) return empty;
    if (!v->is_array()) fail(json_path_join(path, key), "expected an array, got " + json_brief(*v));
    return *v;
  }
  const json& object(const json& obj, const std::string& path, const char* key) const {
    static const json empty = json::object();
    const json* v = at(obj, path, key);
    if (!v) return empty;
    if (!v->is_object())
      fail(json_path_join(path, key), "expected an object, got " + json_brief(*v));
    return *v;
  }
};

// ---- text formatting ----

std::string fixed(double x, int digits) {
  if (!std::isfinite(x)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

std::string percent(double fraction, int digits = 2) {
  return std::isfinite(fraction) ? fixed(100.0 * fraction, digits) + "%" : "-";
}

std::string grouped(int64_t n) {
  std::string s = std::to_string(n < 0 ? -n : n);
  for (int i = int(s.size()) - 3; i > 0; i -= 3) s.insert(size_t(i), ",");
  return (n < 0 ? "-" : "") + s;
}

std::string shape_x(const Shape& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
  return out;
}

std::string duration(double seconds) {
  if (!std::isfinite(seconds)) return "-";
  if (seconds < 60) return fixed(seconds, 1) + " s";
  int64_t s = int64_t(seconds + 0.5);
  char buf[64];
  if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lldm %02llds", (long long)(s / 60), (long long)(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lldh %02lldm %02llds", (long long)(s / 3600),
                  (long long)(s / 60 % 60), (long long)(s % 60));
  return buf;
}

std::string position_range(const LayerReport& l) {
  if (!std::isfinite(l.position_sparsity_min)) return "-";
  return percent(l.position_sparsity_min, 1) + " - " + percent(l.position_sparsity_max, 1);
}

// The per-layer table shared by report.md and the CLI print; the last row is the total.
TextTable layer_table(const Report& r) {
  TextTable t;
  t.header = {"layer",    "kind",     "shape",   "tile",          "params",
              "nnz",      "sparsity", "target", "per-position sparsity", "dense MFLOP/img",
              "remaining MFLOP/img"};
  t.right = {false, false, false, false, true, true, true, true, true, true, true};
  for (const LayerReport& l : r.layers)
    t.rows.push_back({l.name, l.kind, shape_x(l.shape), l.tile.empty() ? "-" : l.tile,
                      grouped(l.params), grouped(l.nnz), percent(l.sparsity),
                      std::isfinite(l.target_sparsity) ? percent(l.target_sparsity) : "-",
                      position_range(l), fixed(l.dense_mflop, 2), fixed(l.remaining_mflop, 2)});
  t.rows.push_back({"total", "", "", "", grouped(r.total.params), grouped(r.total.nnz),
                    percent(r.total.sparsity), "", "", fixed(r.total.dense_mflop, 2),
                    fixed(r.total.remaining_mflop, 2)});
  // report --bench: the measured speed of each Winograd layer against oneDNN direct.
  bool benched = false;
  for (const LayerReport& l : r.layers) benched = benched || l.bench_batch > 0;
  if (benched) {
    t.header.push_back("x oneDNN direct (ms)");
    t.right.push_back(true);
    for (size_t i = 0; i < r.layers.size(); ++i) {
      const LayerReport& l = r.layers[i];
      t.rows[i].push_back(l.bench_batch > 0 ? fixed(l.speedup_vs_direct(), 2) + "x (" +
                                                  fixed(l.sparse_ms, 2) + " vs " +
                                                  fixed(l.direct_ms, 2) + ")"
                                            : "-");
    }
    t.rows.back().push_back("");
  }
  return t;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// Full precision for CSV numbers ("%.10g": fractions like 0.9 stay 0.9, 1/3 keeps 10 digits).
std::string csv_number(double x) {
  if (!std::isfinite(x)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", x);
  return buf;
}

std::string accuracy_change(double before, double after) {
  if (!std::isfinite(before) || !std::isfinite(after)) return "-";
  double pts = 100.0 * (after - before);
  return (pts >= 0 ? "+" : "") + fixed(pts, 2) + " points";
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  return out;
}

}  // namespace

double remaining_mflop(const LayerReport& l) {
  if (!std::isfinite(l.dense_mflop)) return kNoValue;
  if (l.kind == "conv") return l.dense_mflop;
  double density = l.params > 0 ? double(l.nnz) / double(l.params) : 0.0;
  return l.dense_mflop * density;
}

void compute_totals(Report& r) {
  TotalReport t;
  for (LayerReport& l : r.layers) {
    l.sparsity = l.params > 0 ? 1.0 - double(l.nnz) / double(l.params) : 0.0;
    l.remaining_mflop = remaining_mflop(l);
    t.params += l.params;
    t.nnz += l.nnz;
    if (std::isfinite(l.dense_mflop)) t.dense_mflop += l.dense_mflop;
    if (std::isfinite(l.remaining_mflop)) t.remaining_mflop += l.remaining_mflop;
  }
  t.sparsity = t.params > 0 ? 1.0 - double(t.nnz) / double(t.params) : 0.0;
  r.total = t;
}

json report_to_json(const Report& r) {
  json layers = json::array();
  for (const LayerReport& l : r.layers) {
    layers.push_back({{"name", l.name},
                      {"kind", l.kind},
                      {"tile", str_or_null(l.tile)},
                      {"shape", l.shape},
                      {"params", l.params},
                      {"nnz", l.nnz},
                      {"sparsity", num(l.sparsity)},
                      {"target_sparsity", num(l.target_sparsity)},
                      {"position_sparsity_min", num(l.position_sparsity_min)},
                      {"position_sparsity_max", num(l.position_sparsity_max)},
                      {"position_sparsity", l.position_sparsity.empty() ? json(nullptr)
                                                                      : json(l.position_sparsity)},
                      {"dense_mflop", num(l.dense_mflop)},
                      {"remaining_mflop", num(l.remaining_mflop)}});
    if (l.bench_batch > 0) {
      json& b = layers.back();
      b["bench_batch"] = l.bench_batch;
      b["sparse_ms"] = num(l.sparse_ms);
      b["direct_ms"] = num(l.direct_ms);
      b["speedup_vs_direct"] = num(l.speedup_vs_direct());
    }
  }
  json phases = json::array();
  for (const PhaseReport& p : r.phases)
    phases.push_back({{"index", p.index},
                      {"type", p.type},
                      {"epochs", p.epochs},
                      {"seconds", num(p.seconds)}});
  json data = json::object();
  for (const SplitStats& s : r.data)
    data[s.split] = {{"images", s.images},
                     {"classes", s.classes},
                     {"corrupt_skipped", s.corrupt_skipped}};
  return json{
      {"name", r.name},
      {"dataset", r.dataset},
      {"model", r.model},
      {"baseline",
       {{"top1", num(r.baseline.top1)},
        {"top5", num(r.baseline.top5)},
        {"loss", num(r.baseline.loss)}}},
      {"final",
       {{"top1", num(r.final_eval.top1)},
        {"top5", num(r.final_eval.top5)},
        {"loss", num(r.final_eval.loss)},
        {"kernel", str_or_null(r.final_eval.kernel)},
        {"eval_seconds", num(r.final_eval.eval_seconds)}}},
      {"layers", layers},
      {"total",
       {{"params", r.total.params},
        {"nnz", r.total.nnz},
        {"sparsity", num(r.total.sparsity)},
        {"dense_mflop", num(r.total.dense_mflop)},
        {"remaining_mflop", num(r.total.remaining_mflop)}}},
      {"wall_seconds", num(r.wall_seconds)},
      {"phases", phases},
      {"data", data},
      {"provenance", r.provenance},
  };
}

Report report_from_json(const json& j, const std::string& file) {
  Get g{file};
  if (!j.is_object()) g.fail("(root)", "expected an object, got " + json_brief(j));
  Report r;
  r.name = g.string(j, "", "name");
  r.dataset = g.string(j, "", "dataset");
  r.model = g.string(j, "", "model");
  const json& b = g.object(j, "", "baseline");
  r.baseline = {g.number(b, "baseline", "top1"), g.number(b, "baseline", "top5"),
                g.number(b, "baseline", "loss")};
  const json& f = g.object(j, "", "final");
  r.final_eval.top1 = g.number(f, "final", "top1");
  r.final_eval.top5 = g.number(f, "final", "top5");
  r.final_eval.loss = g.number(f, "final", "loss");
  r.final_eval.kernel = g.string(f, "final", "kernel");
  r.final_eval.eval_seconds = g.number(f, "final", "eval_seconds");
  const json& layers = g.array(j, "", "layers");
  for (size_t i = 0; i < layers.size(); ++i) {
    std::string p = json_path_index("layers", i);
    const json& l = layers[i];
    LayerReport L;
    L.name = g.string(l, p, "name");
    L.kind = g.string(l, p, "kind");
    L.tile = g.string(l, p, "tile");
    const json& shape = g.array(l, p, "shape");
    for (size_t k = 0; k < shape.size(); ++k) {
      if (!shape[k].is_number_integer())
        g.fail(json_path_index(p + ".shape", k), "expected an integer, got " +
                                                     json_brief(shape[k]));
      L.shape.push_back(shape[k].get<int64_t>());
    }
    L.params = g.integer(l, p, "params");
    L.nnz = g.integer(l, p, "nnz");
    L.sparsity = g.number(l, p, "sparsity");
    L.target_sparsity = g.number(l, p, "target_sparsity");
    L.position_sparsity_min = g.number(l, p, "position_sparsity_min");
    L.position_sparsity_max = g.number(l, p, "position_sparsity_max");
    const json& positions = g.array(l, p, "position_sparsity");
    for (size_t k = 0; k < positions.size(); ++k) {
      if (!positions[k].is_number())
        g.fail(json_path_index(p + ".position_sparsity", k),
               "expected a number, got " + json_brief(positions[k]));
      L.position_sparsity.push_back(positions[k].get<double>());
    }
    L.dense_mflop = g.number(l, p, "dense_mflop");
    L.remaining_mflop = g.number(l, p, "remaining_mflop");
    L.bench_batch = g.integer(l, p, "bench_batch");
    L.sparse_ms = g.number(l, p, "sparse_ms");
    L.direct_ms = g.number(l, p, "direct_ms");
    r.layers.push_back(L);
  }
  const json& t = g.object(j, "", "total");
  r.total.params = g.integer(t, "total", "params");
  r.total.nnz = g.integer(t, "total", "nnz");
  r.total.sparsity = g.number(t, "total", "sparsity");
  r.total.dense_mflop = g.number(t, "total", "dense_mflop");
  r.total.remaining_mflop = g.number(t, "total", "remaining_mflop");
  r.wall_seconds = g.number(j, "", "wall_seconds");
  const json& phases = g.array(j, "", "phases");
  for (size_t i = 0; i < phases.size(); ++i) {
    std::string p = json_path_index("phases", i);
    PhaseReport P;
    P.index = int(g.integer(phases[i], p, "index"));
    P.type = g.string(phases[i], p, "type");
    P.epochs = g.integer(phases[i], p, "epochs");
    P.seconds = g.number(phases[i], p, "seconds");
    r.phases.push_back(P);
  }
  const json& data = g.object(j, "", "data");
  for (auto it = data.begin(); it != data.end(); ++it) {
    std::string p = json_path_join("data", it.key());
    SplitStats s;
    s.split = it.key();
    s.images = g.integer(it.value(), p, "images");
    s.classes = g.integer(it.value(), p, "classes");
    s.corrupt_skipped = g.integer(it.value(), p, "corrupt_skipped");
    r.data.push_back(s);
  }
  if (j.contains("provenance")) {
    if (!j["provenance"].is_object())
      throw InputError(file + ": provenance: expected an object, got " + json_brief(j["provenance"]));
    r.provenance = j["provenance"];
  }
  // Keep train before val whatever the JSON object order (nlohmann sorts keys).
  std::stable_sort(r.data.begin(), r.data.end(), [](const SplitStats& a, const SplitStats& b) {
    return (a.split == "train") > (b.split == "train");
  });
  return r;
}

Report read_report(const std::string& path) {
  std::string text = read_text_file(path);
  std::string why;
  json j = json_parse_bounded(text, &why);
  if (j.is_discarded()) throw InputError(path + ": not valid JSON: " + why);
  return report_from_json(j, path);
}

void write_report_json(const std::string& path, const Report& report) {
  write_text_file_atomic(path, report_to_json(report).dump(2) + "\n");
}

std::string render_report_md(const Report& r, const std::vector<std::string>& plots) {
  std::ostringstream s;
  s << "# winoprune run: " << r.name << "\n\n";
  s << "- dataset: " << (r.dataset.empty() ? "-" : r.dataset);
  std::vector<SplitStats> splits = r.data;   // train first, then the rest in their order
  std::stable_sort(splits.begin(), splits.end(), [](const SplitStats& a, const SplitStats& b) {
    return (a.split == "train") > (b.split == "train");
  });
  for (const SplitStats& d : splits) {
    s << "; " << d.split << " " << grouped(d.images) << " images, " << d.classes << " classes";
    if (d.corrupt_skipped > 0) s << ", " << grouped(d.corrupt_skipped) << " corrupt skipped";
  }
  s << "\n- model: " << (r.model.empty() ? "-" : r.model) << "\n";
  s << "- wall time: " << duration(r.wall_seconds) << "\n\n";

  s << "## Accuracy\n\n";
  s << "| | top-1 | top-5 | loss |\n| --- | ---: | ---: | ---: |\n";
  bool prunes = false;
  for (const PhaseReport& p : r.phases) prunes = prunes || p.type == "prune";
  s << (prunes || r.phases.empty() ? "| baseline (dense, before pruning) | "
                                   : "| baseline (this run prunes nothing: the final model) | ")
    << percent(r.baseline.top1) << " | "
    << percent(r.baseline.top5) << " | " << fixed(r.baseline.loss, 4) << " |\n";
  std::string how = r.final_eval.kernel.empty() ? "" : r.final_eval.kernel + " kernel";
  if (std::isfinite(r.final_eval.eval_seconds))
    how += (how.empty() ? "" : ", ") + std::string("eval ") + duration(r.final_eval.eval_seconds);
  s << "| final" << (how.empty() ? "" : " (" + how + ")") << " | " << percent(r.final_eval.top1)
    << " | " << percent(r.final_eval.top5) << " | " << fixed(r.final_eval.loss, 4) << " |\n";
  s << "| change | " << accuracy_change(r.baseline.top1, r.final_eval.top1) << " | "
    << accuracy_change(r.baseline.top5, r.final_eval.top5) << " | |\n\n";
  s << "Top-1/top-5 on the full validation split; final is the model at the end of the run.\n\n";

  s << "## Layers\n\n" << render_markdown(layer_table(r), true) << "\n";
  s << "Sparsity counts exact zeros of the weights (no bias). Per-position sparsity is the range "
       "over the t*t Winograd positions. Dense MFLOP/img is the direct convolution "
       "(2*K*C/g*r*r*Hout*Wout; fc 2*in*out); remaining MFLOP/img scales it by the density for "
       "winograd and fc layers (the sparse products skip zeros) and keeps it for spatial conv "
       "layers.";
  if (r.total.remaining_mflop > 0 && r.total.dense_mflop > 0)
    s << " Overall: " << fixed(r.total.dense_mflop / r.total.remaining_mflop, 2)
      << "x fewer multiply-adds.";
  for (const LayerReport& l : r.layers)
    if (l.bench_batch > 0) {
      s << " Measured (winoprune report --bench): each Winograd layer's forward on the sparse "
           "kernel against oneDNN direct convolution of the same shape, in the same process, "
           "batch "
        << l.bench_batch << ", medians of 5 after 2 warm-up runs.";
      break;
    }
  s << "\n\n";

  if (!r.phases.empty()) {
    s << "## Phases\n\n";
    for (const PhaseReport& p : r.phases) {
      s << (p.index + 1) << ". " << p.type;
      if (p.epochs > 0) s << ", " << p.epochs << (p.epochs == 1 ? " epoch" : " epochs");
      if (std::isfinite(p.seconds)) s << ", " << duration(p.seconds);
      s << "\n";
    }
    s << "\n";
  }
  if (!r.provenance.empty()) {
    const json& p = r.provenance;
    auto field = [&](const char* k) {
      if (!p.contains(k) || p[k].is_null()) return std::string("-");
      return p[k].is_string() ? p[k].get<std::string>() : p[k].dump();
    };
    s << "## Provenance\n\n";
    s << "- command: `" << field("command") << "`\n";
    if (p.contains("overrides") && p["overrides"].is_array() && !p["overrides"].empty()) {
      s << "- overrides:";
      for (const json& o : p["overrides"]) s << " `" << (o.is_string() ? o.get<std::string>() : o.dump()) << "`";
      s << "\n";
    }
    s << "- winoprune " << field("version") << "; seed " << field("seed") << "; " << field("threads")
      << " threads x " << field("ranks") << " rank(s); kernels " << field("isa") << "\n";
    s << "- " << field("cpu") << " (" << field("host") << ")\n";
    s << "- started " << field("started") << ", finished " << field("finished") << "\n\n";
  }
  if (!plots.empty()) {
    s << "## Plots\n\n";
    for (const std::string& p : plots) {
      std::string stem = p.substr(p.find_last_of('/') + 1);
      stem = stem.substr(0, stem.find_last_of('.'));
      s << "![" << stem << "](" << p << ")\n\n";
    }
  }
  return s.str();
}

std::string render_layers_csv(const Report& r) {
  std::string s =
      "layer,kind,shape,tile,params,nnz,sparsity,target_sparsity,position_sparsity_min,"
      "position_sparsity_max,dense_mflop,remaining_mflop,speedup_vs_direct\n";
  for (const LayerReport& l : r.layers)
    s += csv_field(l.name) + "," + csv_field(l.kind) + "," + shape_x(l.shape) + "," +
         csv_field(l.tile) + "," + std::to_string(l.params) + "," + std::to_string(l.nnz) + "," +
         csv_number(l.sparsity) + "," + csv_number(l.target_sparsity) + "," +
         csv_number(l.position_sparsity_min) + "," +
         csv_number(l.position_sparsity_max) + "," + csv_number(l.dense_mflop) + "," +
         csv_number(l.remaining_mflop) + "," +
         (l.bench_batch > 0 ? csv_number(l.speedup_vs_direct()) : std::string()) + "\n";
  s += "total,,,," + std::to_string(r.total.params) + "," + std::to_string(r.total.nnz) + "," +
       csv_number(r.total.sparsity) + ",,,," + csv_number(r.total.dense_mflop) + "," +
       csv_number(r.total.remaining_mflop) + ",\n";
  return s;
}

void print_layer_table(std::ostream& out, const Report& r) {
  out << render_aligned(layer_table(r), true);
}

std::string render_sensitivity_md(const std::vector<SensitivityRow>& rows) {
  std::vector<std::string> layers;
  std::vector<double> levels;
  for (const SensitivityRow& r : rows) {
    if (std::find(layers.begin(), layers.end(), r.layer) == layers.end()) layers.push_back(r.layer);
    if (std::find(levels.begin(), levels.end(), r.sparsity) == levels.end()) levels.push_back(r.sparsity);
  }
  TextTable t;
  t.header = {"layer"};
  t.right = {false};
  for (double l : levels) {
    t.header.push_back(percent(l, 0));
    t.right.push_back(true);
  }
  for (const std::string& layer : layers) {
    std::vector<std::string> row = {layer};
    for (double l : levels) {
      std::string cell = "-";
      for (const SensitivityRow& r : rows)
        if (r.layer == layer && r.sparsity == l) cell = percent(r.top1);
      row.push_back(cell);
    }
    t.rows.push_back(row);
  }
  std::string s = "## Sensitivity\n\nValidation top-1 with one layer pruned to each sparsity "
                  "(the others untouched):\n\n" + render_markdown(t);
  return s + "\n";
}

std::string render_sensitivity_csv(const std::vector<SensitivityRow>& rows) {
  std::string s = "layer,sparsity,top1,top5,loss\n";
  for (const SensitivityRow& r : rows)
    s += csv_field(r.layer) + "," + csv_number(r.sparsity) + "," + csv_number(r.top1) + "," +
         csv_number(r.top5) + "," + csv_number(r.loss) + "\n";
  return s;
}

std::vector<SensitivityRow> read_sensitivity_csv(const std::string& path) {
  std::string text = read_text_file(path);
  std::istringstream in(text);
  std::string line;
  std::vector<SensitivityRow> rows;
  int64_t line_no = 0;
  const std::vector<std::string> expected = {"layer", "sparsity", "top1", "top5", "loss"};
  auto where = [&]() { return path + ":" + std::to_string(line_no); };
  auto parse = [&](const std::string& cell, const char* column, bool required) {
    if (cell.empty()) {
      if (required) throw InputError(where() + ": " + column + ": expected a number, got nothing");
      return kNoValue;
    }
    char* end = nullptr;
    double v = std::strtod(cell.c_str(), &end);
    if (end == cell.c_str() || *end != '\0')
      throw InputError(where() + ": " + column + ": expected a number, got \"" + cell + "\"");
    return v;
  };
  bool header_seen = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto cells = split_csv_line(line);
    if (!header_seen) {
      if (cells != expected)
        throw InputError(where() + ": expected the header \"layer,sparsity,top1,top5,loss\", "
                         "got \"" + line + "\"");
      header_seen = true;
      continue;
    }
    if (cells.size() != expected.size())
      throw InputError(where() + ": expected 5 columns (layer,sparsity,top1,top5,loss), got " +
                       std::to_string(cells.size()));
    SensitivityRow r;
    r.layer = cells[0];
    if (r.layer.empty()) throw InputError(where() + ": layer: empty");
    r.sparsity = parse(cells[1], "sparsity", true);
    r.top1 = parse(cells[2], "top1", false);
    r.top5 = parse(cells[3], "top5", false);
    r.loss = parse(cells[4], "loss", false);
    rows.push_back(r);
  }
  if (!header_seen) throw InputError(path + ": empty (expected a header layer,sparsity,top1,top5,loss)");
  return rows;
}

}  // namespace wp
