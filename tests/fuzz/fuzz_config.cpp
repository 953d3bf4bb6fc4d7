// Fuzz harness: the whole config path of `winoprune run` before its first step: the file's JSON
// (syntax, UTF-8, number ranges), parse_experiment (every key's type and range), then
// plan_experiment (models built phase by phase, layer selections, pruning windows against the
// iterations, the plan's sparsity targets) against a small in-memory dataset of the config's
// class count.
//
// Two limits keep an iteration to milliseconds and the fuzzer's memory bounded; they gate only
// what the harness plans, not what it parses: the model must have at most 20 million weights
// (the plan builds it), and phases that read files (init checkpoints, distillation teachers
// given as paths) are not planned.
#include <algorithm>

#include "harness.h"
#include "winoprune/app/experiment.h"
#include "winoprune/app/plan.h"
#include "winoprune/data/dataset.h"

namespace {

// n samples of the config's image shape, labels i % classes; never loaded by the plan.
class PlanDataset final : public wp::Dataset {
 public:
  PlanDataset(const wp::DataConfig& config, wp::Split split, int64_t n, int classes)
      : Dataset(config, split, [](const std::string&) {}), n_(n) {
    for (int c = 0; c < classes; ++c) names_.push_back("c" + std::to_string(c));
    base_stats_.images = n;
    base_stats_.classes = classes;
    base_stats_.class_counts.assign(size_t(classes), 0);
    for (int64_t i = 0; i < n; ++i) base_stats_.class_counts[size_t(i % classes)]++;
  }
  int64_t size() const override { return n_; }
  int classes() const override { return int(names_.size()); }
  wp::Shape image_shape() const override { return {1, 28, 28}; }
  const std::vector<std::string>& class_names() const override { return names_; }
  int32_t label(int64_t i) const override { return int32_t(i % classes()); }
  std::string sample_name(int64_t i) const override { return "fuzz[" + std::to_string(i) + "]"; }
  bool load(int64_t, bool, wp::Rng&, float*) const override { return false; }

 private:
  int64_t n_;
  std::vector<std::string> names_;
};

// Weights of a resolved alexnet(-small) config, counted in doubles so that no width overflows.
double weight_count(const wp::ModelConfig& config) {
  wp::ModelConfig m = wp::resolve_model_config(config);
  if (m.widths.size() != 5 || m.fc_widths.size() != 2) return 1e300;
  const double k[5] = {11, 5, 3, 3, 3};
  double in = m.input_channels, total = 0;
  for (int i = 0; i < 5; ++i) total += k[i] * k[i] * in * m.widths[size_t(i)], in = m.widths[size_t(i)];
  double side = m.input_size;   // an upper bound on the flattened fc6 input
  total += in * side * side * m.fc_widths[0] + double(m.fc_widths[0]) * m.fc_widths[1] +
           double(m.fc_widths[1]) * m.classes;
  return total;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return wp::fuzz::run_one([&] {
    wp::json raw = wp::parse_json_text(wp::fuzz::as_string(data, size), "fuzz.json");
    wp::ExperimentConfig cfg = wp::parse_experiment(raw, "fuzz.json");
    if (weight_count(cfg.model) > 2e7) return;
    for (const wp::PhaseConfig& p : cfg.phases)
      if (!p.init.empty() ||
          (p.training() && p.training()->distill && !p.training()->distill->teacher_is_phase))
        return;
    const int classes = cfg.model.classes;
    if (classes < 1) return;
    PlanDataset train(cfg.data, wp::Split::train, 1000, classes);
    PlanDataset val(cfg.data, wp::Split::val, 200, classes);
    (void)wp::plan_experiment(cfg, &train, val);
  });
}
