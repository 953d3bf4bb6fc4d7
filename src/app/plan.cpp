// plan_experiment: the whole experiment checked before the first step (include/winoprune/app/plan.h).
#include "winoprune/app/plan.h"

#include <cstdio>
#include <map>
#include <set>

#include "winoprune/data/loader.h"
#include "winoprune/dist/dist.h"
#include "winoprune/error.h"
#include "winoprune/io/safetensors.h"
#include "winoprune/nn/model.h"
#include "winoprune/prune/sensitivity.h"

namespace wp {

namespace {

// Each split's classes against the model's.
void check_classes(const ExperimentConfig& cfg, const Dataset& data, const char* split) {
  const int have = data.classes(), want = cfg.model.classes;
  if (have > want)
    throw InputError(cfg.file + ": model.classes: the " + split + " split has " +
                     std::to_string(have) + " classes, more than the model's " +
                     std::to_string(want) + " outputs");
  if (have < want && !cfg.data.allow_fewer_classes)
    throw InputError(cfg.file + ": model.classes: the " + split + " split has " +
                     std::to_string(have) + " classes but the model has " + std::to_string(want) +
                     " outputs (set model.classes to " + std::to_string(have) +
                     ", or data.allow_fewer_classes to true to train on a subset)");
}

// An init checkpoint must hold every parameter of the model as it is at that phase.
void check_init(const ExperimentConfig& cfg, const PhaseConfig& phase, Model& model) {
  SafeTensorsFile header;
  try {
    header = read_safetensors_header(phase.init);
  } catch (const InputError& e) {
    throw InputError(cfg.file + ": " + phase.path + ".init: " + e.what());
  }
  for (Parameter* p : model.parameters()) {
    const SafeTensor* t = header.find(p->name);
    if (!t)
      throw InputError(cfg.file + ": " + phase.path + ".init: " + phase.init + " has no tensor " +
                       p->name + " (the model at this phase has it; does the checkpoint come "
                       "from before or after a convert phase?)");
    if (t->shape != p->value().shape())
      throw InputError(cfg.file + ": " + phase.path + ".init: " + phase.init + ": tensor " +
                       p->name + " has shape " + shape_str(t->shape) + ", the model at this phase " +
                       shape_str(p->value().shape()));
  }
}

std::vector<std::string> winograd_summary(Model& model) {
  std::vector<std::string> out;
  for (const WeightLayerInfo& w : model.weight_layers())
    if (w.tile) out.push_back(w.name + " " + w.tile->name());
  return out;
}

}  // namespace

bool experiment_trains(const ExperimentConfig& cfg) {
  for (const PhaseConfig& p : cfg.phases)
    if (p.epochs() > 0) return true;
  return false;
}

ExperimentPlan plan_experiment(const ExperimentConfig& cfg, const Dataset* train,
                               const Dataset& val) {
  ExperimentPlan plan;
  plan.val = val.stats();
  check_classes(cfg, val, "validation");
  int64_t iters = 0;
  if (train) {
    plan.train = train->stats();
    check_classes(cfg, *train, "training");
    LoaderOptions probe = train_loader_options(cfg.data, cfg.seed, 0);
    probe.workers = 0;
    iters = BatchLoader(*train, probe).batches_per_epoch();
    // data.batch is the global batch: each of the N ranks of a data-parallel run takes 1/N.
    if (dist::size() > 1 && cfg.data.batch % dist::size() != 0)
      throw InputError(cfg.file + ": data.batch: " + std::to_string(cfg.data.batch) +
                       " (the global batch) does not split evenly over " +
                       std::to_string(dist::size()) + " ranks");
    // data.accumulate slices each rank's share: no slice may be empty.
    if (cfg.data.accumulate > cfg.data.batch / dist::size())
      throw InputError(cfg.file + ": data.accumulate: " + std::to_string(cfg.data.accumulate) +
                       " slices of each rank's " + std::to_string(cfg.data.batch / dist::size()) +
                       " images: expected at most that many");
    if (iters == 0 && experiment_trains(cfg))
      throw InputError(cfg.file + ": data.batch: " + std::to_string(cfg.data.batch) +
                       " is larger than the training split (" +
                       std::to_string(plan.train.images) + " images) with drop_last");
  }

  Rng rng(cfg.seed, 7);
  std::unique_ptr<Model> model = build_model(cfg.model, rng);
  std::map<std::string, const PhaseConfig*> by_name;
  for (size_t i = 0; i < cfg.phases.size(); ++i) {
    const PhaseConfig& phase = cfg.phases[i];
    PhasePlan pp;
    pp.index = int(i);
    pp.phase = &phase;
    auto here = [&](const std::string& what) { return cfg.file + ": " + phase.path + what; };
    if (!phase.init.empty()) check_init(cfg, phase, *model);
    const TrainingConfig* training = phase.training();
    if (training && training->distill && training->distill->teacher_is_phase) {
      const PhaseConfig* t = by_name.at(training->distill->teacher);
      if (t->type() == PhaseType::eval || t->type() == PhaseType::sensitivity)
        throw InputError(here(".distill.teacher") + ": phase \"" + t->name + "\" is an " +
                         phase_type_name(t->type()) + " phase and records no weights; name the "
                         "phase that made the model");
      if (t->training() && t->epochs() == 0)
        throw InputError(here(".distill.teacher") + ": phase \"" + t->name +
                         "\" has 0 epochs and writes no checkpoint; name another phase");
    }
    try {
      if (training) pp.iters_per_epoch = iters;
      if (auto* prune = phase.as<PrunePhase>()) {
        if (prune->training.epochs == 0)
          throw InputError(phase.path + ".epochs: a prune phase of 0 epochs prunes nothing");
        PruningScheduler sched(prune->pruning, prunable_layers(*model), prune->training.epochs);
        sched.check_windows(iters);
        for (int64_t e = 0; e < prune->training.epochs; ++e)
          pp.epoch_targets.push_back(sched.planned_targets(e, iters));
      } else if (auto* convert = phase.as<ConvertPhase>()) {
        for (const auto& [layer, m] : convert->m) {
          if (!model->find_layer(layer))
            throw InputError(phase.path + ".layers: the model has no layer " + layer);
          model->convert_to_winograd(layer, m);
        }
      } else if (auto* sensitivity = phase.as<SensitivityPhase>()) {
        select_layers(sensitivity->sweep.layers, prunable_layers(*model));
      }
    } catch (const InputError& e) {
      const std::string msg = e.what();
      throw InputError(msg.rfind(cfg.file + ":", 0) == 0 ? msg : cfg.file + ": " + msg);
    }
    pp.winograd_layers = winograd_summary(*model);
    by_name[phase.name] = &phase;
    plan.phases.push_back(std::move(pp));
  }
  for (Parameter* p : model->parameters()) plan.parameters += p->value().numel();
  return plan;
}

void print_plan(std::ostream& out, const ExperimentConfig& cfg, const ExperimentPlan& plan) {
  char buf[256];
  out << "plan of " << cfg.name << " (" << cfg.file << "), seed " << cfg.seed << "\n";
  if (plan.train.images > 0)
    out << "data: train " << plan.train.images << " images, " << plan.train.classes
        << " classes; ";
  else
    out << "data: ";
  out << "val " << plan.val.images << " images, " << plan.val.classes << " classes; batch "
      << cfg.data.batch << "\n";
  out << "model: " << cfg.model.arch << ", " << cfg.model.classes << " classes\n";
  for (const PhasePlan& pp : plan.phases) {
    const PhaseConfig& p = *pp.phase;
    std::snprintf(buf, sizeof buf, "phase %d  %-10s %-11s", pp.index + 1, p.name.c_str(),
                  phase_type_name(p.type()));
    out << buf;
    if (const TrainingConfig* t = p.training())
      out << t->epochs << " epochs x " << pp.iters_per_epoch << " iterations"
          << (t->distill ? ", distilled from " + t->distill->teacher : "");
    else if (auto* e = p.as<EvalPhase>())
      out << (e->kernel == InferenceKernel::sparse ? "sparse" : "dense") << " kernel";
    if (p.type() == PhaseType::convert) {
      out << "winograd:";
      for (const std::string& w : pp.winograd_layers) out << " " << w << ";";
    }
    if (!p.init.empty()) out << " (init " << p.init << ")";
    out << "\n";
    if (pp.epoch_targets.empty()) continue;
    // The sparsity table: one row per epoch end, one column per pruner layer.
    const std::vector<PlannedTarget>& cols = pp.epoch_targets.front();
    out << "    planned sparsity at epoch end (pruner:";
    std::set<std::string> pruners;
    for (const PlannedTarget& t : cols)
      if (pruners.insert(t.pruner).second) out << " " << t.pruner;
    out << ")\n    epoch";
    for (const PlannedTarget& t : cols) {
      std::string name = t.layers.size() == 1 ? t.layers[0] : t.pruner + " (global)";
      std::snprintf(buf, sizeof buf, " %9s", name.c_str());
      out << buf;
    }
    out << "\n";
    for (size_t e = 0; e < pp.epoch_targets.size(); ++e) {
      std::snprintf(buf, sizeof buf, "    %5zu", e + 1);
      out << buf;
      for (const PlannedTarget& t : pp.epoch_targets[e]) {
        if (t.sparsity)
          std::snprintf(buf, sizeof buf, " %8.2f%%", 100 * *t.sparsity);
        else
          std::snprintf(buf, sizeof buf, " %9s", "-");
        out << buf;
      }
      out << "\n";
    }
  }
}

}  // namespace wp
