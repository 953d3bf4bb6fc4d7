// Every shipped config parses (the data root of image-folder configs given as users do).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "support.h"
#include "winoprune/app/experiment.h"
#include "winoprune/app/overrides.h"
#include "winoprune/data/tools.h"

using namespace wp;
namespace fs = std::filesystem;

TEST_CASE("every config in configs/ is valid", "[app]") {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(std::string(WINOPRUNE_SOURCE_DIR) + "/configs")) {
    if (entry.path().extension() != ".json") continue;
    INFO(entry.path().string());
    json j = read_json_file(entry.path().string());
    if (j.contains("data") && j["data"].value("dataset", "") == "imagefolder")
      apply_override(j, "data.root=/data/imagenet");
    ExperimentConfig x = parse_experiment(j, entry.path().string());
    REQUIRE(!x.phases.empty());
    REQUIRE(x.name == entry.path().stem().string());   // the run directory is named after it
    ++n;
  }
  REQUIRE(n >= 2);
}

TEST_CASE("run --dry-run checks and prints the plan of every config in configs/", "[app][plan]") {
  const std::string fmnist = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
  if (!fs::exists(fmnist)) {
    WARN("SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  // Image-folder configs get a small synthetic tree as their data root: 10 classes, 260
  // training images (the ImageNet configs' batch is 256); the 1000-class ones are told the
  // tree is a subset.
  std::string base = (fs::temp_directory_path() / ("winoprune-dry-" + std::to_string(::getpid()))).string();
  fs::remove_all(base);
  SyntheticTreeOptions tree;
  tree.classes = 10;
  tree.train_per_class = 26;
  tree.val_per_class = 2;
  make_synthetic_imagenet(base + "/tree", tree);
  const std::string bin = std::string(WINOPRUNE_BINARY_DIR) + "/tools/winoprune";
  int n = 0;
  for (const auto& entry : fs::directory_iterator(std::string(WINOPRUNE_SOURCE_DIR) + "/configs")) {
    if (entry.path().extension() != ".json") continue;
    json j = read_json_file(entry.path().string());
    std::string cmd = bin + " run '" + entry.path().string() + "' --dry-run";
    if (j["data"].value("dataset", "") == "imagefolder") {
      cmd += " --set data.root=" + base + "/tree";
      if (j["model"].value("classes", 10) != 10) cmd += " --set data.allow_fewer_classes=true";
    }
    const std::string log = base + "/" + entry.path().stem().string() + ".log";
    cmd += " > '" + log + "' 2>&1";
    int st = std::system(cmd.c_str());
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(cmd << "\n" << text);
    CHECK(WIFEXITED(st));
    CHECK(WEXITSTATUS(st) == 0);
    CHECK_THAT(text, Catch::Contains("plan of " + entry.path().stem().string()));
    CHECK_THAT(text, Catch::Contains("phase 1 "));
    ++n;
  }
  CHECK(n >= 10);
  fs::remove_all(base);
}
