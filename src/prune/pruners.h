#pragma once
// The pruners a PruningScheduler runs (include/winoprune/prune/scheduler.h): one class per kind
// behind the hooks the scheduler forwards from the training loop. Private to src/prune.
//
// Time t of a policy: the epoch (unit "epoch") or epoch * iters_per_epoch + iter ("iteration"),
// both counted from 0 within the phase. A policy FIRES at t when start <= t < end and
// (t - start) % frequency == 0; mask-based pruners prune at the firing steps. The threshold
// pruner is ACTIVE at every t in [start, end) (its frequency is 1, checked by the parser).
//
// A layer belongs to one pruner (the scheduler refuses a second), so the pruners of a phase
// never touch the same weights and the order in which they run a hook does not matter.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "winoprune/prune/config.h"
#include "winoprune/prune/magnitude.h"
#include "winoprune/prune/scheduler.h"

namespace wp {

// What the pruners of one scheduler share: the model's layers, the phase's policies and clock,
// and the last target set per layer.
struct PruningContext {
  std::vector<PrunableLayer> layers;   // every prunable layer of the model, network order
  std::vector<PolicyConfig> policies;
  int64_t phase_epochs = 0;
  int64_t iters_per_epoch = 0;   // the last value a minibatch hook gave (0: none yet)
  std::vector<std::pair<std::string, double>> targets;   // PruningScheduler::last_targets()

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
  void set_target(const std::string& layer, double s);
};

// Where a pruner's restore() reads its running state from (the checkpoint's PruningState) and
// how it fails: InputError naming the checkpoint file.
struct RestoreSource {
  const PruningState& state;
  const std::string& file;
  const Tensor* find(const std::string& name) const;   // null when absent
  [[noreturn]] void fail(const std::string& what) const;
};

class Pruner {
 public:
  Pruner(const PrunerConfig& config, std::vector<size_t> layers, PruningContext& ctx)
      : config_(config), layers_(std::move(layers)), ctx_(ctx) {}
  virtual ~Pruner() = default;
  Pruner(const Pruner&) = delete;
  Pruner& operator=(const Pruner&) = delete;

  const PrunerConfig& config() const { return config_; }
  void add_policy(size_t k) { policies_.push_back(k); }

  // The training loop's hooks (scheduler.h), with the context's iterations per epoch.
  virtual void on_epoch_begin(int64_t epoch) = 0;
  virtual void on_minibatch_begin(int64_t epoch, int64_t iter) = 0;
  virtual void after_backward(int64_t epoch, int64_t iter) = 0;
  virtual void after_optimizer_step(int64_t epoch, int64_t iter) { (void)epoch, (void)iter; }
  virtual void on_epoch_end(int64_t epoch) { (void)epoch; }

  // PruningScheduler::planned_targets for this pruner's layers.
  std::vector<PlannedTarget> planned_targets(int64_t epoch, int64_t ipe) const;

  // The running state: this pruner's entry of PruningState::scalars, its tensors appended to
  // `tensors` (names "pruning.<pruner>.<layer>.<what>"), and back from that entry. Every
  // entry has "grad_steps" and "layers" whatever the type (the format checkpoints have).
  virtual json save(std::vector<std::pair<std::string, Tensor>>& tensors) const = 0;
  virtual void restore(const json& entry, const RestoreSource& from) = 0;

 protected:
  // planned_targets' parts: the step of a policy's last event at or before `upto` (in its
  // unit), the target the pruner holds after the event at t_last, whether one target covers
  // the layers together, and layer i's share of a target.
  virtual int64_t last_event(const PolicyConfig& p, int64_t upto) const = 0;
  virtual std::optional<double> planned_target(const PolicyConfig& p, int64_t t_last,
                                                int64_t end) const = 0;
  virtual bool global() const { return false; }
  virtual double layer_target(size_t i, double target) const { (void)i; return target; }

  Parameter& weight(size_t i) const { return *ctx_.layers[layers_[i]].weight; }
  const std::string& layer_name(size_t i) const { return ctx_.layers[layers_[i]].name; }
  std::string tensor_prefix() const { return std::string(kPruningTensorPrefix) + config_.name + "."; }

  PrunerConfig config_;
  std::vector<size_t> layers_;     // indices into ctx_.layers, network order
  std::vector<size_t> policies_;   // indices into ctx_.policies
  PruningContext& ctx_;
};

// magnitude, gradual and steps: at their events a mask from the ranking (magnitude.h), value
// and momentum zeroed where it is 0. They differ only in the target an event sets.
class MaskPruner : public Pruner {
 public:
  MaskPruner(const PrunerConfig& config, std::vector<size_t> layers, PruningContext& ctx,
             const RankingOptions& ranking);

  void on_epoch_begin(int64_t epoch) override { fire(PruneUnit::epoch, epoch, 0); }
  void on_minibatch_begin(int64_t epoch, int64_t iter) override {
    fire(PruneUnit::iteration, epoch, iter);
  }
  void after_backward(int64_t epoch, int64_t iter) override;

  json save(std::vector<std::pair<std::string, Tensor>>& tensors) const override;
  void restore(const json& entry, const RestoreSource& from) override;

 protected:
  // The target set when a policy fires at t; nullopt: nothing to do.
  virtual std::optional<double> target_at(const PolicyConfig& p, int64_t t, int64_t end) const = 0;

  int64_t last_event(const PolicyConfig& p, int64_t upto) const override {
    return p.start + ((upto - p.start) / p.frequency) * p.frequency;
  }
  std::optional<double> planned_target(const PolicyConfig& p, int64_t t_last,
                                       int64_t end) const override {
    return target_at(p, t_last, end);
  }
  bool global() const override { return ranking_.global; }

 private:
  // Fires the policies of `unit` that fire at this step (at most one pruning per step).
  void fire(PruneUnit unit, int64_t epoch, int64_t iter);
  void prune_to(double target);

  RankingOptions ranking_;
  PositionScales position_scales_;   // one factor list per layer (empty: conv and fc)
  std::vector<Tensor> grad_sq_;      // fisher: per layer, sum of g^2 since the last event
  int64_t grad_steps_ = 0;           // fisher: how many gradients grad_sq holds
};

class MagnitudePruner : public MaskPruner {
 public:
  MagnitudePruner(const PrunerConfig& config, std::vector<size_t> layers, PruningContext& ctx);

 protected:
  std::optional<double> target_at(const PolicyConfig&, int64_t, int64_t) const override {
    return spec_.sparsity;
  }
  double layer_target(size_t i, double target) const override {
    return layer_targets_.empty() ? target : layer_targets_[i];
  }

 private:
  MagnitudeSpec spec_;
  std::vector<double> layer_targets_;   // per-layer sparsities: one per layer, else empty
};

class GradualPruner : public MaskPruner {
 public:
  GradualPruner(const PrunerConfig& config, std::vector<size_t> layers, PruningContext& ctx)
      : MaskPruner(config, std::move(layers), ctx, std::get<GradualSpec>(config.spec).ranking),
        spec_(std::get<GradualSpec>(config.spec)) {}

 protected:
  std::optional<double> target_at(const PolicyConfig& p, int64_t t, int64_t end) const override;

 private:
  GradualSpec spec_;
};

class StepsPruner : public MaskPruner {
 public:
  StepsPruner(const PrunerConfig& config, std::vector<size_t> layers, PruningContext& ctx)
      : MaskPruner(config, std::move(layers), ctx, std::get<StepsSpec>(config.spec).ranking),
        spec_(std::get<StepsSpec>(config.spec)) {}

 protected:
  std::optional<double> target_at(const PolicyConfig& p, int64_t t, int64_t end) const override;

 private:
  StepsSpec spec_;
};

// The threshold pruner (the reference's method): no mask while its window is open, W := 0
// where |W| <= thr after every optimizer step, the zeros frozen into the mask when it closes.
class ThresholdPruner : public Pruner {
 public:
  ThresholdPruner(const PrunerConfig& config, std::vector<size_t> layers, PruningContext& ctx);

  void on_epoch_begin(int64_t epoch) override { open_if_active(epoch, 0); }
  void on_minibatch_begin(int64_t epoch, int64_t iter) override { open_if_active(epoch, iter); }
  void after_backward(int64_t epoch, int64_t iter) override;
  void after_optimizer_step(int64_t epoch, int64_t iter) override;
  void on_epoch_end(int64_t epoch) override;

  json save(std::vector<std::pair<std::string, Tensor>>& tensors) const override;
  void restore(const json& entry, const RestoreSource& from) override;

 protected:
  // Active at every step of its window: frequency 1.
  int64_t last_event(const PolicyConfig& p, int64_t upto) const override {
    (void)p;
    return upto;
  }
  std::optional<double> planned_target(const PolicyConfig& p, int64_t t_last,
                                       int64_t end) const override;

 private:
  struct LayerState {
    std::vector<double> position_thr;   // thr0_j per position (Winograd, per_position) or {thr0}
    int64_t position_size = 0;          // entries per position (K * C/g), or numel
    Tensor adaptive_thr;                // per entry, from the last after_backward (adaptive only)
    Tensor grad_ms;                     // "gradient": "rms": the moving average of g^2 per entry
    int64_t grad_steps = 0;             // how many gradients grad_ms holds (bias correction)
    double cut = -1;                    // target mode: zero where |W| / thr <= cut (thr0 * cut
                                        // is the effective thr0); -1: not chosen yet
    int64_t steps_since_cut = 0;
    std::vector<float> ratio;           // target mode: |W| / thr per entry (kept between steps)
  };

  // Active at step (epoch, iter) if any of its policies covers it.
  bool active(int64_t epoch, int64_t iter) const;
  bool active_in_epoch(int64_t epoch) const;
  void open_if_active(int64_t epoch, int64_t iter);
  void open_window();
  void close_window();
  bool all_masked() const;
  // Target mode: the cubic schedule's target at this step, nullopt without final_sparsity.
  std::optional<double> step_target(int64_t epoch, int64_t iter) const;
  void zero_below_cut(size_t i, double target, bool closing);
  void zero_below_threshold(size_t i);

  ThresholdSpec spec_;
  std::vector<LayerState> state_;   // one per layer
};

// The pruner of a config's type, on the selected `layers` (indices into ctx.layers).
std::unique_ptr<Pruner> make_pruner(const PrunerConfig& config, std::vector<size_t> layers,
                                    PruningContext& ctx);

}  // namespace wp
