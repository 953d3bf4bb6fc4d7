// End-to-end runs on a slice of Fashion-MNIST: the whole pipeline in-process, and a run killed
// with SIGKILL after its first checkpoint (in an Adam phase), resumed through the CLI, ending
// bit-identical to an uninterrupted run.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "support.h"
#include "winoprune/app/experiment.h"
#include "winoprune/app/model_checkpoint.h"
#include "winoprune/app/plan.h"
#include "winoprune/app/runner.h"
#include "winoprune/data/loader.h"
#include "winoprune/data/tools.h"
#include "winoprune/report/metrics.h"
#include "winoprune/io/run_dir.h"

using namespace wp;
namespace fs = std::filesystem;

namespace {

const char* kFmnist = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";

json tiny_pipeline() {
  return json::parse(R"({
    "name": "tiny", "seed": 5, "threads": 2, "log_every": 5,
    "data": {"dataset": "fashion-mnist", "batch": 32, "workers": 1,
             "train": {"limit": 2560}, "val": {"limit": 500}},
    "model": {"arch": "alexnet-small", "widths": [16, 32, 32, 32, 32], "fc_widths": [64, 64],
              "dropout": 0.0},
    "phases": [
      {"type": "train", "epochs": 2, "optimizer": {"lr": 0.02, "momentum": 0.9}},
      {"type": "convert", "layers": ["conv2", "conv3", "conv4", "conv5"]},
      {"type": "prune", "epochs": 2, "optimizer": {"lr": 0.005},
       "pruners": {"agp": {"type": "gradual", "layers": "winograd", "final_sparsity": 0.6}},
       "policies": [{"pruner": "agp", "unit": "iteration", "start": 0, "end": 121,
                     "frequency": 20}]},
      {"type": "finetune", "epochs": 1, "optimizer": {"lr": 0.002}},
      {"type": "eval", "kernel": "sparse"}
    ]})");
}

// The tiny pipeline cut to a few seconds on one thread: 20 iterations of train and of prune
// (the AGP window fits), no fine-tune.
json short_pipeline() {
  json cfg = tiny_pipeline();
  cfg["threads"] = 1;
  cfg["data"]["train"]["limit"] = 640;
  cfg["phases"][0]["epochs"] = 1;
  cfg["phases"][2]["epochs"] = 1;
  cfg["phases"][2]["policies"][0]["end"] = 20;
  cfg["phases"][3]["epochs"] = 0;
  return cfg;
}

std::string temp_dir(const std::string& tag) {
  std::string d = (fs::temp_directory_path() / ("winoprune-test-" + tag + "-" +
                                                std::to_string(::getpid()))).string();
  fs::remove_all(d);
  return d;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json read_json(const std::string& path) { return json::parse(read_text(path)); }

std::string binary() { return std::string(WINOPRUNE_BINARY_DIR) + "/tools/winoprune"; }

int run_cli(const std::vector<std::string>& args, const std::string& log) {
  std::string cmd = binary();
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " > '" + log + "' 2>&1";
  int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// Starts the CLI in the background (stdout and stderr to `log`); the caller waits for it.
pid_t spawn_cli(const std::vector<std::string>& args, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv = {const_cast<char*>("winoprune")};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(binary().c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

TEST_CASE("the whole pipeline runs end to end and writes the run directory", "[app][e2e]") {
  if (!fs::exists(kFmnist)) {
    WARN("SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  std::string out = temp_dir("pipeline");
  ExperimentConfig cfg = parse_experiment(tiny_pipeline(), "tiny.json");
  RunDir dir = create_run_dir(out, false);
  std::ostringstream log;
  RunOptions opt;
  opt.log = &log;
  Report rep = run_experiment(cfg, dir, opt);
  INFO(log.str());

  for (const char* f : {"config.json", "metrics.jsonl", "report.json", "report.md", "layers.csv",
                        "checkpoints/latest.safetensors", "checkpoints/finetune-1.safetensors",
                        "plots/loss.svg", "plots/sparsity.svg"})
    REQUIRE(fs::exists(out + "/" + f));
  json r = read_json(out + "/report.json");
  for (const char* k : {"name", "dataset", "model", "baseline", "final", "layers", "total",
                        "wall_seconds"})
    REQUIRE(r.contains(k));
  REQUIRE(r["final"]["kernel"] == "sparse");
  REQUIRE(r["layers"].size() == 8);   // conv1..conv5, fc6..fc8
  for (const auto& l : r["layers"]) {
    std::string name = l["name"];
    if (name == "conv1" || name.rfind("fc", 0) == 0) {
      REQUIRE(l["tile"].is_null());
      continue;
    }
    REQUIRE(l["kind"] == "winograd");
    REQUIRE(l["tile"] == (name == "conv2" ? "F(4x4,5x5)" : "F(4x4,3x3)"));
    // Targets are counts llround(0.6 * params): within one weight of 60%.
    REQUIRE(l["sparsity"].get<double>() >= 0.6 - 1.0 / l["params"].get<double>());
    REQUIRE(l["shape"][0] == (name == "conv2" ? 64 : 36));
  }
  // A 10-class problem after 160 iterations on 2560 images: far above chance (0.1).
  REQUIRE(r["baseline"]["top1"].get<double>() > 0.6);
  REQUIRE(r["final"]["top1"].get<double>() > 0.6);
  // metrics.jsonl: train and val records with per-layer sparsity.
  auto records = read_metrics(out + "/metrics.jsonl");
  REQUIRE(records.size() > 10);
  bool saw_sparse = false;
  for (const auto& m : records)
    saw_sparse = saw_sparse || (m.sparsity.count("conv3") && m.sparsity.at("conv3") >= 0.59);
  REQUIRE(saw_sparse);

  // Sparse and dense evaluation of the final checkpoint: identical predictions, logits within
  // 1e-4 relative (Frobenius, per batch).
  {
    SafeTensorsFile ckpt = read_safetensors(out + "/checkpoints/latest.safetensors");
    Rng rng(1, 1);
    std::unique_ptr<Model> model = build_model(checkpoint_model_config(ckpt), rng);
    load_checkpoint_into(ckpt, *model, false);
    std::unique_ptr<Dataset> val = open_dataset(cfg.data, Split::val);
    BatchLoader loader(*val, eval_loader_options(cfg.data));
    Batch batch;
    NoGradGuard no_grad;
    int64_t compared = 0;
    while (loader.next(batch)) {
      Tensor logits[2];
      int i = 0;
      for (InferenceKernel k : {InferenceKernel::sparse, InferenceKernel::dense}) {
        model->prepare_inference(k);
        ForwardContext ctx;
        ctx.kernel = k;
        logits[i++] = model->forward(leaf(batch.images), ctx)->value.clone();
      }
      REQUIRE(wp::test::relative_error(logits[0].data(), logits[1].data(),
                                       size_t(logits[0].numel()), 1e-4, "logits") < 1e-4);
      const int64_t classes = logits[0].dim(1);
      for (int64_t n = 0; n < batch.size(); ++n) {
        const float* a = logits[0].data() + n * classes;
        const float* b = logits[1].data() + n * classes;
        REQUIRE(std::max_element(a, a + classes) - a == std::max_element(b, b + classes) - b);
        ++compared;
      }
    }
    REQUIRE(compared == 500);
  }

  // The resolved config.json runs as it is: parse it back.
  REQUIRE_NOTHROW(parse_experiment(read_json(out + "/config.json"), "config.json"));
  fs::remove_all(out);
}

TEST_CASE("a killed run resumes from its last checkpoint and ends identically", "[app][e2e]") {
  if (!fs::exists(kFmnist)) {
    WARN("SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  REQUIRE(fs::exists(binary()));
  std::string base = temp_dir("resume");
  fs::create_directories(base);
  json cfg = tiny_pipeline();
  cfg["phases"][0]["epochs"] = 3;
  // Adam in the interrupted phase: its resume restores both moments and the step count (the
  // bias correction), a superset of SGD's momentum; the prune phase after it runs SGD.
  cfg["phases"][0]["optimizer"] = json{{"type", "adam"}, {"lr", 1e-3}};
  std::string cfg_path = base + "/cfg.json";
  std::ofstream(cfg_path) << cfg.dump(2);

  // Uninterrupted reference.
  REQUIRE(run_cli({"run", cfg_path, "--out", base + "/full"}, base + "/full.log") == 0);

  // The same run, killed once the first epoch's checkpoint exists.
  pid_t pid = spawn_cli({"run", cfg_path, "--out", base + "/killed"}, base + "/killed.log");
  REQUIRE(pid >= 0);
  std::string first = base + "/killed/checkpoints/train-1.safetensors";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(first) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(fs::exists(first));
  REQUIRE_FALSE(fs::exists(base + "/killed/report.json"));

  // Refuses to overwrite, then resumes.
  REQUIRE(run_cli({"run", cfg_path, "--out", base + "/killed"}, base + "/refused.log") == 2);
  REQUIRE(run_cli({"run", "--resume", base + "/killed"}, base + "/resumed.log") == 0);

  json a = read_json(base + "/full/report.json");
  json b = read_json(base + "/killed/report.json");
  REQUIRE(a["final"]["top1"] == b["final"]["top1"]);
  REQUIRE(a["final"]["loss"] == b["final"]["loss"]);
  REQUIRE(a["baseline"]["loss"] == b["baseline"]["loss"]);
  REQUIRE(a["layers"] == b["layers"]);
  // The metrics of the two runs agree record for record (times aside).
  auto ma = read_metrics(base + "/full/metrics.jsonl");
  auto mb = read_metrics(base + "/killed/metrics.jsonl");
  REQUIRE(ma.size() == mb.size());
  for (size_t i = 0; i < ma.size(); ++i) {
    REQUIRE(ma[i].step == mb[i].step);
    REQUIRE(ma[i].loss == mb[i].loss);
  }
  fs::remove_all(base);
}

namespace {

// Runs `cfg` uninterrupted, then again killed with SIGKILL as soon as `latest` is a checkpoint
// taken inside phase `phase_index` (mid-epoch), resumes it through the CLI, and requires the
// two runs' metrics and reports to agree bit for bit (times aside).
void kill_inside_phase_and_compare(const json& cfg, int phase_index, const std::string& tag) {
  std::string base = temp_dir(tag);
  fs::create_directories(base);
  std::string cfg_path = base + "/cfg.json";
  std::ofstream(cfg_path) << cfg.dump(2);
  REQUIRE(run_cli({"run", cfg_path, "--out", base + "/full"}, base + "/full.log") == 0);

  pid_t pid = spawn_cli({"run", cfg_path, "--out", base + "/killed"}, base + "/killed.log");
  REQUIRE(pid >= 0);
  std::string latest = base + "/killed/checkpoints/latest.safetensors";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  bool inside = false;
  while (!inside && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    try {
      SafeTensorsFile h = read_safetensors_header(latest);
      RunState s = run_state_from_json(json::parse(h.meta("state")), latest);
      inside = s.phase_index == phase_index && !s.phase_done && s.iteration > 0;
    } catch (const std::exception&) {   // not there yet
    }
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(inside);
  REQUIRE(run_cli({"run", "--resume", base + "/killed"}, base + "/resumed.log") == 0);
  // It resumed inside the phase, not at a boundary.
  std::string log = read_text(base + "/resumed.log");
  INFO(log);
  REQUIRE(log.find("(phase " + std::to_string(phase_index + 1) + ", epoch ") != std::string::npos);
  REQUIRE(log.find(", iteration 0;") == std::string::npos);

  json a = read_json(base + "/full/report.json");
  json b = read_json(base + "/killed/report.json");
  for (const char* k : {"baseline", "final", "layers", "total"}) {
    json x = a[k], y = b[k];
    if (x.is_object()) x.erase("eval_seconds"), y.erase("eval_seconds");
    CHECK(x == y);
  }
  auto ma = read_metrics(base + "/full/metrics.jsonl");
  auto mb = read_metrics(base + "/killed/metrics.jsonl");
  REQUIRE(ma.size() == mb.size());
  for (size_t i = 0; i < ma.size(); ++i) {
    INFO("metrics record " << i << ": phase " << ma[i].phase << " step " << ma[i].step);
    CHECK(ma[i].step == mb[i].step);
    CHECK(ma[i].split == mb[i].split);
    CHECK(std::memcmp(&ma[i].loss, &mb[i].loss, sizeof(double)) == 0);
    CHECK(std::memcmp(&ma[i].top1, &mb[i].top1, sizeof(double)) == 0);
    CHECK(ma[i].sparsity == mb[i].sparsity);
  }
  fs::remove_all(base);
}

// The tiny pipeline with a prune phase of 2 epochs x 40 iterations that depends on running
// statistics, a checkpoint every 7 iterations (not a multiple of log_every 5: the metrics
// window is cut by the kill) and one thread (results depend on the thread count).
json mid_prune_pipeline(const json& pruner, const json& policy) {
  json cfg = tiny_pipeline();
  cfg["threads"] = 1;
  cfg["checkpoint_every"] = 7;
  cfg["data"]["train"]["limit"] = 1280;
  cfg["phases"][0]["epochs"] = 1;
  cfg["phases"][2]["pruners"] = json{{"p", pruner}};
  cfg["phases"][2]["policies"] = json::array({policy});
  return cfg;
}

}  // namespace

TEST_CASE("killed inside a Fisher gradual prune phase, a run resumes bit-identically",
          "[app][e2e][resume]") {
  if (!fs::exists(kFmnist)) {
    WARN("SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  // Fisher saliency: every event ranks by the g^2 summed since the previous one, so a resume
  // that lost the sum would prune other entries.
  json cfg = mid_prune_pipeline(
      json{{"type", "gradual"}, {"layers", "winograd"}, {"final_sparsity", 0.7},
           {"saliency", "fisher"}},
      json{{"pruner", "p"}, {"unit", "iteration"}, {"start", 0}, {"end", 70}, {"frequency", 10}});
  kill_inside_phase_and_compare(cfg, 2, "resume-fisher");
}

TEST_CASE("killed inside a threshold (rms, target mode) prune phase, a run resumes "
          "bit-identically",
          "[app][e2e][resume]") {
  if (!fs::exists(kFmnist)) {
    WARN("SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  // The rms average, the target cut and its step counter all carry across steps.
  json cfg = mid_prune_pipeline(
      json{{"type", "threshold"}, {"layers", "winograd"}, {"l1", 1e-5}, {"adaptive", true},
           {"factor", 1e6}, {"gradient", "rms"}, {"per_position", false},
           {"final_sparsity", 0.7}},
      json{{"pruner", "p"}, {"unit", "iteration"}, {"start", 0}, {"end", 70}});
  kill_inside_phase_and_compare(cfg, 2, "resume-threshold");
}

TEST_CASE("resumed from the checkpoint that completed a phase, a run reports every phase and "
          "ends identically, keep_checkpoints keeps what it says",
          "[app][e2e][resume]") {
  if (!fs::exists(kFmnist)) {
    WARN("SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  std::string base = temp_dir("boundary");
  fs::create_directories(base);
  json cfg = tiny_pipeline();
  cfg["threads"] = 1;
  cfg["data"]["train"]["limit"] = 640;
  cfg["phases"][2]["policies"][0]["end"] = 40;   // 2 epochs x 20 iterations
  cfg["keep_checkpoints"] = "all";
  std::string cfg_path = base + "/cfg.json";
  std::ofstream(cfg_path) << cfg.dump(2);
  REQUIRE(run_cli({"run", cfg_path, "--out", base + "/full"}, base + "/full.log") == 0);
  const std::string ck = base + "/full/checkpoints/";
  // "all" keeps every epoch's checkpoint; newest_checkpoint is the one furthest along.
  for (const char* f : {"train-1", "train-2", "convert-0", "prune-1", "prune-2", "finetune-1",
                        "eval-0", "latest"})
    CHECK(fs::exists(ck + f + ".safetensors"));
  CHECK(fs::equivalent(newest_checkpoint(ck), ck + "eval-0.safetensors"));
  // The eval phase changed no weight: its checkpoint is a position record (metadata only) and
  // latest still holds the fine-tuned model.
  SafeTensorsFile eval_record = read_safetensors(ck + "eval-0.safetensors");
  CHECK(eval_record.tensors.empty());
  CHECK_FALSE(checkpoint_has_weights(eval_record));
  CHECK(fs::file_size(ck + "eval-0.safetensors") < 64 * 1024);
  CHECK(fs::equivalent(ck + "latest.safetensors", ck + "finetune-1.safetensors"));

  // Cut the run back to the checkpoint that completed the convert phase: as if killed right
  // after it was written. A torn file beside it must not stop the resume.
  fs::copy(base + "/full", base + "/cut", fs::copy_options::recursive);
  for (const char* f : {"prune-1", "prune-2", "finetune-1", "eval-0", "latest"})
    fs::remove(base + "/cut/checkpoints/" + std::string(f) + ".safetensors");
  fs::remove(base + "/cut/report.json");
  std::ofstream(base + "/cut/checkpoints/torn.safetensors") << "\x10\x00\x00";
  CHECK(fs::path(newest_checkpoint(base + "/cut/checkpoints")).filename() ==
        "convert-0.safetensors");
  REQUIRE(run_cli({"run", "--resume", base + "/cut"}, base + "/cut.log") == 0);
  std::string log = read_text(base + "/cut.log");
  INFO(log);
  CHECK(log.find("(phase 3, epoch 1, iteration 0;") != std::string::npos);
  json a = read_json(base + "/full/report.json");
  json b = read_json(base + "/cut/report.json");
  REQUIRE(a["phases"].size() == 5);
  REQUIRE(b["phases"].size() == 5);
  for (size_t i = 0; i < 5; ++i) {
    CHECK(a["phases"][i]["index"] == b["phases"][i]["index"]);
    CHECK(a["phases"][i]["type"] == b["phases"][i]["type"]);
  }
  CHECK(a["final"]["loss"] == b["final"]["loss"]);
  CHECK(a["layers"] == b["layers"]);
  CHECK(a["data"] == b["data"]);

  // Resuming a finished run changes nothing it reported.
  REQUIRE(run_cli({"run", "--resume", base + "/full"}, base + "/again.log") == 0);
  json c = read_json(base + "/full/report.json");
  CHECK(c["data"] == a["data"]);
  CHECK(c["phases"].size() == a["phases"].size());
  CHECK(c["final"]["loss"] == a["final"]["loss"]);

  // "last" (the default) keeps each phase's newest epoch only.
  cfg["keep_checkpoints"] = "last";
  std::ofstream(cfg_path) << cfg.dump(2);
  REQUIRE(run_cli({"run", cfg_path, "--out", base + "/last"}, base + "/last.log") == 0);
  std::set<std::string> kept;
  for (const auto& e : fs::directory_iterator(base + "/last/checkpoints"))
    kept.insert(e.path().filename().string());
  CHECK(kept == std::set<std::string>{"train-2.safetensors", "convert-0.safetensors",
                                      "prune-2.safetensors", "finetune-1.safetensors",
                                      "eval-0.safetensors", "latest.safetensors"});
  fs::remove_all(base);
}

TEST_CASE("bench --tile 2 measures the Winograd rows and layers with F(2x2) tiles", "[app]") {
  REQUIRE(fs::exists(binary()));
  std::string base = temp_dir("bench-tile");
  fs::create_directories(base);
  auto bench_tile2 = [&](const std::string& suite) {
    const std::string out = base + "/" + suite + ".json";
    REQUIRE(run_cli({"bench", "--suite", suite, "--quick", "--tile", "2", "--json", out},
                    base + "/log") == 0);
    return read_json(out);
  };
  json j = bench_tile2("conv");
  int ours = 0;
  std::set<std::string> with_direct;   // "layer/groups/batch" with an onednn-direct row
  for (const json& row : j["results"]) {
    const std::string algo = row["algo"];
    const std::string config = row["layer"].get<std::string>() + "/" + row["groups"].dump() +
                               "/" + row["batch"].dump();
    if (algo == "onednn-direct") with_direct.insert(config);
    if (algo == "sparse-winograd" || algo == "dense-winograd") {
      REQUIRE(row["tile"] == 2);
      ++ours;
    } else {
      REQUIRE_FALSE(row.contains("tile"));   // oneDNN rows have no tile of ours
    }
    // The sparse rows' speedup from alternated runs, where oneDNN has a direct convolution.
    if (algo == "sparse-winograd") {
      REQUIRE(row.contains("x_direct_paired") == (with_direct.count(config) > 0));
      if (row.contains("x_direct_paired")) REQUIRE(row["x_direct_paired"].get<double>() > 0.0);
    } else {
      REQUIRE_FALSE(row.contains("x_direct_paired"));
    }
  }
  REQUIRE(ours >= 2);
  REQUIRE_FALSE(with_direct.empty());
  // The train suite's Winograd layers take the tile too (the model's own conv2 reports it).
  json t = bench_tile2("train");
  int winograd_rows = 0;
  for (const json& row : t["results"]) {
    if (row["variant"] == "spatial") {
      REQUIRE(row["tile"].is_null());
    } else {
      REQUIRE(row["tile"] == 2);
      ++winograd_rows;
    }
    // Masked rows also carry the ratio from alternated steps of the two models (one pair at
    // --quick); the spatial and winograd rows have none.
    if (row["variant"] == "spatial" || row["variant"] == "winograd") {
      REQUIRE_FALSE(row.contains("step_vs_winograd_paired"));
    } else {
      REQUIRE(row["step_vs_winograd_paired"].get<double>() > 0.0);
      REQUIRE(row["paired_runs"] == 1);
    }
  }
  REQUIRE(winograd_rows == 8);   // winograd, finetune-dense, finetune 90% and 95%, two models
  // And the layer suite's Winograd and masked layers (conv2 is the 5x5 one).
  json l = bench_tile2("layer");
  int layer_rows = 0;
  for (const json& row : l["results"]) {
    if (row["impl"] == "spatial") {
      REQUIRE(row["tile"].is_null());
    } else {
      REQUIRE(row["tile"] == (row["layer"] == "conv2" ? "F(2x2,5x5)" : "F(2x2,3x3)"));
      ++layer_rows;
    }
  }
  REQUIRE(layer_rows == 32);   // winograd and masked, forward and forward+backward, 8 layers
  fs::remove_all(base);
}

TEST_CASE("the CLI maps bad input to exit status 2 with the path named", "[app]") {
  REQUIRE(fs::exists(binary()));
  std::string base = temp_dir("cli");
  fs::create_directories(base);
  std::string cfg_path = base + "/bad.json";
  json cfg = tiny_pipeline();
  cfg["phases"][2]["pruners"]["agp"]["final_sparsity"] = 1.5;
  std::ofstream(cfg_path) << cfg.dump();
  REQUIRE(run_cli({"run", cfg_path, "--out", base + "/x"}, base + "/log") == 2);
  REQUIRE_THAT(read_text(base + "/log"), Catch::Contains("phases[2].pruners.agp.final_sparsity"));
  REQUIRE_FALSE(fs::exists(base + "/x"));   // nothing created for a bad config

  REQUIRE(run_cli({"frobnicate"}, base + "/log") == 2);
  REQUIRE(run_cli({"bench", "--suite", "conv", "--tile", "3"}, base + "/log") == 2);
  REQUIRE_THAT(read_text(base + "/log"), Catch::Contains("--tile: expected 2 or 4, got 3"));
  // A list where one number is expected is an error, not its first value.
  REQUIRE(run_cli({"bench", "--suite", "conv", "--tile", "2,4"}, base + "/log") == 2);
  REQUIRE_THAT(read_text(base + "/log"), Catch::Contains("--tile: expected one number, got '2,4'"));
  REQUIRE(run_cli({"bench", "--suite", "conv", "--repeats", "0"}, base + "/log") == 2);
  REQUIRE(run_cli({"run", base + "/missing.json"}, base + "/log") == 2);
  REQUIRE(run_cli({"eval", base + "/bad.json"}, base + "/log") == 2);   // not a checkpoint
  REQUIRE(run_cli({"--help"}, base + "/log") == 0);
  // Numbers and bytes the JSON library refuses: exit 2 naming the file or the option.
  std::ofstream(base + "/huge.json") << R"({"seed": 1e400})";
  REQUIRE(run_cli({"run", base + "/huge.json"}, base + "/log") == 2);
  REQUIRE_THAT(read_text(base + "/log"), Catch::Contains("huge.json"));
  REQUIRE(run_cli({"run", cfg_path, "--set", "phases[99999999999999999999].epochs=1"}, base + "/log") == 2);
  REQUIRE_THAT(read_text(base + "/log"), Catch::Contains("out of range"));
  REQUIRE(run_cli({"run", cfg_path, "--set", "name=\xff\xfe"}, base + "/log") == 2);
  REQUIRE_THAT(read_text(base + "/log"), Catch::Contains("not valid UTF-8"));
  // Nesting: a config of 20000 nested arrays overflowed the stack (fuzzing, under ASan); any
  // JSON deeper than 64 levels is refused while parsing, in a file or a --set value.
  std::ofstream(base + "/deep.json") << std::string(20000, '[') << std::string(20000, ']');
  REQUIRE(run_cli({"run", base + "/deep.json"}, base + "/log") == 2);
  REQUIRE_THAT(read_text(base + "/log"), Catch::Contains("deep.json: not valid JSON: nested deeper than 64 levels"));
  REQUIRE(run_cli({"run", cfg_path, "--set", "name=" + std::string(100, '[') + std::string(100, ']')},
                  base + "/log") == 2);
  REQUIRE_THAT(read_text(base + "/log"), Catch::Contains("nested deeper than 64 levels"));
  fs::remove_all(base);
}

TEST_CASE("json_parse_bounded: documents up to 64 levels deep, nothing deeper", "[app]") {
  auto nested = [](int levels) { return std::string(size_t(levels), '[') + std::string(size_t(levels), ']'); };
  std::string why;
  CHECK_FALSE(json_parse_bounded(nested(64), &why).is_discarded());
  CHECK(json_parse_bounded(nested(65), &why).is_discarded());
  CHECK(why == "nested deeper than 64 levels");
  CHECK(json_parse_bounded(nested(100000), &why).is_discarded());
  // Objects count as levels too, and what is shallow parses to the same value as nlohmann's.
  std::string objects;
  for (int i = 0; i < 70; ++i) objects += "{\"a\":";
  objects += "1" + std::string(70, '}');
  CHECK(json_parse_bounded(objects, &why).is_discarded());
  const std::string config = R"({"a": [1, {"b": [2.5, "x", null]}], "c": true})";
  CHECK(json_parse_bounded(config) == json::parse(config));
  CHECK(json_parse_bounded("{\"seed\": 1e400}", &why).is_discarded());
  CHECK(json_parse_bounded("[1, 2", &why).is_discarded());
}

// Issue-level cases of "fail fast": each plan below is wrong, and the run must stop before its
// first training step (no run directory, exit 2, the JSON path in the message).
TEST_CASE("a plan that cannot do what its config says stops before the first step", "[app][plan]") {
  if (!fs::exists(kFmnist)) {
    WARN("SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  std::string base = temp_dir("plan");
  fs::create_directories(base);
  auto refused = [&](json cfg, const std::vector<std::string>& sets, const std::string& expect) {
    std::string cfg_path = base + "/cfg.json";
    std::ofstream(cfg_path) << cfg.dump(2);
    std::vector<std::string> args = {"run", cfg_path, "--out", base + "/out"};
    for (const auto& s : sets) args.insert(args.end(), {"--set", s});
    int code = run_cli(args, base + "/log");
    std::string log = read_text(base + "/log");
    INFO(log);
    CHECK(code == 2);
    CHECK_THAT(log, Catch::Contains(expect));
    CHECK_FALSE(fs::exists(base + "/out"));
    CHECK(log.find("epoch 1/") == std::string::npos);   // no training step ran
  };
  // The quickstart shrunk as a smoke test: its iteration window (end 351) outlives the phase.
  refused(read_json_file(std::string(WINOPRUNE_SOURCE_DIR) + "/configs/quickstart.json"),
          {"data.train.limit=2000", "phases[0].epochs=1", "phases[2].epochs=1",
           "phases[3].epochs=1"},
          "phases[2].policies[0].end: the phase has 15 iterations (1 epochs x 15) and end is "
          "exclusive, got 351");
  // Pruning "winograd" layers before any convert phase.
  json no_convert = tiny_pipeline();
  no_convert["phases"].erase(1);
  refused(no_convert, {}, "phases[1].pruners.agp.layers");
  // A layer the model does not have.
  refused(tiny_pipeline(), {"phases[2].pruners.agp.layers=[\"conv9\"]"}, "no weight layer \"conv9\"");
  // A 1000-class model on a 10-class dataset.
  refused(tiny_pipeline(), {"model.classes=1000"}, "model.classes: the validation split has 10 classes");
  // An iteration window longer than the phase (the threshold config's target mode).
  refused(tiny_pipeline(), {"phases[2].policies[0].end=5000"}, "phases[2].policies[0].end");
  fs::remove_all(base);
}

TEST_CASE("the CLI: non-finite loss, SIGINT, eval of a run directory or a JSON file, report of "
          "a killed run, --dry-run",
          "[app][plan]") {
  if (!fs::exists(kFmnist)) {
    WARN("SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  std::string base = temp_dir("cli-run");
  fs::create_directories(base);
  json cfg = tiny_pipeline();
  cfg["threads"] = 1;
  cfg["phases"][2]["policies"][0]["end"] = 160;   // 2 epochs x 80 iterations
  std::string cfg_path = base + "/cfg.json";
  std::ofstream(cfg_path) << cfg.dump(2);

  // A train phase whose loss diverges stops with the phase named (exit 1).
  REQUIRE(run_cli({"run", cfg_path, "--out", base + "/nan", "--set", "phases[0].optimizer.lr=500"},
                  base + "/nan.log") == 1);
  CHECK_THAT(read_text(base + "/nan.log"), Catch::Contains("phases[0]: the "));
  CHECK_THAT(read_text(base + "/nan.log"), Catch::Contains("loss became"));

  // --dry-run prints the plan and writes nothing.
  REQUIRE(run_cli({"run", cfg_path, "--out", base + "/dry", "--dry-run"}, base + "/dry.log") == 0);
  CHECK_THAT(read_text(base + "/dry.log"), Catch::Contains("planned sparsity at epoch end"));
  CHECK_FALSE(fs::exists(base + "/dry"));

  // SIGINT: a checkpoint of the step just finished, the resume hint, exit 130; then a resume
  // that ends the run.
  pid_t pid = spawn_cli({"run", cfg_path, "--out", base + "/int", "--set", "log_every=4"},
                        base + "/int.log");
  REQUIRE(pid >= 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(base + "/int/checkpoints/train-1.safetensors") &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK_THAT(read_text(base + "/int.log"),
             Catch::Contains("interrupted; resume with: winoprune run --resume " + base + "/int"));
  bool temp_left = false;
  for (const auto& e : fs::directory_iterator(base + "/int/checkpoints"))
    temp_left = temp_left || e.path().string().find(".tmp") != std::string::npos;
  CHECK_FALSE(temp_left);

  // report of the interrupted run renders what metrics.jsonl holds.
  REQUIRE(run_cli({"report", base + "/int"}, base + "/report.log") == 0);
  CHECK_THAT(read_text(base + "/report.log"), Catch::Contains("has not finished"));
  CHECK_THAT(read_text(base + "/int/report.md"), Catch::Contains("| 1. train | 1 |"));

  REQUIRE(run_cli({"run", "--resume", base + "/int"}, base + "/resume.log") == 0);
  CHECK(fs::exists(base + "/int/report.json"));
  // Provenance: what was run, where and when (the first start survives the resume).
  json prov = read_json(base + "/int/report.json")["provenance"];
  INFO(prov.dump(2));
  CHECK_THAT(prov["version"].get<std::string>(), Catch::StartsWith("0.1.0 ("));
  CHECK_THAT(prov["command"].get<std::string>(), Catch::Contains("winoprune run --resume"));
  CHECK(prov["seed"] == 5);
  CHECK(prov["threads"] == 1);
  CHECK(prov["ranks"] == 1);
  CHECK_FALSE(prov["isa"].get<std::string>().empty());
  CHECK_FALSE(prov["cpu"].get<std::string>().empty());
  CHECK(prov["started"].get<std::string>().size() == 20);   // 2026-12-02T10:51:10Z
  CHECK(prov["started"] <= prov["finished"]);
  CHECK_THAT(read_text(base + "/int/report.md"), Catch::Contains("## Provenance"));
  // A fresh run records its own command line and overrides.
  REQUIRE(run_cli({"run", cfg_path, "--out", base + "/prov", "--set", "phases[0].epochs=0",
                   "--set", "phases[2].epochs=1", "--set", "phases[2].policies[0].end=80",
                   "--set", "phases[3].epochs=0"}, base + "/prov.log") == 0);
  json fresh = read_json(base + "/prov/report.json")["provenance"];
  CHECK(fresh["overrides"] == json::array({"phases[0].epochs=0", "phases[2].epochs=1",
                                           "phases[2].policies[0].end=80", "phases[3].epochs=0"}));
  CHECK(fresh["config"] == cfg_path);
  CHECK_THAT(fresh["command"].get<std::string>(), Catch::Contains("--set 'phases[0].epochs=0'"));

  // eval of a run directory uses its latest checkpoint; a JSON file is named as not a checkpoint.
  REQUIRE(run_cli({"eval", base + "/int", "--kernel", "dense"}, base + "/eval.log") == 0);
  CHECK_THAT(read_text(base + "/eval.log"), Catch::Contains("latest.safetensors"));
  REQUIRE(run_cli({"eval", cfg_path}, base + "/evaljson.log") == 2);
  CHECK_THAT(read_text(base + "/evaljson.log"), Catch::Contains("not a safetensors file"));
  fs::create_directories(base + "/empty");
  REQUIRE(run_cli({"eval", base + "/empty"}, base + "/evaldir.log") == 2);
  CHECK_THAT(read_text(base + "/evaldir.log"), Catch::Contains("a directory, not a checkpoint"));

  // The pruned run's own model measured: bench --suite net --checkpoint, --masks-from, and
  // report --bench. Rows are checked for what they say, never for a time.
  const std::string ckpt = base + "/int/checkpoints/latest.safetensors";
  REQUIRE(run_cli({"bench", "--suite", "net", "--checkpoint", ckpt, "--quick", "--batch", "2",
                   "--json", base + "/net.json"}, base + "/net.log") == 0);
  json net = read_json(base + "/net.json");
  CHECK(net["suite"] == "net");
  CHECK(net["checkpoint"] == ckpt);
  std::set<std::string> seen;
  for (const json& row : net["results"]) {
    seen.insert(row["layer"].get<std::string>() + "/" +
                row.value("algo", row.value("kernel", std::string())));
    CHECK(row["batch"] == 2);
    CHECK(row["ms"].get<double>() > 0);
    if (row["layer"] != "net") CHECK(row["sparsity"].get<double>() == Approx(0.6).margin(1e-3));
  }
  for (const char* l : {"conv2", "conv3", "conv4", "conv5"})
    for (const char* a : {"sparse-winograd", "dense-winograd", "onednn-direct"})
      CHECK(seen.count(std::string(l) + "/" + a));
  CHECK(seen.count("net/sparse"));
  CHECK(seen.count("net/dense"));

  REQUIRE(run_cli({"bench", "--suite", "conv", "--masks-from", ckpt, "--quick", "--json",
                   base + "/conv.json"}, base + "/conv.log") == 0);
  json conv = read_json(base + "/conv.json");
  int sparse_rows = 0;
  for (const json& row : conv["results"])
    if (row["algo"] == "sparse-winograd") {
      ++sparse_rows;
      CHECK(row["masks_from"] == ckpt);
      // conv3's positions of the 60%-sparse checkpoint laid onto AlexNet's conv3 shape.
      CHECK(row["sparsity"].get<double>() == Approx(0.6).margin(0.01));
      CHECK(row["tile"] == 4);
    }
  CHECK(sparse_rows == 1);   // --quick: conv3, groups 1, batch 1
  REQUIRE(run_cli({"bench", "--suite", "layer", "--masks-from", ckpt}, base + "/bad.log") == 2);

  REQUIRE(run_cli({"report", base + "/int", "--bench"}, base + "/rb.log") == 0);
  json rb = read_json(base + "/int/report.json");
  int benched = 0;
  for (const json& l : rb["layers"])
    if (l["kind"] == "winograd") {
      ++benched;
      CHECK(l["bench_batch"] == 32);
      CHECK(l["speedup_vs_direct"].get<double>() ==
            Approx(l["direct_ms"].get<double>() / l["sparse_ms"].get<double>()));
    }
  CHECK(benched == 4);
  CHECK_THAT(read_text(base + "/int/report.md"), Catch::Contains("x oneDNN direct"));
  CHECK_THAT(read_text(base + "/int/layers.csv"), Catch::Contains("speedup_vs_direct"));

  // The run's results are on stdout, its progress on stderr.
  std::string out_only = base + "/stdout.log";
  std::string cmd = binary() + " run --resume '" + base + "/int' 2>/dev/null > '" + out_only + "'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  CHECK_THAT(read_text(out_only), Catch::Contains("final top-1"));
  CHECK(read_text(out_only).find("== phase") == std::string::npos);
  fs::remove_all(base);
}

TEST_CASE("the planned sparsity at each epoch end is what the run reaches", "[app][plan]") {
  if (!fs::exists(kFmnist)) {
    WARN("SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  for (const char* kind : {"gradual", "threshold"}) {
    INFO(kind);
    json j = tiny_pipeline();
    j["threads"] = 1;
    j["data"]["train"]["limit"] = 640;   // 20 iterations per epoch
    j["phases"][2]["epochs"] = 3;
    if (std::string(kind) == "gradual") {
      j["phases"][2]["policies"][0] = json{{"pruner", "agp"}, {"unit", "iteration"},
                                          {"start", 5}, {"end", 50}, {"frequency", 5}};
    } else {
      j["phases"][2]["pruners"] = json{{"agp", {{"type", "threshold"}, {"layers", "winograd"},
                                                {"final_sparsity", 0.6}, {"l1", 1e-5}}}};
      j["phases"][2]["policies"][0] = json{{"pruner", "agp"}, {"unit", "iteration"},
                                          {"start", 0}, {"end", 45}};
    }
    ExperimentConfig cfg = parse_experiment(j, "tiny.json");
    auto train = std::shared_ptr<Dataset>(open_dataset(cfg.data, Split::train));
    auto val = std::shared_ptr<Dataset>(open_dataset(cfg.data, Split::val));
    ExperimentPlan plan = plan_experiment(cfg, train.get(), *val);
    const PhasePlan& prune = plan.phases[2];
    REQUIRE(prune.iters_per_epoch == 20);
    REQUIRE(prune.epoch_targets.size() == 3);

    std::string out = temp_dir(std::string("planned-") + kind);
    std::ostringstream log, results;
    RunOptions opt;
    opt.log = &log;
    opt.out = &results;
    opt.train = train, opt.val = val, opt.plan = &plan;
    Report rep = run_experiment(cfg, create_run_dir(out, false), opt);
    INFO(log.str());
    int compared = 0;
    for (const MetricsRecord& r : read_metrics(out + "/metrics.jsonl")) {
      if (r.split != "val" || r.phase_index != 2 || r.epoch < 1) continue;
      for (const PlannedTarget& t : prune.epoch_targets[size_t(r.epoch - 1)]) {
        REQUIRE(t.layers.size() == 1);
        REQUIRE(t.sparsity);
        // Mask pruners and a closed threshold window: counts llround(s * params), within a
        // weight or two of s. An open threshold window: at least the target of its last cut.
        const double got = r.sparsity.at(t.layers[0]);
        if (std::string(kind) == "gradual" || r.epoch == 3) {
          CHECK(got == Approx(*t.sparsity).margin(1e-4));
        } else {
          CHECK(got >= *t.sparsity - 1e-4);
          CHECK(got <= *t.sparsity + 0.03);
        }
        ++compared;
      }
    }
    CHECK(compared == 3 * 4);
    for (const LayerReport& l : rep.layers)
      if (l.kind == "winograd") CHECK(l.target_sparsity == Approx(0.6));
    fs::remove_all(out);
  }
}

TEST_CASE("compare: runs side by side, the differing keys, figures from each report.json",
          "[app][compare]") {
  if (!fs::exists(kFmnist)) {
    WARN("SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  std::string base = temp_dir("compare");
  fs::create_directories(base);
  json cfg = short_pipeline();
  std::string cfg_path = base + "/cfg.json";
  std::ofstream(cfg_path) << cfg.dump(2);
  std::vector<std::string> runs;
  for (const char* s : {"0.5", "0.6", "0.7"}) {
    runs.push_back(base + "/sweep-" + s);
    REQUIRE(run_cli({"run", cfg_path, "--out", runs.back(), "--set",
                     std::string("phases[2].pruners.agp.final_sparsity=") + s},
                    base + "/run.log") == 0);
  }
  std::vector<std::string> args = {"compare"};
  args.insert(args.end(), runs.begin(), runs.end());
  args.insert(args.end(), {"--csv", base + "/c.csv", "--md", base + "/c.md", "--plots", base + "/plots"});
  REQUIRE(run_cli(args, base + "/compare.log") == 0);
  const std::string table = read_text(base + "/compare.log");
  INFO(table);
  CHECK_THAT(table, Catch::Contains("phases[2].pruners.agp.final_sparsity=0.6"));
  // The CSV's figures are each run's report.json's.
  std::istringstream csv(read_text(base + "/c.csv"));
  std::string header, line;
  std::getline(csv, header);
  CHECK(header.rfind("run,differs,seed,conv2,conv3,conv4,conv5,total sparsity,baseline top-1,", 0) == 0);
  for (const std::string& run : runs) {
    REQUIRE(std::getline(csv, line));
    std::vector<std::string> f;
    std::stringstream ls(line);
    for (std::string cell; std::getline(ls, cell, ',');) f.push_back(cell);
    REQUIRE(f.size() == 14);
    json rep = read_json(run + "/report.json");
    CHECK(f[0] == fs::path(run).filename().string());
    CHECK(f[2] == "5");
    CHECK(std::stod(f[4]) == Approx(rep["layers"][2]["sparsity"].get<double>()).margin(1e-6));
    CHECK(std::stod(f[7]) == Approx(rep["total"]["sparsity"].get<double>()).margin(1e-6));
    CHECK(std::stod(f[8]) == Approx(rep["baseline"]["top1"].get<double>()).margin(1e-6));
    CHECK(std::stod(f[10]) == Approx(rep["final"]["top1"].get<double>()).margin(1e-6));
    CHECK(std::stod(f[11]) == Approx(rep["final"]["top5"].get<double>()).margin(1e-6));
  }
  CHECK_THAT(read_text(base + "/c.md"), Catch::Contains("| run | differs | seed |"));
  for (const char* svg : {"compare-sparsity.svg", "compare-top1.svg"})
    CHECK_THAT(read_text(base + "/plots/" + svg), Catch::Contains("sweep-0.7"));
  // One run is not a comparison; a directory without report.json is named.
  CHECK(run_cli({"compare", runs[0]}, base + "/one.log") == 2);
  fs::create_directories(base + "/empty");
  CHECK(run_cli({"compare", runs[0], base + "/empty"}, base + "/empty.log") == 2);
  CHECK_THAT(read_text(base + "/empty.log"), Catch::Contains("empty/config.json"));
  fs::remove_all(base);
}

TEST_CASE("export: an inference-only model, smaller than the checkpoint, evaluates the same",
          "[app][export]") {
  if (!fs::exists(kFmnist)) {
    WARN("SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  std::string base = temp_dir("export");
  fs::create_directories(base);
  json cfg = short_pipeline();
  cfg["phases"][2]["pruners"]["agp"]["final_sparsity"] = 0.9;
  std::string cfg_path = base + "/cfg.json";
  std::ofstream(cfg_path) << cfg.dump(2);
  REQUIRE(run_cli({"run", cfg_path, "--out", base + "/run"}, base + "/run.log") == 0);
  const std::string ckpt = base + "/run/checkpoints/latest.safetensors", model = base + "/m.safetensors";
  REQUIRE(run_cli({"export", base + "/run", "--out", model}, base + "/export.log") == 0);
  CHECK(fs::file_size(model) * 3 < fs::file_size(ckpt));   // 90% sparse: several times smaller
  SafeTensorsFile f = read_safetensors(model);
  CHECK(f.meta("format") == "winoprune-export-1");
  CHECK_FALSE(f.has("conv3.weight"));                      // only its CSR
  CHECK(f.has("conv3.weight.csr.values"));
  CHECK_FALSE(f.has("conv3.weight.mask"));
  CHECK_FALSE(f.has("fc6.weight.momentum"));
  // The same weights back: every Winograd coefficient, zeros included.
  {
    Rng rng(1, 1);
    SafeTensorsFile c = read_safetensors(ckpt);
    auto a = build_model(checkpoint_model_config(c), rng);
    auto b = build_model(checkpoint_model_config(f), rng);
    load_checkpoint_into(c, *a, false);
    load_checkpoint_into(f, *b, false);
    for (size_t i = 0; i < a->parameters().size(); ++i)
      CHECK(a->parameters()[i]->value().to_vector() == b->parameters()[i]->value().to_vector());
  }
  REQUIRE(run_cli({"eval", ckpt, "--json", base + "/a.json"}, base + "/a.log") == 0);
  REQUIRE(run_cli({"eval", model, "--json", base + "/b.json"}, base + "/b.log") == 0);
  json ea = read_json(base + "/a.json"), eb = read_json(base + "/b.json");
  CHECK(eb["kernel"] == "sparse");
  CHECK(ea["top1"] == eb["top1"]);
  CHECK(ea["loss"] == eb["loss"]);

  // predict: Fashion-MNIST test images as PNG files (lossless: the very pixels of the IDX
  // files), classified by the checkpoint and by the export alike, with Fashion-MNIST's class
  // names, and exactly as the model classifies those IDX images (the same preprocessing).
  FashionMnistExportOptions fo;
  fo.format = "png";
  fo.limit = 40;
  export_fashion_mnist_folder(base + "/jpg", fo);
  REQUIRE(run_cli({"predict", ckpt, base + "/jpg/val", "--top", "3", "--json", base + "/p1.json"},
                  base + "/p1.log") == 0);
  REQUIRE(run_cli({"predict", model, base + "/jpg/val", "--top", "3", "--json", base + "/p2.json"},
                  base + "/p2.log") == 0);
  json p1 = read_json(base + "/p1.json"), p2 = read_json(base + "/p2.json");
  REQUIRE(p1.size() == 40);
  int correct = 0;
  for (size_t i = 0; i < p1.size(); ++i) {
    CHECK(p1[i]["top"][0]["class"] == p2[i]["top"][0]["class"]);
    CHECK(p1[i]["top"].size() == 3);
    double sum = 0;
    for (const json& t : p1[i]["top"]) sum += t["probability"].get<double>();
    CHECK(sum <= 1.0 + 1e-9);
    const std::string dir = fs::path(p1[i]["file"].get<std::string>()).parent_path().filename().string();
    correct += p1[i]["top"][0]["class"].get<int>() == std::stoi(dir.substr(0, dir.find('_')));
  }
  CHECK(p1[0]["top"][0]["name"].get<std::string>().size() > 1);   // a class name, not a number
  // The same 40 test images from the IDX files through the model: predict's image-file path
  // must give the same class for every one (a preprocessing mistake would not).
  {
    Rng rng(1, 1);
    SafeTensorsFile c = read_safetensors(ckpt);
    auto net = build_model(checkpoint_model_config(c), rng);
    load_checkpoint_into(c, *net, false);
    ExperimentConfig x = parse_experiment(cfg, "cfg.json");
    x.data.val.limit = 0;
    std::unique_ptr<Dataset> idx = open_dataset(x.data, Split::val);
    NoGradGuard no_grad;
    net->prepare_inference(InferenceKernel::sparse);
    ForwardContext ctx;
    ctx.kernel = InferenceKernel::sparse;
    int agree = 0, idx_correct = 0;
    for (int64_t i = 0; i < 40; ++i) {
      Tensor img = Tensor::empty({1, 1, 28, 28});
      Rng unused(0, 1);
      REQUIRE(idx->load(i, false, unused, img.data()));
      Tensor logits = net->forward(leaf(img), ctx)->value;
      const int best = int(std::max_element(logits.data(), logits.data() + logits.numel()) - logits.data());
      idx_correct += best == idx->label(i);
      // p1 lists files sorted by class folder, then name (val_<index>)
      for (const json& r : p1)
        if (r["file"].get<std::string>().find("val_" + std::string(5 - std::to_string(i).size(), '0') +
                                                 std::to_string(i) + ".png") != std::string::npos)
          agree += r["top"][0]["class"].get<int>() == best;
    }
    INFO("PNG top-1 " << correct << "/40, IDX top-1 " << idx_correct << "/40, agree " << agree);
    CHECK(agree == 40);
    CHECK(correct == idx_correct);
  }
  fs::remove_all(base);
}

TEST_CASE("a checkpoint write that fails partway (disk full) ends the run with exit 1, keeps the "
          "previous checkpoint, leaves no temp file, and the run resumes to the same result",
          "[app][e2e]") {
  if (!fs::exists(kFmnist)) {
    WARN("SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  REQUIRE(fs::exists(binary()));
  std::string base = temp_dir("write-fault");
  fs::create_directories(base);
  std::string cfg_path = base + "/cfg.json";
  std::ofstream(cfg_path) << short_pipeline().dump(2);
  REQUIRE(run_cli({"run", cfg_path, "--out", base + "/full"}, base + "/full.log") == 0);

  // Checkpoint writes of this plan: train-1, convert-0, prune-1, eval-0. The second one fails
  // after half of its first block is on disk.
  ::setenv("WINOPRUNE_FAIL_WRITE", "2:checkpoints/", 1);
  int status = run_cli({"run", cfg_path, "--out", base + "/faulty"}, base + "/faulty.log");
  ::unsetenv("WINOPRUNE_FAIL_WRITE");
  std::string log = read_text(base + "/faulty.log");
  INFO(log);
  REQUIRE(status == 1);
  REQUIRE(log.find("convert-0.safetensors") != std::string::npos);
  REQUIRE(log.find("No space left on device") != std::string::npos);
  const std::string ckpts = base + "/faulty/checkpoints";
  for (const auto& e : fs::directory_iterator(ckpts))
    REQUIRE(e.path().filename().string().find(".tmp") == std::string::npos);
  REQUIRE_FALSE(fs::exists(ckpts + "/convert-0.safetensors"));
  REQUIRE_FALSE(fs::exists(base + "/faulty/report.json"));
  // The previous checkpoint is whole: it parses and is what latest points at.
  SafeTensorsFile previous = read_safetensors(ckpts + "/train-1.safetensors");
  REQUIRE(checkpoint_run_state(previous).phase_done);
  REQUIRE(fs::file_size(ckpts + "/latest.safetensors") ==
          fs::file_size(ckpts + "/train-1.safetensors"));

  // With the fault gone the run resumes and ends as the uninterrupted one.
  REQUIRE(run_cli({"run", "--resume", base + "/faulty"}, base + "/resumed.log") == 0);
  json a = read_json(base + "/full/report.json");
  json b = read_json(base + "/faulty/report.json");
  REQUIRE(a["final"]["top1"] == b["final"]["top1"]);
  REQUIRE(a["final"]["loss"] == b["final"]["loss"]);
  REQUIRE(a["layers"] == b["layers"]);

  // A report write that fails is the same kind of failure: exit 1, the file named, the old
  // file intact, no temp file.
  const std::string md_before = read_text(base + "/full/report.md");
  ::setenv("WINOPRUNE_FAIL_WRITE", "1:report.md", 1);
  status = run_cli({"report", base + "/full"}, base + "/report.log");
  ::unsetenv("WINOPRUNE_FAIL_WRITE");
  INFO(read_text(base + "/report.log"));
  REQUIRE(status == 1);
  REQUIRE(read_text(base + "/report.log").find("report.md") != std::string::npos);
  for (const auto& e : fs::directory_iterator(base + "/full"))
    REQUIRE(e.path().filename().string().find(".tmp") == std::string::npos);
  REQUIRE(read_text(base + "/full/report.md") == md_before);
  REQUIRE(read_json(base + "/full/report.json") == a);
  fs::remove_all(base);
}

TEST_CASE("data.accumulate: a step in slices computes the whole batch's gradient", "[app][accumulate]") {
  if (!fs::exists(kFmnist)) {
    WARN("SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  // The same run with each batch of 32 whole and in 4 slices of 8: the first step sees the same
  // weights (its loss is the batch mean either way), the second the weights after one update
  // from the summed slice gradients. Up to float summation order they must agree; one slice's
  // gradient alone, or the slices' sum instead of their mean, moves the second loss by far more.
  const std::string base = temp_dir("accumulate");
  fs::create_directories(base);
  auto run = [&](int accumulate) {
    json cfg = short_pipeline();
    cfg["log_every"] = 1;
    cfg["data"]["accumulate"] = accumulate;
    const std::string dir = base + "/acc" + std::to_string(accumulate);
    std::ofstream(dir + ".json") << cfg.dump(2);
    REQUIRE(run_cli({"run", dir + ".json", "--out", dir}, dir + ".log") == 0);
    return read_metrics(dir + "/metrics.jsonl");
  };
  auto whole = run(1), sliced = run(4);
  REQUIRE(whole.size() == sliced.size());
  REQUIRE(whole[0].step == 1);
  REQUIRE(whole[1].step == 2);
  CHECK(sliced[0].loss == Approx(whole[0].loss).epsilon(1e-6));
  CHECK(sliced[1].loss == Approx(whole[1].loss).epsilon(1e-5));
  CHECK(sliced[1].loss != Approx(whole[0].loss).epsilon(1e-3));   // the update moved it
  fs::remove_all(base);
}
