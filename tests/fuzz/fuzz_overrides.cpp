// Fuzz harness: the --set parser. The input is split at newlines into assignments
// ("key.path=value"), applied one after another to the quick start's config, which is then
// validated as `run` validates it. Every assignment must either apply or fail with an InputError.
#include "harness.h"
#include "winoprune/app/experiment.h"
#include "winoprune/app/overrides.h"

namespace {

const char* const kBase = R"({
  "name": "fuzz", "seed": 1,
  "data": {"dataset": "fashion-mnist", "batch": 128},
  "model": {"arch": "alexnet-small"},
  "phases": [
    {"type": "train", "epochs": 2, "optimizer": {"lr": 0.02}},
    {"type": "convert", "layers": ["conv2", "conv3"], "m": 2},
    {"type": "prune", "epochs": 2,
     "pruners": {"p": {"type": "gradual", "layers": "winograd", "final_sparsity": 0.9}},
     "policies": [{"pruner": "p", "start": 0, "end": 1}]},
    {"type": "eval"}
  ]
})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return wp::fuzz::run_one([&] {
    wp::json config = wp::json::parse(kBase);
    std::string text = wp::fuzz::as_string(data, size);
    size_t begin = 0;
    while (begin <= text.size()) {
      size_t end = text.find('\n', begin);
      if (end == std::string::npos) end = text.size();
      wp::apply_override(config, text.substr(begin, end - begin));
      begin = end + 1;
    }
    (void)wp::parse_experiment(config, "fuzz.json");
  });
}
