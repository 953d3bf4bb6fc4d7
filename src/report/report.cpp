// report.json <-> Report, report.md, layers.csv, the CLI's layer table, sensitivity.csv.
// Contract and MFLOP rule: report/report.h.
#include "winoprune/report/report.h"

#include <algorithm>
#include <cstdio>
#include <limits>
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

// ---- LayerReport's fields: one table for report.json (written and read) and layers.csv ----

struct LayerField {
  enum Kind { text, text_or_null, shape, integer, number, numbers_or_null, derived };
  const char* key;           // report.json key
  int csv_column;            // position in layers.csv, -1: not there
  const char* csv_header;    // its header there
  Kind kind;
  bool bench_only;           // measured by `report --bench`: only for layers with bench_batch > 0
  std::string LayerReport::*text_member = nullptr;
  Shape LayerReport::*shape_member = nullptr;
  int64_t LayerReport::*integer_member = nullptr;
  double LayerReport::*number_member = nullptr;
  std::vector<double> LayerReport::*numbers_member = nullptr;
  double (*derived_value)(const LayerReport&) = nullptr;   // written, never read
};

LayerField text_field(const char* key, int col, const char* header, std::string LayerReport::*m,
                      bool null_if_empty = false) {
  LayerField f{key, col, header, null_if_empty ? LayerField::text_or_null : LayerField::text, false};
  f.text_member = m;
  return f;
}
LayerField shape_field(const char* key, int col, const char* header, Shape LayerReport::*m) {
  LayerField f{key, col, header, LayerField::shape, false};
  f.shape_member = m;
  return f;
}
LayerField integer_field(const char* key, int col, const char* header, int64_t LayerReport::*m,
                         bool bench_only = false) {
  LayerField f{key, col, header, LayerField::integer, bench_only};
  f.integer_member = m;
  return f;
}
LayerField number_field(const char* key, int col, const char* header, double LayerReport::*m,
                        bool bench_only = false) {
  LayerField f{key, col, header, LayerField::number, bench_only};
  f.number_member = m;
  return f;
}
LayerField numbers_field(const char* key, std::vector<double> LayerReport::*m) {
  LayerField f{key, -1, nullptr, LayerField::numbers_or_null, false};
  f.numbers_member = m;
  return f;
}
LayerField derived_field(const char* key, int col, const char* header,
                         double (*value)(const LayerReport&), bool bench_only) {
  LayerField f{key, col, header, LayerField::derived, bench_only};
  f.derived_value = value;
  return f;
}

// The contract's order (report/report.h); layers.csv's columns by their position.
const std::vector<LayerField>& layer_fields() {
  using L = LayerReport;
  static const std::vector<LayerField> fields = {
      text_field("name", 0, "layer", &L::name),
      text_field("kind", 1, "kind", &L::kind),
      text_field("tile", 3, "tile", &L::tile, true),
      shape_field("shape", 2, "shape", &L::shape),
      integer_field("params", 4, "params", &L::params),
      integer_field("nnz", 5, "nnz", &L::nnz),
      number_field("sparsity", 6, "sparsity", &L::sparsity),
      number_field("target_sparsity", 7, "target_sparsity", &L::target_sparsity),
      number_field("position_sparsity_min", 8, "position_sparsity_min", &L::position_sparsity_min),
      number_field("position_sparsity_max", 9, "position_sparsity_max", &L::position_sparsity_max),
      numbers_field("position_sparsity", &L::position_sparsity),
      number_field("dense_mflop", 10, "dense_mflop", &L::dense_mflop),
      number_field("remaining_mflop", 11, "remaining_mflop", &L::remaining_mflop),
      integer_field("bench_batch", -1, nullptr, &L::bench_batch, true),
      number_field("sparse_ms", -1, nullptr, &L::sparse_ms, true),
      number_field("direct_ms", -1, nullptr, &L::direct_ms, true),
      derived_field("speedup_vs_direct", 12, "speedup_vs_direct",
                    [](const LayerReport& l) { return l.speedup_vs_direct(); }, true),
  };
  return fields;
}

json layer_to_json(const LayerReport& l) {
  json out = json::object();
  for (const LayerField& f : layer_fields()) {
    if (f.bench_only && l.bench_batch <= 0) continue;
    json& v = out[f.key];
    switch (f.kind) {
      case LayerField::text: v = l.*f.text_member; break;
      case LayerField::text_or_null: v = str_or_null(l.*f.text_member); break;
      case LayerField::shape: v = l.*f.shape_member; break;
      case LayerField::integer: v = l.*f.integer_member; break;
      case LayerField::number: v = num(l.*f.number_member); break;
      case LayerField::numbers_or_null: {
        const std::vector<double>& xs = l.*f.numbers_member;
        v = xs.empty() ? json(nullptr) : json(xs);
        break;
      }
      case LayerField::derived: v = num(f.derived_value(l)); break;
    }
  }
  return out;
}

LayerReport layer_from_json(JsonReader& in) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  constexpr int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  LayerReport l;
  for (const LayerField& f : layer_fields()) {
    switch (f.kind) {
      case LayerField::text:
      case LayerField::text_or_null: l.*f.text_member = in.string(f.key, ""); break;
      case LayerField::shape: l.*f.shape_member = in.integer_list(f.key); break;
      case LayerField::integer: l.*f.integer_member = in.integer(f.key, 0, lo, hi); break;
      case LayerField::number: l.*f.number_member = in.number(f.key, kNoValue, -inf, inf); break;
      case LayerField::numbers_or_null: l.*f.numbers_member = in.number_list(f.key); break;
      case LayerField::derived: break;
    }
  }
  return l;
}

// One layers.csv row; the total row is a LayerReport named "total" with only the totals set.
std::string layer_csv_row(const LayerReport& l) {
  std::vector<std::string> cells;
  for (const LayerField& f : layer_fields()) {
    if (f.csv_column < 0) continue;
    if (cells.size() <= size_t(f.csv_column)) cells.resize(size_t(f.csv_column) + 1);
    std::string& c = cells[size_t(f.csv_column)];
    if (f.bench_only && l.bench_batch <= 0) continue;
    switch (f.kind) {
      case LayerField::text:
      case LayerField::text_or_null: c = csv_field(l.*f.text_member); break;
      case LayerField::shape: c = shape_x(l.*f.shape_member); break;
      case LayerField::integer: c = std::to_string(l.*f.integer_member); break;
      case LayerField::number: c = csv_number(l.*f.number_member); break;
      case LayerField::numbers_or_null: break;
      case LayerField::derived: c = csv_number(f.derived_value(l)); break;
    }
  }
  std::string s;
  for (size_t i = 0; i < cells.size(); ++i) s += (i ? "," : "") + cells[i];
  return s + "\n";
}

std::string layer_csv_header() {
  std::vector<std::string> cells;
  for (const LayerField& f : layer_fields()) {
    if (f.csv_column < 0) continue;
    if (cells.size() <= size_t(f.csv_column)) cells.resize(size_t(f.csv_column) + 1);
    cells[size_t(f.csv_column)] = f.csv_header;
  }
  std::string s;
  for (size_t i = 0; i < cells.size(); ++i) s += (i ? "," : "") + cells[i];
  return s + "\n";
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
  for (const LayerReport& l : r.layers) layers.push_back(layer_to_json(l));
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
  constexpr double inf = std::numeric_limits<double>::infinity();
  constexpr int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  // Lenient: null reads as absent and unknown keys are ignored (the contract may grow).
  JsonReader in = JsonReader::lenient(j, "", file);
  auto number = [&](JsonReader& o, const char* key) { return o.number(key, kNoValue, -inf, inf); };
  Report r;
  r.name = in.string("name", "");
  r.dataset = in.string("dataset", "");
  r.model = in.string("model", "");
  JsonReader b = in.object("baseline");
  r.baseline = {number(b, "top1"), number(b, "top5"), number(b, "loss")};
  JsonReader f = in.object("final");
  r.final_eval.top1 = number(f, "top1");
  r.final_eval.top5 = number(f, "top5");
  r.final_eval.loss = number(f, "loss");
  r.final_eval.kernel = f.string("kernel", "");
  r.final_eval.eval_seconds = number(f, "eval_seconds");
  for (JsonReader& l : in.object_list("layers")) r.layers.push_back(layer_from_json(l));
  JsonReader t = in.object("total");
  r.total.params = t.integer("params", 0, lo, hi);
  r.total.nnz = t.integer("nnz", 0, lo, hi);
  r.total.sparsity = number(t, "sparsity");
  r.total.dense_mflop = number(t, "dense_mflop");
  r.total.remaining_mflop = number(t, "remaining_mflop");
  r.wall_seconds = number(in, "wall_seconds");
  for (JsonReader& p : in.object_list("phases")) {
    PhaseReport P;
    P.index = int(p.integer("index", 0, std::numeric_limits<int>::min(),
                            std::numeric_limits<int>::max()));
    P.type = p.string("type", "");
    P.epochs = p.integer("epochs", 0, lo, hi);
    P.seconds = number(p, "seconds");
    r.phases.push_back(P);
  }
  JsonReader data = in.object("data");
  for (const auto& item : data.value().items()) {
    JsonReader d = data.object(item.key().c_str());
    SplitStats s;
    s.split = item.key();
    s.images = d.integer("images", 0, lo, hi);
    s.classes = d.integer("classes", 0, lo, hi);
    s.corrupt_skipped = d.integer("corrupt_skipped", 0, lo, hi);
    r.data.push_back(s);
  }
  if (auto prov = in.optional_raw("provenance")) {
    if (!prov->is_object()) in.fail("provenance", "expected an object, got " + json_brief(*prov));
    r.provenance = *prov;
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
  std::string s = layer_csv_header();
  for (const LayerReport& l : r.layers) s += layer_csv_row(l);
  LayerReport total;
  total.name = "total";
  total.params = r.total.params;
  total.nnz = r.total.nnz;
  total.sparsity = r.total.sparsity;
  total.dense_mflop = r.total.dense_mflop;
  total.remaining_mflop = r.total.remaining_mflop;
  return s + layer_csv_row(total);
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
