// PruningScheduler (include/winoprune/prune/scheduler.h): pruners resolved against the model's
// layers, fired by their policies from the training loop's hooks. The pruners and the policies'
// time are src/prune/pruners.h's.
#include "winoprune/prune/scheduler.h"

#include <map>
#include <stdexcept>

#include "pruners.h"
#include "winoprune/error.h"
#include "winoprune/prune/magnitude.h"

namespace wp {

struct PruningScheduler::Impl {
  PruningContext ctx;
  std::vector<std::unique_ptr<Pruner>> pruners;   // in config order
};

PruningScheduler::~PruningScheduler() = default;
PruningScheduler::PruningScheduler(PruningScheduler&&) noexcept = default;
PruningScheduler& PruningScheduler::operator=(PruningScheduler&&) noexcept = default;

PruningScheduler::PruningScheduler(const PruningConfig& config, std::vector<PrunableLayer> layers,
                                   int64_t phase_epochs)
    : impl_(std::make_unique<Impl>()) {
  PruningContext& ctx = impl_->ctx;
  ctx.layers = std::move(layers);
  ctx.phase_epochs = phase_epochs;
  ctx.policies = config.policies;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < ctx.layers.size(); ++i) index[ctx.layers[i].name] = i;
  std::map<size_t, std::string> owner;   // layer -> pruner that selected it

  for (const PrunerConfig& pc : config.pruners) {
    std::vector<size_t> selected;
    for (const PrunableLayer& l : select_layers(pc.layers, ctx.layers)) {
      size_t li = index.at(l.name);
      auto [it, fresh] = owner.emplace(li, pc.name);
      if (!fresh)
        throw InputError(pc.path + ": layer \"" + l.name + "\" is already pruned by pruner \"" +
                         it->second + "\" (one pruner per layer and phase)");
      selected.push_back(li);
    }
    impl_->pruners.push_back(make_pruner(pc, std::move(selected), ctx));
  }
  for (size_t k = 0; k < ctx.policies.size(); ++k) {
    const PolicyConfig& p = ctx.policies[k];
    if (p.pruner_index >= impl_->pruners.size())
      throw std::logic_error("policy names pruner " + std::to_string(p.pruner_index));
    impl_->pruners[p.pruner_index]->add_policy(k);
    if (p.unit == PruneUnit::epoch && p.start >= phase_epochs)
      throw InputError(p.path + ".start: the phase has " + std::to_string(phase_epochs) +
                       " epochs (0 to " + std::to_string(phase_epochs - 1) + "), got " +
                       std::to_string(p.start));
    if (p.unit == PruneUnit::epoch && p.end > phase_epochs)
      throw InputError(p.path + ".end: the phase has " + std::to_string(phase_epochs) +
                       " epochs and end is exclusive, got " + std::to_string(p.end) +
                       " (the schedule would never finish)");
  }
}

const std::vector<PrunableLayer>& PruningScheduler::layers() const { return impl_->ctx.layers; }

const std::vector<std::pair<std::string, double>>& PruningScheduler::last_targets() const {
  return impl_->ctx.targets;
}

void PruningScheduler::on_epoch_begin(int64_t epoch) {
  for (auto& pr : impl_->pruners) pr->on_epoch_begin(epoch);
}

void PruningScheduler::on_minibatch_begin(int64_t epoch, int64_t iter, int64_t ipe) {
  impl_->ctx.iters_per_epoch = ipe;
  for (auto& pr : impl_->pruners) pr->on_minibatch_begin(epoch, iter);
}

void PruningScheduler::after_backward(int64_t epoch, int64_t iter, int64_t ipe) {
  impl_->ctx.iters_per_epoch = ipe;
  for (auto& pr : impl_->pruners) pr->after_backward(epoch, iter);
}

void PruningScheduler::after_optimizer_step(int64_t epoch, int64_t iter, int64_t ipe) {
  impl_->ctx.iters_per_epoch = ipe;
  for (auto& pr : impl_->pruners) pr->after_optimizer_step(epoch, iter);
}

void PruningScheduler::on_epoch_end(int64_t epoch) {
  for (auto& pr : impl_->pruners) pr->on_epoch_end(epoch);
}

void PruningScheduler::check_windows(int64_t ipe) const {
  const int64_t epochs = impl_->ctx.phase_epochs;
  const int64_t total = epochs * ipe;
  for (const PolicyConfig& p : impl_->ctx.policies) {
    if (p.unit != PruneUnit::iteration) continue;
    const std::string length = std::to_string(total) + " iterations (" + std::to_string(epochs) +
                               " epochs x " + std::to_string(ipe) + ")";
    if (p.start >= total)
      throw InputError(p.path + ".start: the phase has " + length + ", got " +
                       std::to_string(p.start) + " (the window would never open)");
    if (p.end > total)
      throw InputError(p.path + ".end: the phase has " + length + " and end is exclusive, got " +
                       std::to_string(p.end) + " (the schedule would never finish)");
  }
}

std::vector<PlannedTarget> PruningScheduler::planned_targets(int64_t epoch, int64_t ipe) const {
  std::vector<PlannedTarget> out;
  for (const auto& pr : impl_->pruners)
    for (PlannedTarget& t : pr->planned_targets(epoch, ipe)) out.push_back(std::move(t));
  return out;
}

PruningState PruningScheduler::state() const {
  PruningState st;
  for (const auto& pr : impl_->pruners) st.scalars[pr->config().name] = pr->save(st.tensors);
  st.scalars["targets"] = impl_->ctx.targets;
  return st;
}

void PruningScheduler::restore(const PruningState& st, const std::string& file) {
  const RestoreSource from{st, file};
  for (auto& pr : impl_->pruners) {
    const std::string& name = pr->config().name;
    if (!st.scalars.contains(name)) from.fail("no entry for pruner \"" + name + "\"");
    try {
      pr->restore(st.scalars.at(name), from);
    } catch (const json::exception& e) {
      from.fail(std::string("pruner \"") + name + "\": " + e.what());
    }
  }
  std::vector<std::pair<std::string, double>>& targets = impl_->ctx.targets;
  targets.clear();
  if (st.scalars.contains("targets"))
    for (const json& e : st.scalars["targets"])
      targets.emplace_back(e.at(0).get<std::string>(), e.at(1).get<double>());
}

void freeze_masks(const std::vector<PrunableLayer>& layers) {
  for (const PrunableLayer& l : layers) {
    Parameter& p = *l.weight;
    if (p.mask.defined() || count_zeros(p.value().data(), p.value().numel()) > 0) freeze_mask(p);
  }
}

}  // namespace wp
