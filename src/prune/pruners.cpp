// The mask and threshold pruners (src/prune/pruners.h).
#include "pruners.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "winoprune/error.h"
#include "winoprune/prune/schedule.h"

namespace wp {

namespace {

// Target mode of the threshold pruner: every this many steps (and at the window's last step)
// the cut is re-chosen by a selection over the layer (conv4 of alexnet-small: 1.3M entries,
// ~15 ms), between them the last cut acts like a fixed thr0.
constexpr int64_t kRetargetEvery = 16;

// The smallest ratio |w| / thr that zeroes a fraction `target` of the entries (-1: none).
double cut_for_target(const std::vector<float>& ratio, double target) {
  const int64_t n = int64_t(ratio.size());
  const int64_t k = std::llround(target * double(n));
  if (k <= 0) return -1;
  std::vector<float> tmp(ratio);
  std::nth_element(tmp.begin(), tmp.begin() + (k - 1), tmp.end());
  return tmp[size_t(k - 1)];
}

}  // namespace

void PruningContext::set_target(const std::string& layer, double s) {
  for (auto& e : targets)
    if (e.first == layer) {
      e.second = s;
      return;
    }
  targets.emplace_back(layer, s);
}

const Tensor* RestoreSource::find(const std::string& name) const {
  for (const auto& [n, t] : state.tensors)
    if (n == name) return &t;
  return nullptr;
}

void RestoreSource::fail(const std::string& what) const {
  throw InputError(file + ": pruning state: " + what +
                   " (was the checkpoint written by another config?)");
}

// ---- Pruner

std::vector<PlannedTarget> Pruner::planned_targets(int64_t epoch, int64_t ipe) const {
  // The policy whose last event (mask pruners) or active step (threshold) at or before the
  // end of `epoch` is latest, measured in iterations; t_last in the policy's own unit.
  std::optional<double> target;
  int64_t best = -1;
  for (size_t k : policies_) {
    const PolicyConfig& p = ctx_.policies[k];
    const int64_t end = ctx_.end(p, ipe);
    const int64_t now = p.unit == PruneUnit::epoch ? epoch : (epoch + 1) * ipe - 1;
    const int64_t upto = std::min(now, end - 1);
    if (upto < p.start) continue;
    const int64_t t_last = last_event(p, upto);
    const int64_t at = p.unit == PruneUnit::epoch ? t_last * ipe : t_last;
    if (at < best) continue;
    best = at;
    target = planned_target(p, t_last, end);
  }
  std::vector<PlannedTarget> out;
  if (global()) {
    PlannedTarget t{config_.name, config_.path, {}, target};
    for (size_t i = 0; i < layers_.size(); ++i) t.layers.push_back(layer_name(i));
    out.push_back(t);
    return out;
  }
  for (size_t i = 0; i < layers_.size(); ++i) {
    std::optional<double> s = target;
    if (s) s = layer_target(i, *s);
    out.push_back(PlannedTarget{config_.name, config_.path, {layer_name(i)}, s});
  }
  return out;
}

// ---- MaskPruner

MaskPruner::MaskPruner(const PrunerConfig& config, std::vector<size_t> layers,
                       PruningContext& ctx, const RankingOptions& ranking)
    : Pruner(config, std::move(layers), ctx), ranking_(ranking) {
  // Winograd layers get their positions' factors (conv and fc: none, an empty list).
  for (size_t li : layers_) {
    const PrunableLayer& l = ctx_.layers[li];
    position_scales_.push_back(l.kind == "winograd"
                                   ? position_scale_factors(ranking_.position_scale, l.m, l.r)
                                   : std::vector<double>());
  }
  if (ranking_.saliency == Saliency::fisher)
    for (size_t i = 0; i < layers_.size(); ++i)
      grad_sq_.push_back(Tensor::zeros(weight(i).value().shape()));
}

void MaskPruner::fire(PruneUnit unit, int64_t epoch, int64_t iter) {
  const int64_t ipe = ctx_.iters_per_epoch;
  for (size_t k : policies_) {
    const PolicyConfig& p = ctx_.policies[k];
    if (p.unit != unit) continue;
    const int64_t t = ctx_.time(p, epoch, iter, ipe);
    if (!ctx_.fires(p, t, ipe)) continue;
    std::optional<double> target = target_at(p, t, ctx_.end(p, ipe));
    if (!target) continue;
    prune_to(*target);
    break;   // one pruning per pruner and step, even if two of its policies fire
  }
}

void MaskPruner::prune_to(double target) {
  std::vector<Parameter*> params;
  std::vector<double> per_layer;
  for (size_t i = 0; i < layers_.size(); ++i) {
    params.push_back(&weight(i));
    per_layer.push_back(layer_target(i, target));
    ctx_.set_target(layer_name(i), per_layer.back());
  }
  // Fisher: |w| sqrt(mean g^2), no position factor; none seen yet: magnitude.
  ElementScales elements;
  const bool fisher = ranking_.saliency == Saliency::fisher && grad_steps_ > 0;
  if (fisher) {
    const float inv = 1.0f / float(grad_steps_);
    for (Tensor& sq : grad_sq_) {
      float* x = sq.data();
      const int64_t n = sq.numel();
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; ++i) x[i] = std::sqrt(x[i] * inv);
      elements.push_back(x);
    }
  }
  const PositionScales none(params.size());
  const PositionScales& scales = fisher ? none : position_scales_;
  if (ranking_.global)
    magnitude_prune_global(params, target, scales, elements);
  else
    magnitude_prune(params, per_layer, scales, elements);
  if (fisher) {   // the next event ranks by the gradients after this one
    for (Tensor& sq : grad_sq_) sq.fill(0.0f);
    grad_steps_ = 0;
  }
}

void MaskPruner::after_backward(int64_t epoch, int64_t iter) {
  (void)epoch, (void)iter;
  // Fisher pruners sum g^2 at every step of the phase (reset at each of their events).
  if (ranking_.saliency != Saliency::fisher) return;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Tensor& g = weight(i).var->grad;
    if (!g.defined()) continue;
    const float* gp = g.data();
    float* acc = grad_sq_[i].data();
    const int64_t n = g.numel();
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < n; ++k) acc[k] += gp[k] * gp[k];
  }
  ++grad_steps_;
}

json MaskPruner::save(std::vector<std::pair<std::string, Tensor>>& tensors) const {
  for (size_t i = 0; i < grad_sq_.size(); ++i)
    tensors.emplace_back(tensor_prefix() + layer_name(i) + ".grad_sq", grad_sq_[i]);
  return json{{"grad_steps", grad_steps_}, {"layers", json::object()}};
}

void MaskPruner::restore(const json& entry, const RestoreSource& from) {
  grad_steps_ = entry.at("grad_steps").get<int64_t>();
  for (size_t i = 0; i < grad_sq_.size(); ++i) {
    const std::string name = tensor_prefix() + layer_name(i) + ".grad_sq";
    const Tensor* t = from.find(name);
    if (!t || t->shape() != grad_sq_[i].shape()) from.fail("tensor " + name + " missing or misshapen");
    grad_sq_[i].copy_from(*t);
  }
}

MagnitudePruner::MagnitudePruner(const PrunerConfig& config, std::vector<size_t> layers,
                                 PruningContext& ctx)
    : MaskPruner(config, std::move(layers), ctx, std::get<MagnitudeSpec>(config.spec).ranking),
      spec_(std::get<MagnitudeSpec>(config.spec)) {
  if (spec_.per_layer.empty()) return;
  const std::string& path = config_.path;
  for (auto& [name, s] : spec_.per_layer) {
    bool selected = false;
    for (size_t i = 0; i < layers_.size(); ++i) selected = selected || layer_name(i) == name;
    if (!selected)
      throw InputError(path + ".sparsity." + name + ": layer \"" + name +
                       "\" is not selected by this pruner or not a weight layer");
  }
  for (size_t i = 0; i < layers_.size(); ++i) {
    auto it = std::find_if(spec_.per_layer.begin(), spec_.per_layer.end(),
                           [&](auto& e) { return e.first == layer_name(i); });
    if (it == spec_.per_layer.end())
      throw InputError(path + ".sparsity: no target for selected layer \"" + layer_name(i) + "\"");
    layer_targets_.push_back(it->second);
  }
}

std::optional<double> GradualPruner::target_at(const PolicyConfig& p, int64_t t,
                                               int64_t end) const {
  return agp_sparsity(spec_.initial_sparsity, spec_.final_sparsity, p.start, end, p.frequency, t);
}

std::optional<double> StepsPruner::target_at(const PolicyConfig& p, int64_t t, int64_t end) const {
  (void)p, (void)end;
  return steps_target(spec_.schedule, t);
}

// ---- ThresholdPruner

ThresholdPruner::ThresholdPruner(const PrunerConfig& config, std::vector<size_t> layers,
                                 PruningContext& ctx)
    : Pruner(config, std::move(layers), ctx), spec_(std::get<ThresholdSpec>(config.spec)) {
  for (size_t li : layers_) {
    const PrunableLayer& l = ctx_.layers[li];
    LayerState tl;
    const int64_t n = l.weight->value().numel();
    if (spec_.per_position && l.kind == "winograd") {
      tl.position_thr = per_position_thresholds(l.m, l.r, spec_.thr0);
      const int64_t positions = l.weight->value().dim(0);
      if (positions != int64_t(tl.position_thr.size()))
        throw std::logic_error(l.name + ": weight has " + std::to_string(positions) +
                               " positions, F(" + std::to_string(l.m) + "," +
                               std::to_string(l.r) + ") needs " +
                               std::to_string(tl.position_thr.size()));
      tl.position_size = n / positions;
    } else {
      tl.position_thr = {spec_.thr0};
      tl.position_size = n;
    }
    state_.push_back(std::move(tl));
  }
}

bool ThresholdPruner::active(int64_t epoch, int64_t iter) const {
  const int64_t ipe = ctx_.iters_per_epoch;
  for (size_t k : policies_)
    if (ctx_.inside(ctx_.policies[k], ctx_.time(ctx_.policies[k], epoch, iter, ipe), ipe))
      return true;
  return false;
}

bool ThresholdPruner::active_in_epoch(int64_t epoch) const {
  const int64_t ipe = ctx_.iters_per_epoch;
  for (size_t k : policies_) {
    const PolicyConfig& p = ctx_.policies[k];
    if (p.unit == PruneUnit::epoch ? ctx_.inside(p, epoch, ipe)
                                   : ipe > 0 && p.start < ctx_.end(p, ipe) &&
                                         epoch * ipe < ctx_.end(p, ipe) &&
                                         (epoch + 1) * ipe > p.start)
      return true;
  }
  return false;
}

void ThresholdPruner::open_if_active(int64_t epoch, int64_t iter) {
  if (active(epoch, iter)) open_window();
}

// A window opens: no mask (weights may regrow), the L1 term on.
void ThresholdPruner::open_window() {
  for (size_t i = 0; i < layers_.size(); ++i) {
    weight(i).mask = Tensor();
    weight(i).l1 = float(spec_.l1);
  }
}

// A window closes: the zeros become the mask, the L1 term off. The window's own state goes
// too, so that a later window of the same pruner starts its gradient average and its target
// cut afresh instead of from this window's last steps.
void ThresholdPruner::close_window() {
  for (size_t i = 0; i < layers_.size(); ++i) {
    freeze_mask(weight(i));
    weight(i).l1 = 0.0f;
  }
  for (LayerState& tl : state_) {
    tl.grad_ms = Tensor();
    tl.grad_steps = 0;
    tl.cut = -1;
    tl.steps_since_cut = 0;
  }
}

bool ThresholdPruner::all_masked() const {
  for (size_t i = 0; i < layers_.size(); ++i)
    if (!weight(i).mask.defined()) return false;
  return true;
}

void ThresholdPruner::after_backward(int64_t epoch, int64_t iter) {
  if (!active(epoch, iter) || !spec_.adaptive) return;
  // The loss gradient alone: the optimizer adds weight decay and the L1 term later, inside
  // its step, so they never reach Parameter::var->grad.
  for (size_t li = 0; li < state_.size(); ++li) {
    LayerState& tl = state_[li];
    Parameter& p = weight(li);
    const int64_t n = p.value().numel();
    if (!tl.adaptive_thr.defined()) tl.adaptive_thr = Tensor::empty(p.value().shape());
    float* thr = tl.adaptive_thr.data();
    const float* g = p.var->grad.defined() ? p.var->grad.data() : nullptr;
    // "rms": |g| becomes sqrt(EMA of g^2 / (1 - decay^t)); a step without a gradient adds 0.
    float* ms = nullptr;
    double decay = 0, correction = 1;
    if (spec_.gradient_rms) {
      if (!tl.grad_ms.defined()) tl.grad_ms = Tensor::zeros(p.value().shape());
      ms = tl.grad_ms.data();
      decay = spec_.rms_decay;
      correction = 1.0 - std::pow(decay, double(++tl.grad_steps));
    }
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const double gi = g ? double(g[i]) : 0.0;
      double grad_abs = std::fabs(gi);
      if (ms) {
        ms[i] = float(decay * ms[i] + (1.0 - decay) * gi * gi);
        grad_abs = std::sqrt(double(ms[i]) / correction);
      }
      const double thr0 = tl.position_thr[size_t(i / tl.position_size)];
      thr[i] = float(adaptive_threshold(grad_abs, thr0, spec_.factor));
    }
  }
}

std::optional<double> ThresholdPruner::step_target(int64_t epoch, int64_t iter) const {
  if (!spec_.final_sparsity) return std::nullopt;
  const int64_t ipe = ctx_.iters_per_epoch;
  for (size_t k : policies_) {
    const PolicyConfig& pol = ctx_.policies[k];
    const int64_t t = ctx_.time(pol, epoch, iter, ipe);
    if (!ctx_.inside(pol, t, ipe)) continue;
    return agp_target(spec_.initial_sparsity, *spec_.final_sparsity, pol.start,
                      ctx_.end(pol, ipe), 1, t);
  }
  return std::nullopt;
}

void ThresholdPruner::after_optimizer_step(int64_t epoch, int64_t iter) {
  if (!active(epoch, iter)) return;
  const bool last_of_epoch = iter + 1 >= ctx_.iters_per_epoch;
  const bool closing = !active(last_of_epoch ? epoch + 1 : epoch, last_of_epoch ? 0 : iter + 1);
  const std::optional<double> target = step_target(epoch, iter);
  for (size_t i = 0; i < state_.size(); ++i) {
    if (spec_.adaptive && !state_[i].adaptive_thr.defined())
      throw std::logic_error(weight(i).name + ": adaptive threshold pruning needs after_backward "
                                              "before after_optimizer_step");
    if (target)
      zero_below_cut(i, *target, closing);
    else
      zero_below_threshold(i);
  }
  // The window closes after this step: freeze the zeros so they stay zero from now on.
  if (closing) close_window();
}

void ThresholdPruner::on_epoch_end(int64_t epoch) {
  // Safety net for loops that end an epoch early: a window that does not continue into the
  // next epoch leaves frozen masks behind.
  if (active_in_epoch(epoch) && !active(epoch + 1, 0) && !all_masked()) close_window();
}

void ThresholdPruner::zero_below_cut(size_t li, double target, bool closing) {
  LayerState& tl = state_[li];
  Parameter& p = weight(li);
  float* w = p.value().data();
  const int64_t n = p.value().numel();
  // thr of each entry with the configured thr0; the cut rescales thr0.
  std::vector<float>& ratio = tl.ratio;
  ratio.resize(size_t(n));
  const float* athr = spec_.adaptive ? tl.adaptive_thr.data() : nullptr;
  for (int64_t i = 0; i < n; ++i) {
    const double thr = athr ? athr[i] : tl.position_thr[size_t(i / tl.position_size)];
    ratio[size_t(i)] = float(std::fabs(double(w[i])) / thr);
  }
  if (tl.cut < 0 || tl.steps_since_cut >= kRetargetEvery || closing) {
    tl.cut = cut_for_target(ratio, target);
    tl.steps_since_cut = 0;
    ctx_.set_target(layer_name(li), target);
  }
  ++tl.steps_since_cut;
  for (int64_t i = 0; i < n; ++i)
    if (ratio[size_t(i)] <= tl.cut) w[i] = 0.0f;
}

void ThresholdPruner::zero_below_threshold(size_t li) {
  const LayerState& tl = state_[li];
  Parameter& p = weight(li);
  float* w = p.value().data();
  const int64_t n = p.value().numel();
  if (spec_.adaptive) {
    const float* thr = tl.adaptive_thr.data();
    for (int64_t i = 0; i < n; ++i)
      if (std::fabs(w[i]) <= thr[i]) w[i] = 0.0f;
    return;
  }
  for (size_t j = 0; j < tl.position_thr.size(); ++j) {
    const float thr = float(tl.position_thr[j]);
    float* wj = w + int64_t(j) * tl.position_size;
    for (int64_t i = 0; i < tl.position_size; ++i)
      if (std::fabs(wj[i]) <= thr) wj[i] = 0.0f;
  }
}

std::optional<double> ThresholdPruner::planned_target(const PolicyConfig& p, int64_t t_last,
                                                      int64_t end) const {
  // Target mode re-chooses its cut at start, every kRetargetEvery steps and at the window's
  // last step; between those the cut holds, so the layer is at least at the target of the
  // last re-choice (entries that fall under the cut meanwhile add to it).
  if (!spec_.final_sparsity) return std::nullopt;
  const int64_t chosen = t_last == end - 1
                             ? t_last
                             : p.start + ((t_last - p.start) / kRetargetEvery) * kRetargetEvery;
  return agp_target(spec_.initial_sparsity, *spec_.final_sparsity, p.start, end, 1, chosen);
}

json ThresholdPruner::save(std::vector<std::pair<std::string, Tensor>>& tensors) const {
  // "grad_steps" at the pruner level is the Fisher sum's count, always 0 here; it stays so
  // every pruner's entry has the same keys.
  json entry = {{"grad_steps", 0}, {"layers", json::object()}};
  for (size_t i = 0; i < state_.size(); ++i) {
    const LayerState& tl = state_[i];
    const std::string& name = layer_name(i);
    entry["layers"][name] = {{"grad_steps", tl.grad_steps}, {"cut", tl.cut},
                             {"steps_since_cut", tl.steps_since_cut}};
    if (tl.grad_ms.defined()) tensors.emplace_back(tensor_prefix() + name + ".grad_ms", tl.grad_ms);
  }
  return entry;
}

void ThresholdPruner::restore(const json& entry, const RestoreSource& from) {
  (void)entry.at("grad_steps").get<int64_t>();   // required in every entry (see save)
  for (size_t i = 0; i < state_.size(); ++i) {
    LayerState& tl = state_[i];
    const std::string& name = layer_name(i);
    const json& lj = entry.at("layers").at(name);
    tl.grad_steps = lj.at("grad_steps").get<int64_t>();
    tl.cut = lj.at("cut").get<double>();
    tl.steps_since_cut = lj.at("steps_since_cut").get<int64_t>();
    tl.grad_ms = Tensor();
    if (const Tensor* t = from.find(tensor_prefix() + name + ".grad_ms")) {
      if (t->shape() != weight(i).value().shape())
        from.fail("tensor " + tensor_prefix() + name + ".grad_ms misshapen");
      tl.grad_ms = Tensor::empty(t->shape());
      tl.grad_ms.copy_from(*t);
    }
  }
}

std::unique_ptr<Pruner> make_pruner(const PrunerConfig& config, std::vector<size_t> layers,
                                    PruningContext& ctx) {
  if (std::holds_alternative<MagnitudeSpec>(config.spec))
    return std::make_unique<MagnitudePruner>(config, std::move(layers), ctx);
  if (std::holds_alternative<GradualSpec>(config.spec))
    return std::make_unique<GradualPruner>(config, std::move(layers), ctx);
  if (std::holds_alternative<StepsSpec>(config.spec))
    return std::make_unique<StepsPruner>(config, std::move(layers), ctx);
  return std::make_unique<ThresholdPruner>(config, std::move(layers), ctx);
}

}  // namespace wp
