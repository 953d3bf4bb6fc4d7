// Every shipped config parses (the data root of image-folder configs given as users do).
#include <filesystem>

#include "support.h"
#include "winoprune/app/experiment.h"
#include "winoprune/app/overrides.h"

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
