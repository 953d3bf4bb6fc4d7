// ImageNet AlexNet (227x227x3 input, Caffe layer structure, narrower channels to fit CI) runs
// end to end on a synthetic ImageNet-layout tree of JPEGs: training, conversion, pruning and
// the sparse evaluation, with every validation layout giving the same labels.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "support.h"
#include "winoprune/app/experiment.h"
#include "winoprune/app/runner.h"
#include "winoprune/data/tools.h"
#include "winoprune/report/metrics.h"
#include "winoprune/io/run_dir.h"

using namespace wp;
namespace fs = std::filesystem;

TEST_CASE("alexnet-227 trains, prunes and evaluates sparsely on a synthetic ImageNet tree", "[app][e2e]") {
  std::string base = (fs::temp_directory_path() /
                      ("winoprune-imagenet-" + std::to_string(::getpid()))).string();
  fs::remove_all(base);
  SyntheticTreeOptions tree;
  tree.classes = 4;
  tree.train_per_class = 8;
  tree.val_per_class = 4;
  tree.width = 300;
  tree.height = 225;
  make_synthetic_imagenet(base + "/tree", tree);

  json cfg = json::parse(R"({
    "name": "imagenet-tiny", "seed": 2, "threads": 2, "log_every": 1,
    "data": {"dataset": "imagefolder", "batch": 8, "workers": 2,
             "resize": 256, "resize_mode": "warp", "crop": 227, "color": "bgr",
             "mean": [104, 117, 123], "std": [1, 1, 1], "val": {"batch": 8}},
    "model": {"arch": "alexnet", "classes": 4, "groups": 2, "lrn": true,
              "widths": [16, 32, 48, 48, 32], "fc_widths": [64, 64]},
    "phases": [
      {"type": "train", "epochs": 1, "optimizer": {"lr": 0.001}},
      {"type": "convert", "layers": ["conv2", "conv3", "conv4", "conv5"]},
      {"type": "prune", "epochs": 1, "optimizer": {"lr": 0.0005},
       "pruners": {"m": {"type": "magnitude", "layers": "winograd", "sparsity": 0.9}}},
      {"type": "eval", "kernel": "sparse"}
    ]})");
  cfg["data"]["root"] = base + "/tree";

  auto run = [&](const json& c, const std::string& tag) {
    ExperimentConfig x = parse_experiment(c, "imagenet-tiny.json");
    std::ostringstream log;
    RunOptions opt;
    opt.log = &log;
    Report rep = run_experiment(x, create_run_dir(base + "/run-" + tag, false), opt);
    INFO(log.str());
    return rep;
  };

  // The three validation layouts give the same labels: the same (untrained, same seed) model
  // evaluated through each scores identically.
  std::vector<Report> evals;
  for (const char* layout : {"folders", "list", "kaggle"}) {
    json c = cfg;
    c["data"]["val"]["layout"] = layout;
    if (std::string(layout) == "list") c["data"]["val"]["list"] = "val.txt";
    if (std::string(layout) != "folders") c["data"]["val"]["dir"] = "val_flat";
    c["phases"] = json::array({json{{"type", "eval"}, {"kernel", "dense"}}});
    evals.push_back(run(c, std::string("eval-") + layout));
    for (const auto& s : evals.back().data)
      if (s.split == "val") REQUIRE(s.images == 16);
  }
  for (const Report& r : evals) {
    REQUIRE(r.final_eval.top1 == evals[0].final_eval.top1);
    REQUIRE(r.final_eval.loss == Approx(evals[0].final_eval.loss).epsilon(1e-6));
  }

  // The whole pipeline: train, convert, prune, sparse evaluation.
  Report rep = run(cfg, "pipeline");
  REQUIRE(rep.model == "alexnet");
  for (const auto& s : rep.data) {
    if (s.split == "train") REQUIRE(s.images == 32);
    REQUIRE(s.classes == 4);
  }
  REQUIRE(rep.final_eval.kernel == "sparse");
  REQUIRE(std::isfinite(rep.final_eval.loss));
  int winograd = 0;
  for (const auto& l : rep.layers) {
    if (l.kind != "winograd") continue;
    ++winograd;
    REQUIRE(l.sparsity >= 0.9 - 1.0 / l.params);
  }
  REQUIRE(winograd == 4);
  // log_every 1: one train record per iteration, 32 images / batch 8 = 4 per epoch, 2 epochs.
  int train_records = 0;
  for (const MetricsRecord& m : read_metrics(base + "/run-pipeline/metrics.jsonl"))
    train_records += m.split == "train";
  REQUIRE(train_records == 8);
  fs::remove_all(base);
}
