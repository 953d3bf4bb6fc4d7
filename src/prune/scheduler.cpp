// PruningScheduler (include/winoprune/prune/scheduler.h): pruners resolved against the model's
// layers, fired by their policies from the training loop's hooks.
//
// Time t of a policy: the epoch (unit "epoch") or epoch * iters_per_epoch + iter ("iteration"),
// both counted from 0 within the phase. A policy FIRES at t when start <= t < end and
// (t - start) % frequency == 0; mask-based pruners prune at the firing steps. The threshold
// pruner is ACTIVE at every t in [start, end) (its frequency is 1, checked by the parser).
#include "winoprune/prune/scheduler.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "winoprune/error.h"
#include "winoprune/prune/magnitude.h"
#include "winoprune/prune/schedule.h"

namespace wp {

namespace {

struct ThresholdLayer {
  size_t layer = 0;
  std::vector<double> position_thr;   // thr0_j per position (Winograd, per_position) or {thr0}
  int64_t position_size = 0;          // entries per position (K * C/g), or numel
  Tensor adaptive_thr;                // per entry, from the last after_backward (adaptive only)
  Tensor grad_ms;                     // "gradient": "rms": the moving average of g^2 per entry
  int64_t grad_steps = 0;             // how many gradients grad_ms holds (bias correction)
  double cut = -1;                    // target mode: zero where |W| / thr <= cut (thr0 * cut is
                                      // the effective thr0); -1: not chosen yet
  int64_t steps_since_cut = 0;
  std::vector<float> ratio;           // target mode: |W| / thr per entry (kept between steps)
};

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

struct Pruner {
  PrunerConfig config;
  std::vector<size_t> layers;          // indices into the scheduler's layers, network order
  std::vector<double> layer_targets;   // magnitude with per-layer sparsities: one per layer
  PositionScales position_scales;      // mask-based pruners: one factor list per layer
  Saliency saliency = Saliency::magnitude;
  std::vector<Tensor> grad_sq;         // fisher: per layer, sum of g^2 since the last event
  int64_t grad_steps = 0;              // fisher: how many gradients grad_sq holds
  std::vector<ThresholdLayer> threshold;
  std::vector<size_t> policies;
  bool is_threshold() const { return std::holds_alternative<ThresholdSpec>(config.spec); }
};

// The target a mask-based pruner sets when its policy fires at t; nullopt: nothing to do.
std::optional<double> fired_target(const Pruner& pr, const PolicyConfig& p, int64_t t,
                                   int64_t end) {
  if (auto* m = std::get_if<MagnitudeSpec>(&pr.config.spec)) return m->sparsity;
  if (auto* g = std::get_if<GradualSpec>(&pr.config.spec))
    return agp_sparsity(g->initial_sparsity, g->final_sparsity, p.start, end, p.frequency, t);
  if (auto* s = std::get_if<StepsSpec>(&pr.config.spec)) return steps_target(s->schedule, t);
  return std::nullopt;
}

bool is_global(const PrunerSpec& spec) {
  if (auto* m = std::get_if<MagnitudeSpec>(&spec)) return m->global;
  if (auto* g = std::get_if<GradualSpec>(&spec)) return g->global;
  if (auto* s = std::get_if<StepsSpec>(&spec)) return s->global;
  return false;
}

// A threshold window opens: no mask (weights may regrow), the L1 term on.
void open_threshold_window(const std::vector<PrunableLayer>& layers, const Pruner& pr) {
  const float l1 = float(std::get<ThresholdSpec>(pr.config.spec).l1);
  for (size_t li : pr.layers) {
    layers[li].weight->mask = Tensor();
    layers[li].weight->l1 = l1;
  }
}

// A threshold window closes: the zeros become the mask, the L1 term off. The window's own
// state goes too, so that a later window of the same pruner starts its gradient average and its
// target cut afresh instead of from this window's last steps.
void close_threshold_window(const std::vector<PrunableLayer>& layers, Pruner& pr) {
  for (size_t li : pr.layers) {
    freeze_mask(*layers[li].weight);
    layers[li].weight->l1 = 0.0f;
  }
  for (ThresholdLayer& tl : pr.threshold) {
    tl.grad_ms = Tensor();
    tl.grad_steps = 0;
    tl.cut = -1;
    tl.steps_since_cut = 0;
  }
}

bool all_masked(const std::vector<PrunableLayer>& layers, const Pruner& pr) {
  for (size_t li : pr.layers)
    if (!layers[li].weight->mask.defined()) return false;
  return true;
}

void set_target(std::vector<std::pair<std::string, double>>& targets, const std::string& name,
                double s) {
  for (auto& e : targets)
    if (e.first == name) {
      e.second = s;
      return;
    }
  targets.emplace_back(name, s);
}

}  // namespace

struct PruningScheduler::Impl {
  std::vector<Pruner> pruners;
  std::vector<PolicyConfig> policies;
  int64_t phase_epochs = 0;
  int64_t iters_per_epoch = 0;   // the last value a minibatch hook gave (0: none yet)

  // ipe (iterations per epoch) is 0 until a minibatch hook gave it: iteration-unit policies
  // are then neither active nor firing (on_minibatch_begin comes before any update).
  int64_t time(const PolicyConfig& p, int64_t epoch, int64_t iter, int64_t ipe) const {
    return p.unit == PruneUnit::epoch ? epoch : epoch * ipe + iter;
  }
  int64_t end(const PolicyConfig& p, int64_t ipe) const {
    if (p.end >= 0) return p.end;
    return p.unit == PruneUnit::epoch ? phase_epochs : phase_epochs * ipe;
  }
  bool inside(const PolicyConfig& p, int64_t t, int64_t ipe) const {
    if (p.unit == PruneUnit::iteration && ipe <= 0) return false;
    return t >= p.start && t < end(p, ipe);
  }
  bool fires(const PolicyConfig& p, int64_t t, int64_t ipe) const {
    return inside(p, t, ipe) && (t - p.start) % p.frequency == 0;
  }
  // Threshold pruners: active at step (epoch, iter) if any of their policies covers it.
  bool active(const Pruner& pr, int64_t epoch, int64_t iter, int64_t ipe) const {
    for (size_t k : pr.policies)
      if (inside(policies[k], time(policies[k], epoch, iter, ipe), ipe)) return true;
    return false;
  }
  bool active_in_epoch(const Pruner& pr, int64_t epoch, int64_t ipe) const {
    for (size_t k : pr.policies) {
      const PolicyConfig& p = policies[k];
      if (p.unit == PruneUnit::epoch ? inside(p, epoch, ipe)
                                     : ipe > 0 && p.start < end(p, ipe) &&
                                           epoch * ipe < end(p, ipe) && (epoch + 1) * ipe > p.start)
        return true;
    }
    return false;
  }
  // Fires the mask-based pruners whose policies (of `unit`) fire at this step.
  void fire_mask_pruners(std::vector<PrunableLayer>& layers,
                         std::vector<std::pair<std::string, double>>& targets, PruneUnit unit,
                         int64_t epoch, int64_t iter, int64_t ipe) {
    for (Pruner& pr : pruners) {
      if (pr.is_threshold()) continue;
      for (size_t k : pr.policies) {
        const PolicyConfig& p = policies[k];
        if (p.unit != unit) continue;
        const int64_t t = time(p, epoch, iter, ipe);
        if (!fires(p, t, ipe)) continue;
        std::optional<double> target = fired_target(pr, p, t, end(p, ipe));
        if (!target) continue;
        std::vector<Parameter*> params;
        std::vector<double> per_layer;
        for (size_t i = 0; i < pr.layers.size(); ++i) {
          params.push_back(layers[pr.layers[i]].weight);
          per_layer.push_back(pr.layer_targets.empty() ? *target : pr.layer_targets[i]);
          set_target(targets, layers[pr.layers[i]].name, per_layer.back());
        }
        // Fisher: |w| sqrt(mean g^2), no position factor; none seen yet: magnitude.
        ElementScales elements;
        const bool fisher = pr.saliency == Saliency::fisher && pr.grad_steps > 0;
        if (fisher) {
          const float inv = 1.0f / float(pr.grad_steps);
          for (Tensor& sq : pr.grad_sq) {
            float* x = sq.data();
            const int64_t n = sq.numel();
#pragma omp parallel for schedule(static)
            for (int64_t i = 0; i < n; ++i) x[i] = std::sqrt(x[i] * inv);
            elements.push_back(x);
          }
        }
        const PositionScales none(params.size());
        const PositionScales& scales = fisher ? none : pr.position_scales;
        if (is_global(pr.config.spec))
          magnitude_prune_global(params, *target, scales, elements);
        else
          magnitude_prune(params, per_layer, scales, elements);
        if (fisher) {   // the next event ranks by the gradients after this one
          for (Tensor& sq : pr.grad_sq) sq.fill(0.0f);
          pr.grad_steps = 0;
        }
        break;   // one pruning per pruner and step, even if two of its policies fire
      }
    }
  }
};

PruningScheduler::~PruningScheduler() = default;
PruningScheduler::PruningScheduler(PruningScheduler&&) noexcept = default;
PruningScheduler& PruningScheduler::operator=(PruningScheduler&&) noexcept = default;

PruningScheduler::PruningScheduler(const PruningConfig& config, std::vector<PrunableLayer> layers,
                                   int64_t phase_epochs)
    : layers_(std::move(layers)), impl_(std::make_unique<Impl>()) {
  impl_->phase_epochs = phase_epochs;
  impl_->policies = config.policies;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < layers_.size(); ++i) index[layers_[i].name] = i;
  std::map<size_t, std::string> owner;   // layer -> pruner that selected it

  for (const PrunerConfig& pc : config.pruners) {
    Pruner pr;
    pr.config = pc;
    for (const PrunableLayer& l : select_layers(pc.layers, layers_)) {
      size_t li = index.at(l.name);
      auto [it, fresh] = owner.emplace(li, pc.name);
      if (!fresh)
        throw InputError(pc.path + ": layer \"" + l.name + "\" is already pruned by pruner \"" +
                         it->second + "\" (one pruner per layer and phase)");
      pr.layers.push_back(li);
    }
    if (!pr.is_threshold()) {
      // Winograd layers get their positions' factors (conv and fc: none, an empty list).
      const PositionScale ps = pruner_position_scale(pc.spec);
      for (size_t li : pr.layers) {
        const PrunableLayer& l = layers_[li];
        pr.position_scales.push_back(l.kind == "winograd" ? position_scale_factors(ps, l.m, l.r)
                                                          : std::vector<double>());
      }
      pr.saliency = pruner_saliency(pc.spec);
      if (pr.saliency == Saliency::fisher)
        for (size_t li : pr.layers)
          pr.grad_sq.push_back(Tensor::zeros(layers_[li].weight->value().shape()));
    }
    if (auto* m = std::get_if<MagnitudeSpec>(&pc.spec); m && !m->per_layer.empty()) {
      for (auto& [name, s] : m->per_layer) {
        bool selected = false;
        for (size_t li : pr.layers) selected = selected || layers_[li].name == name;
        if (!selected)
          throw InputError(pc.path + ".sparsity." + name + ": layer \"" + name +
                           "\" is not selected by this pruner or not a weight layer");
      }
      for (size_t li : pr.layers) {
        auto it = std::find_if(m->per_layer.begin(), m->per_layer.end(),
                               [&](auto& e) { return e.first == layers_[li].name; });
        if (it == m->per_layer.end())
          throw InputError(pc.path + ".sparsity: no target for selected layer \"" +
                           layers_[li].name + "\"");
        pr.layer_targets.push_back(it->second);
      }
    }
    if (auto* th = std::get_if<ThresholdSpec>(&pc.spec)) {
      for (size_t li : pr.layers) {
        const PrunableLayer& l = layers_[li];
        ThresholdLayer tl;
        tl.layer = li;
        const int64_t n = l.weight->value().numel();
        if (th->per_position && l.kind == "winograd") {
          tl.position_thr = per_position_thresholds(l.m, l.r, th->thr0);
          const int64_t positions = l.weight->value().dim(0);
          if (positions != int64_t(tl.position_thr.size()))
            throw std::logic_error(l.name + ": weight has " + std::to_string(positions) +
                                   " positions, F(" + std::to_string(l.m) + "," +
                                   std::to_string(l.r) + ") needs " +
                                   std::to_string(tl.position_thr.size()));
          tl.position_size = n / positions;
        } else {
          tl.position_thr = {th->thr0};
          tl.position_size = n;
        }
        pr.threshold.push_back(std::move(tl));
      }
    }
    impl_->pruners.push_back(std::move(pr));
  }
  for (size_t k = 0; k < impl_->policies.size(); ++k) {
    const PolicyConfig& p = impl_->policies[k];
    if (p.pruner_index >= impl_->pruners.size())
      throw std::logic_error("policy names pruner " + std::to_string(p.pruner_index));
    impl_->pruners[p.pruner_index].policies.push_back(k);
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

void PruningScheduler::on_epoch_begin(int64_t epoch) {
  for (Pruner& pr : impl_->pruners)
    if (pr.is_threshold() && impl_->active(pr, epoch, 0, impl_->iters_per_epoch))
      open_threshold_window(layers_, pr);
  impl_->fire_mask_pruners(layers_, targets_, PruneUnit::epoch, epoch, 0, impl_->iters_per_epoch);
}

void PruningScheduler::on_minibatch_begin(int64_t epoch, int64_t iter, int64_t ipe) {
  impl_->iters_per_epoch = ipe;
  for (Pruner& pr : impl_->pruners)
    if (pr.is_threshold() && impl_->active(pr, epoch, iter, ipe))
      open_threshold_window(layers_, pr);
  impl_->fire_mask_pruners(layers_, targets_, PruneUnit::iteration, epoch, iter, ipe);
}

void PruningScheduler::after_backward(int64_t epoch, int64_t iter, int64_t ipe) {
  impl_->iters_per_epoch = ipe;
  // Fisher pruners sum g^2 at every step of the phase (reset at each of their events).
  for (Pruner& pr : impl_->pruners) {
    if (pr.saliency != Saliency::fisher) continue;
    for (size_t i = 0; i < pr.layers.size(); ++i) {
      const Tensor& g = layers_[pr.layers[i]].weight->var->grad;
      if (!g.defined()) continue;
      const float* gp = g.data();
      float* acc = pr.grad_sq[i].data();
      const int64_t n = g.numel();
#pragma omp parallel for schedule(static)
      for (int64_t k = 0; k < n; ++k) acc[k] += gp[k] * gp[k];
    }
    ++pr.grad_steps;
  }
  for (Pruner& pr : impl_->pruners) {
    if (!pr.is_threshold() || !impl_->active(pr, epoch, iter, ipe)) continue;
    const ThresholdSpec& spec = std::get<ThresholdSpec>(pr.config.spec);
    if (!spec.adaptive) continue;
    // The loss gradient alone: the optimizer adds weight decay and the L1 term later, inside
    // its step, so they never reach Parameter::var->grad.
    for (ThresholdLayer& tl : pr.threshold) {
      Parameter& p = *layers_[tl.layer].weight;
      const int64_t n = p.value().numel();
      if (!tl.adaptive_thr.defined()) tl.adaptive_thr = Tensor::empty(p.value().shape());
      float* thr = tl.adaptive_thr.data();
      const float* g = p.var->grad.defined() ? p.var->grad.data() : nullptr;
      // "rms": |g| becomes sqrt(EMA of g^2 / (1 - decay^t)); a step without a gradient adds 0.
      float* ms = nullptr;
      double decay = 0, correction = 1;
      if (spec.gradient_rms) {
        if (!tl.grad_ms.defined()) tl.grad_ms = Tensor::zeros(p.value().shape());
        ms = tl.grad_ms.data();
        decay = spec.rms_decay;
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
        thr[i] = float(adaptive_threshold(grad_abs, thr0, spec.factor));
      }
    }
  }
}

void PruningScheduler::after_optimizer_step(int64_t epoch, int64_t iter, int64_t ipe) {
  impl_->iters_per_epoch = ipe;
  for (Pruner& pr : impl_->pruners) {
    if (!pr.is_threshold() || !impl_->active(pr, epoch, iter, ipe)) continue;
    const ThresholdSpec& spec = std::get<ThresholdSpec>(pr.config.spec);
    const bool last_of_epoch = iter + 1 >= ipe;
    const bool closing =
        !impl_->active(pr, last_of_epoch ? epoch + 1 : epoch, last_of_epoch ? 0 : iter + 1, ipe);
    std::optional<double> target;
    if (spec.final_sparsity) {
      for (size_t k : pr.policies) {
        const PolicyConfig& pol = impl_->policies[k];
        const int64_t t = impl_->time(pol, epoch, iter, ipe);
        if (!impl_->inside(pol, t, ipe)) continue;
        target = agp_target(spec.initial_sparsity, *spec.final_sparsity, pol.start,
                            impl_->end(pol, ipe), 1, t);
        break;
      }
    }
    for (ThresholdLayer& tl : pr.threshold) {
      Parameter& p = *layers_[tl.layer].weight;
      float* w = p.value().data();
      const int64_t n = p.value().numel();
      if (spec.adaptive && !tl.adaptive_thr.defined())
        throw std::logic_error(p.name + ": adaptive threshold pruning needs after_backward "
                                        "before after_optimizer_step");
      if (target) {
        // thr of each entry with the configured thr0; the cut rescales thr0.
        std::vector<float>& ratio = tl.ratio;
        ratio.resize(size_t(n));
        const float* athr = spec.adaptive ? tl.adaptive_thr.data() : nullptr;
        for (int64_t i = 0; i < n; ++i) {
          const double thr = athr ? athr[i] : tl.position_thr[size_t(i / tl.position_size)];
          ratio[size_t(i)] = float(std::fabs(double(w[i])) / thr);
        }
        if (tl.cut < 0 || tl.steps_since_cut >= kRetargetEvery || closing) {
          tl.cut = cut_for_target(ratio, *target);
          tl.steps_since_cut = 0;
          set_target(targets_, layers_[tl.layer].name, *target);
        }
        ++tl.steps_since_cut;
        for (int64_t i = 0; i < n; ++i)
          if (ratio[size_t(i)] <= tl.cut) w[i] = 0.0f;
        continue;
      }
      if (spec.adaptive) {
        const float* thr = tl.adaptive_thr.data();
        for (int64_t i = 0; i < n; ++i)
          if (std::fabs(w[i]) <= thr[i]) w[i] = 0.0f;
      } else {
        for (size_t j = 0; j < tl.position_thr.size(); ++j) {
          const float thr = float(tl.position_thr[j]);
          float* wj = w + int64_t(j) * tl.position_size;
          for (int64_t i = 0; i < tl.position_size; ++i)
            if (std::fabs(wj[i]) <= thr) wj[i] = 0.0f;
        }
      }
    }
    // The window closes after this step: freeze the zeros so they stay zero from now on.
    if (closing) close_threshold_window(layers_, pr);
  }
}

void PruningScheduler::on_epoch_end(int64_t epoch) {
  // Safety net for loops that end an epoch early: a threshold window that does not continue
  // into the next epoch leaves frozen masks behind.
  const int64_t ipe = impl_->iters_per_epoch;
  for (Pruner& pr : impl_->pruners)
    if (pr.is_threshold() && impl_->active_in_epoch(pr, epoch, ipe) &&
        !impl_->active(pr, epoch + 1, 0, ipe) && !all_masked(layers_, pr))
      close_threshold_window(layers_, pr);
}

void PruningScheduler::check_windows(int64_t ipe) const {
  const int64_t total = impl_->phase_epochs * ipe;
  for (const PolicyConfig& p : impl_->policies) {
    if (p.unit != PruneUnit::iteration) continue;
    const std::string length = std::to_string(total) + " iterations (" +
                               std::to_string(impl_->phase_epochs) + " epochs x " +
                               std::to_string(ipe) + ")";
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
  for (const Pruner& pr : impl_->pruners) {
    // The policy whose last event (mask pruners) or active step (threshold) at or before the
    // end of `epoch` is latest, measured in iterations; t_last in the policy's own unit.
    std::optional<double> target;
    int64_t best = -1;
    for (size_t k : pr.policies) {
      const PolicyConfig& p = impl_->policies[k];
      const int64_t end = impl_->end(p, ipe);
      const int64_t now = p.unit == PruneUnit::epoch ? epoch : (epoch + 1) * ipe - 1;
      const int64_t upto = std::min(now, end - 1);
      if (upto < p.start) continue;
      const int64_t freq = pr.is_threshold() ? 1 : p.frequency;
      const int64_t t_last = p.start + ((upto - p.start) / freq) * freq;
      const int64_t at = p.unit == PruneUnit::epoch ? t_last * ipe : t_last;
      if (at < best) continue;
      std::optional<double> s;
      if (auto* th = std::get_if<ThresholdSpec>(&pr.config.spec)) {
        // Target mode re-chooses its cut at start, every kRetargetEvery steps and at the
        // window's last step; between those the cut holds, so the layer is at least at the
        // target of the last re-choice (entries that fall under the cut meanwhile add to it).
        const int64_t chosen =
            upto == end - 1 ? upto : p.start + ((upto - p.start) / kRetargetEvery) * kRetargetEvery;
        if (th->final_sparsity)
          s = agp_target(th->initial_sparsity, *th->final_sparsity, p.start, end, 1, chosen);
      } else {
        s = fired_target(pr, p, t_last, end);
      }
      best = at;
      target = s;
    }
    const std::string path = pr.config.path;
    if (is_global(pr.config.spec)) {
      PlannedTarget t{pr.config.name, path, {}, target};
      for (size_t li : pr.layers) t.layers.push_back(layers_[li].name);
      out.push_back(t);
      continue;
    }
    for (size_t i = 0; i < pr.layers.size(); ++i) {
      std::optional<double> s = target;
      if (s && !pr.layer_targets.empty()) s = pr.layer_targets[i];
      out.push_back(PlannedTarget{pr.config.name, path, {layers_[pr.layers[i]].name}, s});
    }
  }
  return out;
}

PruningState PruningScheduler::state() const {
  PruningState st;
  for (const Pruner& pr : impl_->pruners) {
    json pj = {{"grad_steps", pr.grad_steps}, {"layers", json::object()}};
    const std::string prefix = std::string(kPruningTensorPrefix) + pr.config.name + ".";
    for (size_t i = 0; i < pr.grad_sq.size(); ++i)
      st.tensors.emplace_back(prefix + layers_[pr.layers[i]].name + ".grad_sq", pr.grad_sq[i]);
    for (const ThresholdLayer& tl : pr.threshold) {
      const std::string& name = layers_[tl.layer].name;
      pj["layers"][name] = {{"grad_steps", tl.grad_steps}, {"cut", tl.cut},
                            {"steps_since_cut", tl.steps_since_cut}};
      if (tl.grad_ms.defined()) st.tensors.emplace_back(prefix + name + ".grad_ms", tl.grad_ms);
    }
    st.scalars[pr.config.name] = pj;
  }
  st.scalars["targets"] = targets_;
  return st;
}

void PruningScheduler::restore(const PruningState& st, const std::string& file) {
  auto find = [&](const std::string& name) -> const Tensor* {
    for (const auto& [n, t] : st.tensors)
      if (n == name) return &t;
    return nullptr;
  };
  auto fail = [&](const std::string& what) {
    throw InputError(file + ": pruning state: " + what +
                     " (was the checkpoint written by another config?)");
  };
  for (Pruner& pr : impl_->pruners) {
    if (!st.scalars.contains(pr.config.name)) fail("no entry for pruner \"" + pr.config.name + "\"");
    const json& pj = st.scalars.at(pr.config.name);
    const std::string prefix = std::string(kPruningTensorPrefix) + pr.config.name + ".";
    try {
      pr.grad_steps = pj.at("grad_steps").get<int64_t>();
      for (size_t i = 0; i < pr.grad_sq.size(); ++i) {
        const std::string name = prefix + layers_[pr.layers[i]].name + ".grad_sq";
        const Tensor* t = find(name);
        if (!t || t->shape() != pr.grad_sq[i].shape()) fail("tensor " + name + " missing or misshapen");
        pr.grad_sq[i].copy_from(*t);
      }
      for (ThresholdLayer& tl : pr.threshold) {
        const std::string& name = layers_[tl.layer].name;
        const json& lj = pj.at("layers").at(name);
        tl.grad_steps = lj.at("grad_steps").get<int64_t>();
        tl.cut = lj.at("cut").get<double>();
        tl.steps_since_cut = lj.at("steps_since_cut").get<int64_t>();
        tl.grad_ms = Tensor();
        if (const Tensor* t = find(prefix + name + ".grad_ms")) {
          if (t->shape() != layers_[tl.layer].weight->value().shape())
            fail("tensor " + prefix + name + ".grad_ms misshapen");
          tl.grad_ms = Tensor::empty(t->shape());
          tl.grad_ms.copy_from(*t);
        }
      }
    } catch (const json::exception& e) {
      fail(std::string("pruner \"") + pr.config.name + "\": " + e.what());
    }
  }
  targets_.clear();
  if (st.scalars.contains("targets"))
    for (const json& e : st.scalars["targets"])
      targets_.emplace_back(e.at(0).get<std::string>(), e.at(1).get<double>());
}

void freeze_masks(const std::vector<PrunableLayer>& layers) {
  for (const PrunableLayer& l : layers) {
    Parameter& p = *l.weight;
    if (p.mask.defined() || count_zeros(p.value().data(), p.value().numel()) > 0) freeze_mask(p);
  }
}

}  // namespace wp
