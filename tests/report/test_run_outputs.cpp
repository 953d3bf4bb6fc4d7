// metrics.jsonl, report.json/md/csv, sensitivity.csv, SVG plots, the report command's outputs.
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "support.h"
#include "winoprune/io/atomic_file.h"
#include "winoprune/io/run_dir.h"
#include "winoprune/report/metrics.h"
#include "winoprune/report/report.h"
#include "winoprune/report/run_report.h"
#include "winoprune/report/svg_plot.h"

using namespace wp;
namespace fs = std::filesystem;

namespace {

std::string scratch_dir(const std::string& name) { return test::scratch_dir("report", name); }

void append_raw(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::app | std::ios::binary);
  out << text;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// Minimal XML well-formedness check: tags nest and close, attributes are quoted, only the five
// predefined entities are used, one root element.
bool well_formed_xml(const std::string& s, std::string* why) {
  std::vector<std::string> stack;
  size_t i = 0, roots = 0;
  if (s.rfind("<?xml", 0) == 0) i = s.find("?>") + 2;
  while (i < s.size()) {
    if (s[i] == '<') {
      size_t end = s.find('>', i);
      if (end == std::string::npos) return *why = "unterminated tag", false;
      std::string tag = s.substr(i + 1, end - i - 1);
      if (!tag.empty() && tag[0] == '/') {
        std::string name = tag.substr(1);
        if (stack.empty() || stack.back() != name) return *why = "mismatched </" + name + ">", false;
        stack.pop_back();
      } else {
        bool self = !tag.empty() && tag.back() == '/';
        std::string name = tag.substr(0, tag.find_first_of(" /\n"));
        // Attribute quotes must balance.
        if (count(tag, "\"") % 2) return *why = "unbalanced quotes in <" + name + ">", false;
        if (stack.empty()) ++roots;
        if (!self) stack.push_back(name);
      }
      i = end + 1;
    } else if (s[i] == '&') {
      size_t end = s.find(';', i);
      std::string ent = s.substr(i, end - i + 1);
      if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;" && ent != "&apos;")
        return *why = "bad entity " + ent, false;
      i = end + 1;
    } else {
      if (s[i] == '>') return *why = "stray >", false;
      ++i;
    }
  }
  if (!stack.empty()) return *why = "unclosed <" + stack.back() + ">", false;
  if (roots != 1) return *why = "expected one root element", false;
  return true;
}

Report small_report() {
  Report r;
  r.name = "fmnist-prune";
  r.dataset = "fashion-mnist";
  r.model = "alexnet-small";
  r.baseline = {0.91, 0.998, 0.25};
  r.final_eval.top1 = 0.905;
  r.final_eval.top5 = 0.997;
  r.final_eval.loss = 0.27;
  r.final_eval.kernel = "sparse";
  r.final_eval.eval_seconds = 3.25;
  LayerReport conv1{"conv1", "conv", "", {64, 1, 5, 5}, 1600, 1600};
  conv1.dense_mflop = 2.0;
  LayerReport conv2{"conv2", "winograd", "F(4x4,3x3)", {36, 128, 64}, 294912, 29491};
  conv2.position_sparsity_min = 0.8;
  conv2.position_sparsity_max = 0.95;
  for (int j = 0; j < 36; ++j) conv2.position_sparsity.push_back(0.8 + 0.15 * j / 35.0);
  conv2.target_sparsity = 0.9;
  conv2.dense_mflop = 10.0;
  LayerReport fc{"fc8", "fc", "", {10, 512}, 5120, 2560};
  fc.dense_mflop = 0.01024;
  r.layers = {conv1, conv2, fc};
  r.wall_seconds = 3725;
  r.phases = {{0, "train", 10, 1500}, {1, "prune", 5, 800.5}, {2, "eval", 0, 3.2}};
  r.data = {{"val", 10000, 10, 0}, {"train", 60000, 10, 3}};
  compute_totals(r);
  return r;
}

}  // namespace

TEST_CASE("metrics.jsonl: append, read back, torn last line, truncate on resume", "[report]") {
  std::string dir = scratch_dir("metrics");
  std::string path = dir + "/metrics.jsonl";
  CHECK(read_metrics(path).empty());   // missing file reads as empty
  {
    MetricsLog log(path);
    for (int step = 100; step <= 500; step += 100) {
      MetricsRecord r;
      r.phase = step <= 200 ? "train" : "prune";
      r.phase_index = step <= 200 ? 0 : 1;
      r.epoch = step / 100;
      r.iter = step;
      r.step = step;
      r.lr = 0.01;
      r.loss = 1.0 / step;
      r.top1 = 0.5 + step / 1000.0;
      if (step > 200) r.sparsity = {{"conv2", step / 1000.0}, {"fc6", 0.5}};
      r.seconds = step * 0.1;
      log.append(r);
    }
    log.append(nlohmann::json{{"phase", "prune"}, {"phase_index", 1}, {"split", "val"},
                              {"step", 500}, {"top1", 0.93}, {"future_key", 1}});
  }
  auto recs = read_metrics(path);
  REQUIRE(recs.size() == 6);
  CHECK(recs[0].phase == "train");
  CHECK(recs[0].loss == Approx(0.01));
  CHECK(std::isnan(recs[0].top5));
  CHECK(recs[2].sparsity.at("conv2") == Approx(0.3));
  CHECK(recs[5].split == "val");
  CHECK(recs[5].top1 == Approx(0.93));

  // A torn last line (crash mid-write) is ignored; a bad line in the middle is an error.
  append_raw(path, "{\"phase\": \"pru");
  CHECK(read_metrics(path).size() == 6);

  // Resume from step 300: records after it (and the torn line) go; kept lines stay verbatim.
  size_t dropped = truncate_metrics(path, [](const MetricsRecord& r) { return r.step <= 300; });
  CHECK(dropped == 3);
  recs = read_metrics(path);
  REQUIRE(recs.size() == 3);
  CHECK(recs.back().step == 300);
  {
    MetricsLog log(path);   // appending continues after the kept lines
    MetricsRecord r;
    r.step = 400;
    log.append(r);
  }
  CHECK(read_metrics(path).size() == 4);

  append_raw(path, "not json\n{\"step\": 1}\n");
  CHECK_THROWS_WITH(read_metrics(path), Catch::Contains(path + ":5: not valid JSON"));
  std::string bad = dir + "/bad.jsonl";
  append_raw(bad, "{\"step\": 1, \"loss\": \"high\"}\n");
  CHECK_THROWS_WITH(read_metrics(bad), Catch::Contains(bad + ":1: loss: expected a number"));
}

TEST_CASE("report.json round trip, report.md and layers.csv of a small report", "[report]") {
  Report r = small_report();
  // Totals and the MFLOP rule: conv keeps its dense MFLOP, winograd and fc scale by density.
  CHECK(r.total.params == 1600 + 294912 + 5120);
  CHECK(r.total.nnz == 1600 + 29491 + 2560);
  CHECK(r.layers[1].sparsity == Approx(1.0 - 29491.0 / 294912));
  CHECK(r.layers[0].remaining_mflop == Approx(2.0));
  CHECK(r.layers[1].remaining_mflop == Approx(10.0 * 29491 / 294912));
  CHECK(r.layers[2].remaining_mflop == Approx(0.00512));
  CHECK(r.total.dense_mflop == Approx(12.01024));
  CHECK(r.total.remaining_mflop ==
        Approx(r.layers[0].remaining_mflop + r.layers[1].remaining_mflop + 0.00512));

  nlohmann::json j = report_to_json(r);
  CHECK(j["layers"][0]["tile"].is_null());
  CHECK(j["layers"][0]["position_sparsity_min"].is_null());
  CHECK(j["layers"][1]["tile"] == "F(4x4,3x3)");
  CHECK(j["layers"][1]["shape"] == nlohmann::json::array({36, 128, 64}));
  CHECK(j["final"]["kernel"] == "sparse");
  CHECK(j["total"]["params"] == r.total.params);
  Report back = report_from_json(nlohmann::json::parse(j.dump()), "report.json");
  CHECK(report_to_json(back) == j);
  CHECK(back.data[0].split == "train");

  // Bad types name the file and the JSON path.
  nlohmann::json broken = j;
  broken["layers"][2]["nnz"] = "many";
  CHECK_THROWS_WITH(report_from_json(broken, "r/report.json"),
                    Catch::Contains("r/report.json: layers[2].nnz: expected an integer"));

  std::string csv = render_layers_csv(r);
  std::istringstream lines(csv);
  std::string header, row1, row2, row3, total, extra;
  std::getline(lines, header);
  std::getline(lines, row1);
  std::getline(lines, row2);
  std::getline(lines, row3);
  std::getline(lines, total);
  CHECK_FALSE(std::getline(lines, extra));
  CHECK(header ==
        "layer,kind,shape,tile,params,nnz,sparsity,target_sparsity,position_sparsity_min,"
        "position_sparsity_max,dense_mflop,remaining_mflop,speedup_vs_direct");
  CHECK(row1 == "conv1,conv,64x1x5x5,,1600,1600,0,,,,2,2,");
  CHECK(row2.rfind("conv2,winograd,36x128x64,\"F(4x4,3x3)\",294912,29491,0.9000006782,0.9,0.8,0.95,10,", 0) == 0);
  CHECK(row3 == "fc8,fc,10x512,,5120,2560,0.5,,,,0.01024,0.00512,");
  CHECK(total.rfind("total,,,,301632,33651,", 0) == 0);

  std::string md = render_report_md(r, {"plots/loss.svg", "plots/top1.svg"});
  INFO(md);
  CHECK_THAT(md, Catch::Contains("# winoprune run: fmnist-prune"));
  CHECK_THAT(md, Catch::Contains("train 60,000 images, 10 classes, 3 corrupt skipped"));
  CHECK_THAT(md, Catch::Contains("| baseline (dense, before pruning) | 91.00% | 99.80% | 0.2500 |"));
  CHECK_THAT(md, Catch::Contains("| final (sparse kernel, eval 3.2 s) | 90.50% |"));
  CHECK_THAT(md, Catch::Contains("| change | -0.50 points |"));
  CHECK_THAT(md, Catch::Contains("| conv2 | winograd | 36x128x64 | F(4x4,3x3) | 294,912 | 29,491 | "
                                 "90.00% | 90.00% | 80.0% - 95.0% | 10.00 | 1.00 |"));
  CHECK_THAT(md, Catch::Contains("| **total** | | | | **301,632** | **33,651** | **88.84%** | | | "
                                 "**12.01** | **3.01** |"));
  CHECK_THAT(md, Catch::Contains("1. train, 10 epochs, 25m 00s"));
  CHECK_THAT(md, Catch::Contains("3. eval, 3.2 s"));
  CHECK_THAT(md, Catch::Contains("![loss](plots/loss.svg)"));
  CHECK_THAT(md, Catch::Contains("wall time: 1h 02m 05s"));

  std::ostringstream table;
  print_layer_table(table, r);
  std::string t = table.str();
  INFO(t);
  CHECK(count(t, "\n") == 7);   // header, rule, 3 layers, rule, total
  CHECK_THAT(t, Catch::Contains("total"));
  CHECK_THAT(t, Catch::Contains("301,632"));
  // Columns aligned: every line but the rules has "nnz" values ending at the same column.
  std::istringstream tl(t);
  std::string first;
  std::getline(tl, first);
  size_t nnz_end = first.find("nnz") + 3;
  std::string line;
  while (std::getline(tl, line))
    if (line[0] != '-') CHECK(line.substr(0, nnz_end).find_last_not_of(' ') == nnz_end - 1);
}

TEST_CASE("report.json of another writer: bench fields, unknown keys and nulls", "[report]") {
  Report r = small_report();
  r.layers[1].bench_batch = 8;
  r.layers[1].sparse_ms = 1.25;
  r.layers[1].direct_ms = 2.5;
  nlohmann::json j = report_to_json(r);
  CHECK(j["layers"][1]["bench_batch"] == 8);
  CHECK(j["layers"][1]["speedup_vs_direct"] == 2.0);
  CHECK_FALSE(j["layers"][0].contains("bench_batch"));
  CHECK(j["layers"][1].size() == 17);
  CHECK(j["layers"][0].size() == 13);
  CHECK(report_to_json(report_from_json(j, "report.json")) == j);
  // A newer writer's keys are ignored; null reads as absent.
  nlohmann::json newer = j;
  newer["layers"][0]["future"] = {1, 2};
  newer["future"] = {{"x", 1}};
  newer["wall_seconds"] = nullptr;
  newer["total"]["nnz"] = nullptr;
  Report back = report_from_json(newer, "report.json");
  CHECK(std::isnan(back.wall_seconds));
  CHECK(back.total.nnz == 0);
  CHECK(back.layers[1].bench_batch == 8);
  back.total.nnz = r.total.nnz;   // the one value nulled above
  CHECK(render_layers_csv(back) == render_layers_csv(r));
  nlohmann::json bad = j;
  bad["layers"][0]["shape"] = {64, "x"};
  CHECK_THROWS_WITH(report_from_json(bad, "r.json"),
                    "r.json: layers[0].shape[1]: expected an integer, got \"x\"");
}

TEST_CASE("sensitivity.csv round trip and errors", "[report]") {
  std::string dir = scratch_dir("sensitivity");
  std::vector<SensitivityRow> rows = {{"conv2", 0.5, 0.9, 0.99, 0.3},
                                      {"conv2", 0.9, 0.85, kNoValue, 0.4}};
  write_text_file_atomic(dir + "/s.csv", render_sensitivity_csv(rows));
  auto back = read_sensitivity_csv(dir + "/s.csv");
  REQUIRE(back.size() == 2);
  CHECK(back[1].sparsity == 0.9);
  CHECK(std::isnan(back[1].top5));
  // report.md's table: a row per layer, a column per sparsity.
  std::vector<SensitivityRow> grid = rows;
  grid.push_back({"conv3", 0.5, 0.8, 0.98, 0.5});
  const std::string md = render_sensitivity_md(grid);
  INFO(md);
  CHECK_THAT(md, Catch::Contains("| layer | 50% | 90% |"));
  CHECK_THAT(md, Catch::Contains("| conv2 | 90.00% | 85.00% |"));
  CHECK_THAT(md, Catch::Contains("| conv3 | 80.00% | - |"));
  write_text_file_atomic(dir + "/bad.csv", "layer,sparsity,top1,top5,loss\nconv2,x,1,1,1\n");
  CHECK_THROWS_WITH(read_sensitivity_csv(dir + "/bad.csv"),
                    Catch::Contains("bad.csv:2: sparsity: expected a number, got \"x\""));
  write_text_file_atomic(dir + "/hdr.csv", "a,b\n");
  CHECK_THROWS_WITH(read_sensitivity_csv(dir + "/hdr.csv"), Catch::Contains("hdr.csv:1: expected the header"));
}

TEST_CASE("svg line chart: well-formed XML, one group per series, ticks, markers", "[report]") {
  LineChart c;
  c.title = "Loss & <accuracy>";
  c.x_label = "iteration";
  c.y_label = "loss";
  for (int k = 0; k < 3; ++k) {
    PlotSeries s;
    s.label = "series \"" + std::to_string(k) + "\"";
    for (int i = 0; i < 50; ++i) {
      s.x.push_back(i * 10);
      s.y.push_back(i == 20 && k == 1 ? std::nan("") : std::exp(-i / 10.0) + k);
    }
    s.points = k == 2;
    c.series.push_back(s);
  }
  c.markers = {{0, "1. train"}, {200, "2. prune"}, {10000, "outside"}};
  std::string svg = render_svg(c);
  std::string why;
  CHECK(well_formed_xml(svg, &why));
  INFO(why);
  CHECK(count(svg, "<g class=\"series\"") == 3);
  CHECK(count(svg, "class=\"marker\"") == 2);   // the one outside the x range is dropped
  CHECK_THAT(svg, Catch::Contains("Loss &amp; &lt;accuracy&gt;"));
  CHECK(count(svg, "<circle") == 50);
  // The NaN breaks series 1 into two sub-paths.
  size_t s1 = svg.find("data-label=\"series &quot;1&quot;\"");
  REQUIRE(s1 != std::string::npos);
  std::string g1 = svg.substr(s1, svg.find("</g>", s1) - s1);
  CHECK(count(g1, "M") == 2);

  double lo = 0.013, hi = 0.87;
  auto ticks = nice_ticks(&lo, &hi, 6);
  CHECK(lo == Approx(0.0));
  CHECK(hi == Approx(1.0).margin(1e-12));
  CHECK(ticks.size() == 6);   // 0, 0.2, ..., 1
  lo = 3, hi = 2e5;
  auto lt = log_ticks(&lo, &hi);
  CHECK(lt.front() == Approx(1));
  CHECK(lt.back() == Approx(1e6));
  lo = 0.02, hi = 0.9;
  lt = log_ticks(&lo, &hi);   // < 3 decades: 1-2-5 steps
  std::vector<double> want = {0.02, 0.05, 0.1, 0.2, 0.5, 1.0};
  REQUIRE(lt.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) CHECK(lt[i] == Approx(want[i]));

  LineChart logc = c;
  logc.log_x = true;
  CHECK(well_formed_xml(render_svg(logc), &why));
  LineChart empty;
  CHECK(well_formed_xml(render_svg(empty), &why));
}

TEST_CASE("render_run_report writes md, csv and plots from a run directory", "[report]") {
  std::string dir = scratch_dir("render");
  CHECK_THROWS_WITH(render_run_report(dir), Catch::Contains("nothing to render"));
  CHECK_THROWS_AS(render_run_report(dir + "/missing"), InputError);
  RunDir d{dir};
  write_report_json(d.report_json(), small_report());
  {
    MetricsLog log(d.metrics_jsonl());
    int64_t step = 0;
    for (int phase = 0; phase < 3; ++phase)
      for (int i = 0; i < 20; ++i) {
        step += 50;
        MetricsRecord r;
        r.phase = phase == 0 ? "train" : phase == 1 ? "prune" : "finetune";
        r.phase_index = phase;
        r.step = step;
        r.loss = 2.0 * std::exp(-step / 800.0) + 0.2;
        r.top1 = 0.9 - 0.8 * std::exp(-step / 600.0);
        if (phase > 0) r.sparsity = {{"conv2", std::min(0.9, i / 10.0)}, {"fc6", 0.5}};
        log.append(r);
        if (i % 10 == 9) {
          r.split = "val";
          r.top5 = 0.99;
          log.append(r);
        }
      }
  }
  write_text_file_atomic(d.sensitivity_csv(),
                         "layer,sparsity,top1,top5,loss\nconv2,0,0.9,1,0.3\nconv2,0.5,0.89,1,0.3\n"
                         "conv3,0,0.9,1,0.3\nconv3,0.5,0.8,1,0.5\n");
  auto written = render_run_report(dir);
  CHECK(written.size() == 9);
  for (const char* f : {"plots/loss.svg", "plots/top1.svg", "plots/sparsity.svg",
                        "plots/accuracy_sparsity.svg", "plots/layers.svg", "plots/positions.svg",
                        "plots/sensitivity.svg", "report.md", "layers.csv"})
    CHECK(fs::exists(dir + "/" + f));
  std::string md = read_text_file(d.report_md());
  CHECK_THAT(md, Catch::Contains("![sensitivity](plots/sensitivity.svg)"));
  CHECK_THAT(md, Catch::Contains("![positions](plots/positions.svg)"));
  std::string why;
  for (const char* f : {"loss", "top1", "sparsity", "accuracy_sparsity", "layers", "positions",
                        "sensitivity"}) {
    INFO(f);
    CHECK(well_formed_xml(read_text_file(dir + "/plots/" + f + ".svg"), &why));
  }
  // Small multiples: one panel per layer (conv2, fc6), each one series drawn as steps, with
  // the three phase starts marked; ids unique across panels.
  std::string sparsity = read_text_file(dir + "/plots/sparsity.svg");
  CHECK(count(sparsity, "<svg class=\"panel\"") == 2);
  CHECK(count(sparsity, "<g class=\"series\"") == 2);
  CHECK(count(sparsity, "class=\"marker\"") == 6);
  CHECK(count(sparsity, "id=\"sparsity-conv2-area\"") == 1);
  CHECK(count(sparsity, "id=\"sparsity-fc6-area\"") == 1);
  // Accuracy against sparsity: the validation records of the two pruned phases (two each,
  // every 10th record) and the baseline line.
  std::string acc = read_text_file(dir + "/plots/accuracy_sparsity.svg");
  CHECK(count(acc, "<g class=\"series\"") == 3);
  CHECK_THAT(acc, Catch::Contains("data-label=\"2. prune\""));
  CHECK_THAT(acc, Catch::Contains("data-label=\"baseline (before pruning)\""));
  // Bars: sparsity of 3 layers (+ conv2's target), nnz and dense of 3 layers.
  std::string layers = read_text_file(dir + "/plots/layers.svg");
  CHECK(count(layers, "class=\"bar\"") == 3 + 1 + 6);
  CHECK_THAT(layers, Catch::Contains(">90.0%<"));   // conv2: 1 - 29491/294912
  // The heatmap of conv2's 6x6 tile: 36 cells, the first 80.0% and the last 95.0%.
  std::string positions = read_text_file(dir + "/plots/positions.svg");
  CHECK(count(positions, "class=\"cell\"") == 36);
  CHECK_THAT(positions, Catch::Contains(">80.0<"));
  CHECK_THAT(positions, Catch::Contains(">95.0<"));
  std::string sens = read_text_file(dir + "/plots/sensitivity.svg");
  CHECK(count(sens, "<g class=\"series\"") == 2);
}
