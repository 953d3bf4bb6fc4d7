#include "winoprune/app/runner.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <optional>

#include "winoprune/app/interrupt.h"
#include "winoprune/app/model_checkpoint.h"
#include "winoprune/app/plan.h"
#include "winoprune/data/loader.h"
#include "winoprune/dist/dist.h"
#include "winoprune/dist/gradient_allreduce.h"
#include "winoprune/error.h"
#include "winoprune/io/atomic_file.h"
#include "winoprune/io/json_reader.h"
#include "winoprune/report/metrics.h"
#include "winoprune/io/progress.h"
#include "winoprune/report/run_report.h"
#include "winoprune/nn/model.h"
#include "winoprune/ops/ops.h"
#include "winoprune/optim/lr_schedule.h"
#include "winoprune/optim/optimizer.h"
#include "winoprune/prune/scheduler.h"
#include "winoprune/prune/sensitivity.h"

namespace fs = std::filesystem;

namespace wp {

namespace {

using Clock = std::chrono::steady_clock;

json eval_to_json(const Evaluation& e) {
  return json{{"top1", e.top1}, {"top5", e.top5}, {"loss", e.loss}, {"seconds", e.seconds}};
}

// An evaluation the checkpoint's run state recorded (a field it lacks, or null, reads as 0).
Evaluation eval_from_json(JsonReader r) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  Evaluation e;
  e.top1 = r.number("top1", 0.0, 0.0, 1.0);
  e.top5 = r.number("top5", 0.0, 0.0, 1.0);
  e.loss = r.number("loss", 0.0, -kInf, kInf);
  e.seconds = r.number("seconds", 0.0, 0.0, kInf);
  return e;
}

// A number the record must have (absent or null is an error naming the path).
double required_number(JsonReader& r, const char* key) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const std::optional<double> v = r.optional_number(key, -kInf, kInf);
  if (!v) r.fail(key, "expected a number");
  return *v;
}

class Runner {
 public:
  Runner(const ExperimentConfig& config, const RunDir& dir, const RunOptions& options)
      : cfg_(config), dir_(dir), log_(options.log ? *options.log : std::cerr),
        out_(options.out ? *options.out : std::cout), resolved_(experiment_to_json(config)),
        rng_(mix(config.seed, 0xd50), 1), train_(options.train), val_(options.val),
        plan_(options.plan), provenance_(options.provenance) {}

  Report run(bool resume);

 private:
  double elapsed() const {
    return seconds_base_ + std::chrono::duration<double>(Clock::now() - start_).count();
  }
  const Dataset& train_data();
  const Dataset& val_data();
  Evaluation evaluate(InferenceKernel kernel);
  std::map<std::string, double> sparsity_by_layer();
  void log_val(const PhaseConfig& phase, int index, int64_t epoch, int64_t iter,
               const Evaluation& e);
  // light: the phase changed no weight, so when latest holds them only the run position is
  // written (eval and sensitivity phases; 0.5 GB less per such phase for AlexNet).
  void save(const PhaseConfig& phase, int index, int64_t epochs_done, int64_t iter,
            bool phase_done, bool light = false);
  RunState run_state(int index, int64_t epochs_done, int64_t iter, bool phase_done,
                     CheckpointContents& what);
  void init_from(const PhaseConfig& phase);
  std::unique_ptr<Model> load_teacher(const DistillConfig& d);

  // Where a run starts: the newest checkpoint's position when it resumes, else the beginning.
  struct ResumePoint {
    int first_phase = 0;
    int64_t epoch = 0, iter = 0;             // inside first_phase (0, 0: from its beginning)
    ModelConfig model;                       // the checkpoint's (conversions applied), if any
    std::string path;                        // the checkpoint ("": none)
    std::optional<SafeTensorsFile> ckpt;
    bool phase_done = false;                 // the checkpoint completed phase first_phase - 1
  };
  int choose_threads() const;
  void plan_if_needed();
  ResumePoint find_resume_point();
  void restore_train_sums(const RunState& state, const std::string& path);
  void restore_run_state(const RunState& state, const std::string& path);
  void build_model_at(ResumePoint& at);
  void run_phases(const ResumePoint& at);
  void run_phase(int i, bool fresh, int64_t start_epoch, int64_t start_iter);
  void final_evaluation();
  Report write_report();

  // What the steps of one training phase share while it runs (run_training builds it).
  struct TrainingLoop {
    const PhaseConfig& phase;
    const TrainingConfig& training;
    int index;
    int64_t iters;                           // per epoch
    PruningScheduler* pruning;               // prune phases
    Optimizer& optimizer;
    Model* teacher;                          // distillation
    ForwardContext& ctx;
    ForwardContext& teacher_ctx;
    GradientAllreduce& reducer;
    ProgressReporter& progress;
  };
  void run_training(const PhaseConfig& phase, int index, int64_t start_epoch, int64_t start_iter);
  std::optional<PruningScheduler> make_pruning(const PhaseConfig& phase, bool resumed);
  int64_t iterations_per_epoch(const Dataset& data) const;
  void run_epoch(TrainingLoop& loop, const Dataset& data, int64_t epoch, int64_t first);
  double train_step(TrainingLoop& loop, const Batch& batch, int64_t epoch, int64_t iter);
  double forward_backward(TrainingLoop& loop, const Batch& batch, Var& logits);
  // This rank's loss summed over its images (the mean of each slice times its images), and
  // its correct top-1 predictions.
  struct StepSums {
    double loss = 0;
    int64_t correct = 0;
  };
  StepSums accumulate_slices(TrainingLoop& loop, const Batch& batch);
  void count_step(TrainingLoop& loop, const StepSums& sums, double global_images, int64_t epoch,
                  int64_t iter);
  void log_train(const TrainingLoop& loop, int64_t epoch, int64_t iter, double lr);
  void end_epoch(TrainingLoop& loop, int64_t epoch);
  std::string sparsity_summary();
  void run_convert(const PhaseConfig& phase, int index);
  void run_eval(const PhaseConfig& phase, int index);
  void run_sensitivity(const PhaseConfig& phase);
  Report make_report(double wall);

  void check_sparsity_targets(const PrunePhase& phase, const std::string& path,
                              const PruningScheduler& pruning, int64_t iters);
  void check_ranks_agree(const PhaseConfig& phase, int64_t epochs_done);

  const ExperimentConfig& cfg_;
  RunDir dir_;
  std::ostream& log_;
  std::ostream& out_;
  json resolved_;
  std::unique_ptr<Model> model_;
  Rng rng_;                                  // dropout
  Rng step_rng_{1, 3};                       // dropout of data-parallel runs: per step and rank
  std::shared_ptr<Dataset> train_, val_;
  const ExperimentPlan* plan_;
  ExperimentPlan own_plan_;                  // when the caller gave none
  std::map<std::string, double> targets_;    // per layer: the last prune phase's final target
  Provenance provenance_;
  int threads_ = 1;
  std::unique_ptr<MetricsLog> metrics_;
  Clock::time_point start_ = Clock::now();
  double seconds_base_ = 0;
  int64_t step_ = 0;
  // What the report needs across resumes (stored in RunState::extra).
  std::optional<Evaluation> baseline_, final_, last_val_;
  std::string final_kernel_;
  bool last_val_fresh_ = false;              // no weight changed since last_val_
  json phases_done_ = json::array();         // [{"index", "type", "epochs", "seconds"}]
  bool weights_in_latest_ = false;           // latest.safetensors holds the current weights
  double phase_started_ = 0;                 // run seconds when the current phase began
  // Adds phase i to phases_done_ (once). Called by the checkpoint that completes the phase,
  // BEFORE it is written, so a run resumed from that checkpoint reports the phase.
  void record_phase_done(int i) {
    for (const json& p : phases_done_)
      if (p.value("index", -1) == i) return;
    const PhaseConfig& phase = cfg_.phases[size_t(i)];
    phases_done_.push_back(json{{"index", i}, {"type", phase_type_name(phase.type())},
                                {"epochs", phase.epochs()}, {"seconds", elapsed() - phase_started_}});
  }
  // The training loop's running sums (metrics window and epoch summary), checkpointed so a
  // run resumed inside an epoch logs what the uninterrupted run logs.
  struct TrainSums {
    double loss = 0, top1 = 0;                 // since the last metrics record
    int64_t seen = 0;
    double epoch_loss = 0, epoch_top1 = 0;     // since the epoch began
    int64_t epoch_seen = 0, epoch_images = 0;
  } sums_;
  PruningScheduler* pruning_ = nullptr;      // the running prune phase's scheduler, if any
  std::optional<SafeTensorsFile> resume_ckpt_;   // the checkpoint a mid-phase resume starts from
  RunState resume_state_;
};


const Dataset& Runner::train_data() {
  if (!train_) {
    train_ = open_dataset(cfg_.data, Split::train,
                          [this](const std::string& w) { log_ << "warning: " << w << "\n"; });
    auto s = train_->stats();
    log_ << "data: train " << s.images << " images, " << s.classes << " classes (" << s.root
         << ")\n";
  }
  return *train_;
}

const Dataset& Runner::val_data() {
  if (!val_) {
    val_ = open_dataset(cfg_.data, Split::val,
                        [this](const std::string& w) { log_ << "warning: " << w << "\n"; });
    auto s = val_->stats();
    log_ << "data: val " << s.images << " images, " << s.classes << " classes\n";
  }
  return *val_;
}

Evaluation Runner::evaluate(InferenceKernel kernel) {
  Evaluation e = evaluate_model(*model_, val_data(), cfg_.data, kernel);
  last_val_ = e;
  last_val_fresh_ = true;
  return e;
}

std::map<std::string, double> Runner::sparsity_by_layer() {
  std::map<std::string, double> out;
  for (const LayerSparsity& s : layer_sparsities(prunable_layers(*model_))) out[s.name] = s.sparsity;
  return out;
}

void Runner::log_val(const PhaseConfig& phase, int index, int64_t epoch, int64_t iter,
                     const Evaluation& e) {
  MetricsRecord r;
  r.phase = phase_type_name(phase.type());
  r.phase_index = index;
  r.split = "val";
  r.epoch = epoch;
  r.iter = iter;
  r.step = step_;
  r.loss = e.loss;
  r.top1 = e.top1;
  r.top5 = e.top5;
  r.sparsity = sparsity_by_layer();
  r.seconds = elapsed();
  if (metrics_) metrics_->append(r);
}

// The run's position and what the report needs across resumes (RunState::extra); the running
// pruning scheduler's tensors go to `what`.
RunState Runner::run_state(int index, int64_t epochs_done, int64_t iter, bool phase_done,
                           CheckpointContents& what) {
  RunState s;
  s.phase_index = index;
  s.phase_done = phase_done;
  s.epoch = epochs_done;
  s.iteration = iter;
  s.step = step_;
  s.seconds = elapsed();
  s.rng_state = rng_.state();
  s.rng_inc = rng_.inc();
  json extra;
  if (baseline_) extra["baseline"] = eval_to_json(*baseline_);
  if (final_) extra["final"] = eval_to_json(*final_), extra["final_kernel"] = final_kernel_;
  if (last_val_) extra["last_val"] = eval_to_json(*last_val_);
  extra["last_val_fresh"] = last_val_fresh_;
  if (phase_done) record_phase_done(index);
  extra["phases_done"] = phases_done_;
  extra["phase_started"] = phase_started_;
  extra["targets"] = targets_;
  extra["started"] = provenance_.started;
  if (iter > 0)
    extra["train_sums"] = json{{"loss", sums_.loss}, {"top1", sums_.top1}, {"seen", sums_.seen},
                               {"epoch_loss", sums_.epoch_loss}, {"epoch_top1", sums_.epoch_top1},
                               {"epoch_seen", sums_.epoch_seen},
                               {"epoch_images", sums_.epoch_images}};
  if (pruning_ && !phase_done) {
    PruningState ps = pruning_->state();
    extra["pruning"] = ps.scalars;
    what.extra_tensors = std::move(ps.tensors);
  }
  s.extra = extra;
  return s;
}

void Runner::save(const PhaseConfig& phase, int index, int64_t epochs_done, int64_t iter,
                  bool phase_done, bool light) {
  if (!dist::is_root()) return;   // rank 0 alone writes the run directory
  CheckpointContents what;
  const RunState s = run_state(index, epochs_done, iter, phase_done, what);

  // A mid-epoch checkpoint only refreshes latest; an epoch end also keeps <phase>-<epoch>.
  std::string latest = dir_.latest_checkpoint();
  if (light && weights_in_latest_ && fs::exists(latest)) {
    // Nothing changed the weights since latest was written (an eval or sensitivity phase):
    // record the position alone; a resume takes the weights from latest.
    what.weights = false;
    save_checkpoint(dir_.checkpoint(phase.name, epochs_done), *model_, s, resolved_, what);
    return;
  }
  weights_in_latest_ = true;
  if (iter == 0) {
    std::string path = dir_.checkpoint(phase.name, epochs_done);
    save_checkpoint(path, *model_, s, resolved_, what);
    // latest = a hard link to the same file, swapped in atomically (no second 40 MB write).
    std::string tmp = latest + ".tmp";
    std::error_code ec;
    fs::remove(tmp, ec);
    fs::create_hard_link(path, tmp, ec);
    if (ec) fs::copy_file(path, tmp, fs::copy_options::overwrite_existing);
    fs::rename(tmp, latest);
    if (cfg_.keep_checkpoints == "last" && epochs_done > 0) {
      for (int64_t e = epochs_done - 1; e >= 0; --e) {
        std::string older = dir_.checkpoint(phase.name, e);
        if (!fs::exists(older)) break;
        fs::remove(older, ec);
      }
    }
  } else {
    save_checkpoint(latest, *model_, s, resolved_, what);
  }
}

void Runner::init_from(const PhaseConfig& phase) {
  if (phase.init.empty()) return;
  SafeTensorsFile file = read_safetensors(phase.init);
  load_checkpoint_into(file, *model_, /*with_momentum=*/false);
  last_val_fresh_ = false;
  weights_in_latest_ = false;
  log_ << phase.path << ": initialized from " << phase.init << "\n";
}

std::unique_ptr<Model> Runner::load_teacher(const DistillConfig& d) {
  std::string path = d.teacher;
  if (d.teacher_is_phase) {
    for (const PhaseConfig& p : cfg_.phases)
      if (p.name == d.teacher) path = dir_.checkpoint(p.name, p.epochs());
    if (!fs::is_regular_file(path))
      throw InputError(path + ": the teacher checkpoint of phase \"" + d.teacher +
                       "\" is missing (a phase of 0 epochs writes none; name another phase)");
  }
  SafeTensorsFile file = read_safetensors(path);
  Rng unused(0, 1);
  std::unique_ptr<Model> teacher = build_model(checkpoint_model_config(file), unused);
  load_checkpoint_into(file, *teacher, /*with_momentum=*/false);
  teacher->prepare_inference(InferenceKernel::dense);
  log_ << "distilling from " << path << " (temperature " << d.temperature << ", weight "
       << d.weight << ")\n";
  return teacher;
}

void Runner::run_training(const PhaseConfig& phase, int index, int64_t start_epoch,
                          int64_t start_iter) {
  const Dataset& data = train_data();
  const TrainingConfig& training = *phase.training();
  if (start_epoch == 0 && start_iter == 0)
    for (Parameter* p : model_->parameters()) p->momentum = p->second_moment = Tensor();
  std::optional<PruningScheduler> pruning = make_pruning(phase, start_epoch > 0 || start_iter > 0);
  pruning_ = pruning ? &*pruning : nullptr;
  resume_ckpt_.reset();   // its tensors are no longer needed
  struct ClearOnExit {
    PruningScheduler*& p;
    ~ClearOnExit() { p = nullptr; }
  } clear_pruning{pruning_};
  const FinetunePhase* finetune = phase.as<FinetunePhase>();
  if (finetune) freeze_masks(prunable_layers(*model_));
  Optimizer optimizer(model_->parameters(), training.optimizer);
  // Nothing changes a mask in a fine-tune phase: the optimizer updates the kept entries only
  // and the masked layers check their patterns once (ctx.frozen_masks below); each epoch's end
  // checks the promise.
  if (finetune) optimizer.set_masks_frozen(true);
  std::unique_ptr<Model> teacher = training.distill ? load_teacher(*training.distill) : nullptr;
  ForwardContext teacher_ctx;   // evaluation mode: no dropout, the dense Winograd path
  const int64_t iters = iterations_per_epoch(data);
  optimizer.set_step_count(start_epoch * iters + start_iter);   // Adam's bias correction on resume
  ForwardContext ctx;
  ctx.training = true;
  ctx.rng = dist::size() > 1 ? &step_rng_ : &rng_;
  ctx.masked_products = finetune && finetune->masked_products;
  if (finetune) ctx.frozen_masks = new_frozen_masks_id();
  const PrunePhase* prune = phase.as<PrunePhase>();
  ctx.sparse_forward = prune && prune->sparse_forward;
  // Slices of a step run backward more than once before the gradients are complete: no
  // overlapped allreduce then, one after the last slice.
  GradientAllreduce reducer(model_->parameters(), cfg_.data.accumulate > 1
                                                      ? 0
                                                      : GradientAllreduce::kDefaultBucketBytes);
  ProgressOptions popt;
  popt.live = &log_ == &std::cerr && ProgressReporter::stderr_is_terminal();
  ProgressReporter progress(log_, popt);
  TrainingLoop loop{phase, training, index, iters, pruning_, optimizer, teacher.get(),
                    ctx, teacher_ctx, reducer, progress};

  for (int64_t epoch = start_epoch; epoch < training.epochs; ++epoch) {
    run_epoch(loop, data, epoch, epoch == start_epoch ? start_iter : 0);
    optimizer.check_masks_frozen();
    end_epoch(loop, epoch);
  }
  if (pruning && training.epochs > 0)
    check_sparsity_targets(*phase.as<PrunePhase>(), phase.path, *pruning, iters);
}

// A prune phase's scheduler, its running state restored when the phase resumes inside.
std::optional<PruningScheduler> Runner::make_pruning(const PhaseConfig& phase, bool resumed) {
  const PrunePhase* prune = phase.as<PrunePhase>();
  if (!prune) return std::nullopt;
  std::optional<PruningScheduler> pruning;
  pruning.emplace(prune->pruning, prunable_layers(*model_), prune->training.epochs);
  if (resumed && resume_ckpt_) {
    PruningState ps;
    ps.scalars = resume_state_.extra.value("pruning", json::object());
    ps.tensors = checkpoint_extra_tensors(*resume_ckpt_, kPruningTensorPrefix);
    pruning->restore(ps, resume_ckpt_->path);
  }
  return pruning;
}

// Iterations per epoch (the schedules need it); workers 0: no producer thread is started.
int64_t Runner::iterations_per_epoch(const Dataset& data) const {
  LoaderOptions probe = train_loader_options(cfg_.data, cfg_.seed, 0);
  probe.workers = 0;
  const int64_t iters = BatchLoader(data, probe).batches_per_epoch();
  if (iters == 0) throw InputError(cfg_.file + ": data.batch: larger than the training split");
  return iters;
}

// The iterations of one epoch from `first` (> 0: a resume inside it).
void Runner::run_epoch(TrainingLoop& loop, const Dataset& data, int64_t epoch, int64_t first) {
  // Inside an epoch the resumed sums continue; the epoch's begin events already fired.
  if (first == 0) {
    sums_ = TrainSums();
    if (loop.pruning) loop.pruning->on_epoch_begin(epoch);
  }
  LoaderOptions lopt = train_loader_options(cfg_.data, cfg_.seed, epoch, first);
  lopt.shard = dist::rank(), lopt.shards = dist::size();   // this rank's slice of each batch
  BatchLoader loader(data, lopt);
  Batch batch;
  loop.progress.begin(loop.phase.name, epoch + 1, loop.training.epochs, loop.iters);
  for (int64_t iter = first; loader.next(batch); ++iter) {
    const double lr = train_step(loop, batch, epoch, iter);
    if ((iter + 1) % cfg_.log_every == 0) log_train(loop, epoch, iter, lr);
    const bool periodic = cfg_.checkpoint_every > 0 && (iter + 1) % cfg_.checkpoint_every == 0;
    if (iter + 1 < loop.iters && (periodic || interrupt_signal())) {
      save(loop.phase, loop.index, epoch, iter + 1, false);
      if (int sig = interrupt_signal()) {
        loop.progress.clear();
        throw Interrupted(sig, dir_.root);
      }
    }
  }
}

// One optimizer step with the pruning hooks around it; returns the learning rate it used.
double Runner::train_step(TrainingLoop& loop, const Batch& batch, int64_t epoch, int64_t iter) {
  if (loop.pruning) loop.pruning->on_minibatch_begin(epoch, iter, loop.iters);
  loop.optimizer.zero_grad();
  // Data parallel: the global batch's size first (corrupt samples make slices uneven);
  // each rank's gradient counts with its share (gradient_allreduce.h).
  double images = double(batch.size());
  dist::allreduce_sum(&images, 1);
  const double global_images = images;
  if (dist::size() > 1)   // dropout draws per (seed, step, rank): no state to checkpoint
    step_rng_ = Rng(mix(cfg_.seed, uint64_t(step_), uint64_t(dist::rank())), 3);
  loop.reducer.begin_step(global_images > 0 ? double(batch.size()) / global_images : 0.0);
  loop.ctx.step = step_;
  const StepSums sums = accumulate_slices(loop, batch);
  loop.reducer.finish();
  if (loop.pruning) loop.pruning->after_backward(epoch, iter, loop.iters);
  const double lr = lr_at(loop.training.lr_schedule, static_cast<int>(epoch), iter, loop.iters);
  loop.optimizer.step(static_cast<float>(lr));
  weights_in_latest_ = false;
  if (loop.pruning) loop.pruning->after_optimizer_step(epoch, iter, loop.iters);
  last_val_fresh_ = false;
  ++step_;
  count_step(loop, sums, global_images, epoch, iter);
  return lr;
}

// Forward and backward over data.accumulate contiguous slices of the batch (the rows a rank
// of as many ranks would take, loader.h), each slice's gradients scaled by its share of the
// batch and summed: one slice is the plain step. Two equal slices give bit for bit what two
// ranks' allreduce gives, (0.5 g0) + (0.5 g1): the test of data-parallel runs compares against
// that.
Runner::StepSums Runner::accumulate_slices(TrainingLoop& loop, const Batch& batch) {
  StepSums sums;
  auto forward_backward_counted = [&](const Batch& part) {
    Var logits;
    sums.loss += forward_backward(loop, part, logits) * double(part.size());
    sums.correct += count_topk_correct(logits->value, part.labels, 1);
  };
  const int64_t n = batch.size();
  const int parts = int(std::min<int64_t>(cfg_.data.accumulate, n));
  if (parts <= 1) {
    if (n > 0) forward_backward_counted(batch);
    return sums;
  }
  std::vector<Parameter*> params = model_->parameters();
  std::vector<Tensor> total(params.size());
  for (int k = 0; k < parts; ++k) {
    const int64_t b0 = n * k / parts, b1 = n * (k + 1) / parts;
    Batch slice;
    slice.images = batch.images.slice(b0, b1);
    slice.labels.assign(batch.labels.begin() + b0, batch.labels.begin() + b1);
    forward_backward_counted(slice);
    const float share = float(double(b1 - b0) / double(n));
    for (size_t i = 0; i < params.size(); ++i) {
      Node& p = *params[i]->var;
      p.grad_buffer();   // zeros where no gradient flowed
      if (k == 0) {
        total[i] = std::move(p.grad);   // taken out: the next slice's backward gets a new one
        p.grad = Tensor();
        total[i].scale(share);
      } else {
        total[i].add_scaled(p.grad, share);
        p.release_grad();
      }
    }
  }
  for (size_t i = 0; i < params.size(); ++i) params[i]->var->grad = std::move(total[i]);
  return sums;
}

// Forward, loss (against the teacher's logits when distilling) and backward; the local loss.
double Runner::forward_backward(TrainingLoop& loop, const Batch& batch, Var& logits) {
  Var x = leaf(batch.images);
  logits = model_->forward(x, loop.ctx);
  Var loss;
  if (loop.teacher) {
    Tensor teacher_logits;
    {
      NoGradGuard no_grad;
      teacher_logits = loop.teacher->forward(leaf(batch.images), loop.teacher_ctx)->value;
    }
    const DistillConfig& d = *loop.training.distill;
    loss = distillation_loss(logits, teacher_logits, batch.labels, float(d.temperature),
                             float(d.weight));
  } else {
    loss = softmax_cross_entropy(logits, batch.labels);
  }
  const double local_loss = loss->value[0];
  backward(loss);
  return local_loss;
}

// The step's loss and top-1 over all ranks into the running sums and the progress line.
void Runner::count_step(TrainingLoop& loop, const StepSums& sums, double global_images,
                        int64_t epoch, int64_t iter) {
  double counts[2] = {sums.loss, double(sums.correct)};
  dist::allreduce_sum(counts, 2);
  const double l = global_images > 0 ? counts[0] / global_images : 0.0;
  if (!std::isfinite(l))
    throw std::runtime_error(loop.phase.path + ": the loss became " + std::to_string(l) +
                             " at epoch " + std::to_string(epoch + 1) + " iteration " +
                             std::to_string(iter + 1) + " (learning rate too high?)");
  const double acc = global_images > 0 ? counts[1] / global_images : 0.0;
  TrainSums& s = sums_;
  s.loss += l, s.top1 += acc, ++s.seen;
  s.epoch_loss += l, s.epoch_top1 += acc, ++s.epoch_seen, s.epoch_images += int64_t(global_images);
  loop.progress.update(iter + 1, s.epoch_loss / s.epoch_seen, s.epoch_top1 / s.epoch_seen,
                       s.epoch_images);
}

// A metrics.jsonl train record of the steps since the last one.
void Runner::log_train(const TrainingLoop& loop, int64_t epoch, int64_t iter, double lr) {
  MetricsRecord r;
  r.phase = phase_type_name(loop.phase.type());
  r.phase_index = loop.index;
  r.epoch = epoch + 1;
  r.iter = epoch * loop.iters + iter + 1;
  r.step = step_;
  r.lr = lr;
  r.loss = sums_.loss / sums_.seen;
  r.top1 = sums_.top1 / sums_.seen;
  r.sparsity = sparsity_by_layer();
  r.seconds = elapsed();
  if (metrics_) metrics_->append(r);
  sums_.loss = sums_.top1 = 0;
  sums_.seen = 0;
}

// Pruning's epoch end, validation, the epoch summary, and the epoch's checkpoint.
void Runner::end_epoch(TrainingLoop& loop, int64_t epoch) {
  if (loop.pruning) loop.pruning->on_epoch_end(epoch);
  const bool last = epoch + 1 == loop.training.epochs;
  EpochSummary summary;
  summary.images = sums_.epoch_images;
  if (sums_.epoch_seen) {
    summary.train_loss = sums_.epoch_loss / sums_.epoch_seen;
    summary.train_top1 = sums_.epoch_top1 / sums_.epoch_seen;
  }
  if (last || (epoch + 1) % loop.training.eval_every == 0) {
    loop.progress.clear();
    Evaluation ev = evaluate(InferenceKernel::dense);
    log_val(loop.phase, loop.index, epoch + 1, (epoch + 1) * loop.iters, ev);
    if (!std::isfinite(ev.loss))
      throw std::runtime_error(loop.phase.path + ": the validation loss became " +
                               std::to_string(ev.loss) + " after epoch " +
                               std::to_string(epoch + 1) + " (learning rate too high?)");
    summary.val_loss = ev.loss, summary.val_top1 = ev.top1, summary.val_top5 = ev.top5;
  }
  if (loop.phase.type() != PhaseType::train) summary.extra = sparsity_summary();
  loop.progress.end_epoch(summary);
  check_ranks_agree(loop.phase, epoch + 1);
  save(loop.phase, loop.index, epoch + 1, 0, last);
  if (int sig = interrupt_signal()) throw Interrupted(sig, dir_.root);
}

// "sparsity conv2 50.0%, conv3 61.2%": the layers with zeros ("" when none has).
std::string Runner::sparsity_summary() {
  std::string out;
  char buf[64];
  for (const auto& [name, s] : sparsity_by_layer()) {
    if (s <= 0) continue;
    std::snprintf(buf, sizeof buf, "%s%s %.1f%%", out.empty() ? "sparsity " : ", ", name.c_str(),
                  100 * s);
    out += buf;
  }
  return out;
}

void Runner::check_ranks_agree(const PhaseConfig& phase, int64_t epochs_done) {
  if (dist::size() == 1) return;
  // Every rank applies the same summed gradients to the same weights, so weights and masks
  // must be bitwise equal everywhere; a difference (a reduction that is not bitwise the same on
  // every rank, a rank that pruned differently) is caught here, at each epoch end.
  uint64_t h = 1469598103934665603ull;   // FNV-1a over the weights' and masks' bytes
  for (Parameter* p : model_->parameters())
    for (const Tensor* t : {&p->value(), &p->mask}) {
      if (!t->defined()) continue;
      const unsigned char* b = reinterpret_cast<const unsigned char*>(t->data());
      const size_t n = size_t(t->numel()) * sizeof(float);
      for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
    }
  if (!dist::same_on_all_ranks(h))
    throw std::runtime_error(phase.path + ": the ranks' weights or masks differ after epoch " +
                             std::to_string(epochs_done) + " (rank " +
                             std::to_string(dist::rank()) + " checksum " + std::to_string(h) +
                             "); the data-parallel run cannot go on");
}

void Runner::check_sparsity_targets(const PrunePhase& phase, const std::string& path,
                                    const PruningScheduler& pruning, int64_t iters) {
  // A promise is kept when the layers reach the target within 0.5 points (a mask pruner's
  // count is llround(s * params), exact to one weight; the threshold pruner's target mode ends
  // its window exactly on s_f).
  constexpr double kTolerance = 0.005;
  std::map<std::string, LayerSparsity> reached;
  for (const LayerSparsity& s : pruning.stats()) reached[s.name] = s;
  std::string failures;
  for (const PlannedTarget& t : pruning.planned_targets(phase.training.epochs - 1, iters)) {
    if (!t.sparsity) continue;
    int64_t params = 0, nnz = 0;
    for (const std::string& l : t.layers) {
      params += reached.at(l).params, nnz += reached.at(l).nnz;
      targets_[l] = *t.sparsity;
    }
    const double got = params > 0 ? 1.0 - double(nnz) / double(params) : 0.0;
    if (got >= *t.sparsity - kTolerance) continue;
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s%s: %s reached %.2f%% sparsity, its target is %.2f%%",
                  failures.empty() ? "" : "; ", t.path.c_str(),
                  t.layers.size() == 1 ? t.layers[0].c_str() : "its layers together",
                  100 * got, 100 * *t.sparsity);
    failures += buf;
  }
  if (failures.empty()) return;
  if (!phase.shortfall_is_error) {
    log_ << "warning: " << failures << "\n";
    return;
  }
  throw SparsityShortfall(cfg_.file + ": " + failures + " (more than 0.5 points short; set " +
                          path + ".on_sparsity_shortfall to \"warn\" to go on)");
}

void Runner::run_convert(const PhaseConfig& phase, int index) {
  const ConvertPhase& convert = *phase.as<ConvertPhase>();
  for (const auto& [layer, m] : convert.m) {
    if (!model_->find_layer(layer))
      throw InputError(phase.path + ".layers: the model has no layer " + layer);
    model_->convert_to_winograd(layer, m);
  }
  weights_in_latest_ = false;
  last_val_fresh_ = false;
  Evaluation e = evaluate(InferenceKernel::dense);
  log_val(phase, index, 0, 0, e);
  log_ << phase.name << ": converted";
  for (const auto& [layer, m] : convert.m) log_ << " " << layer << " (m=" << m << ")";
  log_ << "; val top-1 " << e.top1 << ", top-5 " << e.top5 << ", loss " << e.loss << "\n";
  save(phase, index, 0, 0, true);
}

void Runner::run_eval(const PhaseConfig& phase, int index) {
  const InferenceKernel kernel = phase.as<EvalPhase>()->kernel;
  Evaluation e = evaluate(kernel);
  final_ = e;
  final_kernel_ = kernel == InferenceKernel::sparse ? "sparse" : "dense";
  log_val(phase, index, 0, 0, e);
  log_ << phase.name << " (" << final_kernel_ << " kernel): val top-1 " << e.top1 << ", top-5 "
       << e.top5 << ", loss " << e.loss << ", " << e.images << " images in " << e.seconds
       << " s\n";
}

void Runner::run_sensitivity(const PhaseConfig& phase) {
  const SensitivityPhase& sp = *phase.as<SensitivityPhase>();
  const SensitivityConfig& sc = sp.sweep;
  std::vector<PrunableLayer> layers = select_layers(sc.layers, prunable_layers(*model_));
  std::vector<double> levels = sc.levels();
  log_ << phase.name << ": " << layers.size() << " layers x " << levels.size() << " levels\n";
  size_t done = 0, total = layers.size() * levels.size();
  auto rows = sensitivity_analysis(layers, levels, [&]() {
    Evaluation e = evaluate_model(*model_, val_data(), cfg_.data, sp.kernel);
    // sensitivity_analysis runs layers (outer) x levels (inner), in order.
    const std::string& layer = layers[done / levels.size()].name;
    const double level = levels[done % levels.size()];
    ++done;
    char buf[160];
    std::snprintf(buf, sizeof buf, "  [%zu/%zu] %s at %.1f%% sparsity: top-1 %.4f, top-5 %.4f\n",
                  done, total, layer.c_str(), 100 * level, e.top1, e.top5);
    log_ << buf;
    return EvalMetrics{e.top1, e.top5, e.loss};
  }, sc.position_scale);
  if (dist::is_root()) write_text_file_atomic(dir_.sensitivity_csv(), render_sensitivity_csv(rows));
}

Report Runner::make_report(double wall) {
  Report rep;
  rep.name = cfg_.name;
  rep.dataset = cfg_.data.dataset;
  rep.model = model_->config().arch;
  auto summary = [](const Evaluation& e) { return EvalSummary{e.top1, e.top5, e.loss}; };
  if (final_) {
    rep.final_eval.top1 = final_->top1;
    rep.final_eval.top5 = final_->top5;
    rep.final_eval.loss = final_->loss;
    rep.final_eval.kernel = final_kernel_;
    rep.final_eval.eval_seconds = final_->seconds;
  }
  rep.baseline = baseline_ ? summary(*baseline_)
                           : EvalSummary{rep.final_eval.top1, rep.final_eval.top5, rep.final_eval.loss};
  rep.layers = layer_reports(*model_);
  for (LayerReport& l : rep.layers)
    if (targets_.count(l.name)) l.target_sparsity = targets_.at(l.name);
  rep.wall_seconds = wall;
  rep.provenance = provenance_to_json(provenance_, cfg_.seed, threads_);
  for (const json& p : phases_done_) {
    PhaseReport pr;
    pr.index = p.value("index", 0);
    pr.type = p.value("type", "");
    pr.epochs = p.value("epochs", 0);
    pr.seconds = p.value("seconds", kNoValue);
    rep.phases.push_back(pr);
  }
  for (const Dataset* d : {train_.get(), val_.get()}) {
    if (!d) continue;
    DatasetStats s = d->stats();
    rep.data.push_back(SplitStats{s.split, s.images, s.classes, s.corrupt});
  }
  compute_totals(rep);
  return rep;
}

Report Runner::run(bool resume) {
  threads_ = choose_threads();
  omp_set_num_threads(threads_);
  if (provenance_.started.empty()) provenance_.started = utc_timestamp();
  plan_if_needed();
  ResumePoint at = resume ? find_resume_point() : ResumePoint{};
  if (!resume && dist::is_root()) {
    write_text_file_atomic(dir_.config_json(), resolved_.dump(2) + "\n");
  }
  if (dist::is_root()) metrics_ = std::make_unique<MetricsLog>(dir_.metrics_jsonl());
  build_model_at(at);
  run_phases(at);
  final_evaluation();
  return write_report();
}

int Runner::choose_threads() const {
  int threads = cfg_.threads > 0 ? cfg_.threads : omp_get_max_threads();
  if (cfg_.threads == 0 && dist::size() > 1 && !std::getenv("OMP_NUM_THREADS")) {
    // N ranks on one node share its cores (Open MPI and Slurm say how many ranks a node has).
    const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (!local) local = std::getenv("SLURM_NTASKS_PER_NODE");
    const int per_node = local ? std::max(1, std::atoi(local)) : 1;
    threads = std::max(1, omp_get_num_procs() / per_node);
  }
  return threads;
}

void Runner::plan_if_needed() {
  if (plan_) return;   // the CLI plans before it creates the run directory; in-process callers here
  if (!train_ && experiment_trains(cfg_)) train_data();
  own_plan_ = plan_experiment(cfg_, train_.get(), val_data());
  plan_ = &own_plan_;
}

// The newest checkpoint of a run directory being resumed, its state restored into the runner;
// the beginning when there is none yet.
Runner::ResumePoint Runner::find_resume_point() {
  ResumePoint at;
  at.path = newest_checkpoint(dir_.checkpoints());
  if (dist::is_root()) {
    int stale = remove_stale_temp_files(dir_.checkpoints()) + remove_stale_temp_files(dir_.root);
    if (stale > 0)
      log_ << "removed " << stale << " temporary file(s) of an interrupted write\n";
  }
  if (at.path.empty()) {
    // Killed before its first checkpoint: nothing to keep, start over in the same directory.
    if (dist::is_root())
      truncate_metrics(dir_.metrics_jsonl(), [](const MetricsRecord&) { return false; });
    log_ << "resuming " << dir_.root << ": no checkpoint yet, starting from the beginning\n";
    return at;
  }
  at.ckpt = read_safetensors(at.path);
  const RunState state = checkpoint_run_state(*at.ckpt);
  resume_state_ = state;
  restore_train_sums(state, at.path);
  at.model = checkpoint_model_config(*at.ckpt);
  at.phase_done = state.phase_done;
  at.first_phase = state.phase_done ? state.phase_index + 1 : state.phase_index;
  if (!state.phase_done) at.epoch = state.epoch, at.iter = state.iteration;
  restore_run_state(state, at.path);
  // Drop metrics logged after the checkpoint: the resumed run logs them again.
  size_t dropped = !dist::is_root() ? 0 : truncate_metrics(dir_.metrics_jsonl(),
                                    [&](const MetricsRecord& r) {
                                      return r.phase_index <= state.phase_index && r.step <= step_;
                                    });
  log_ << "resuming " << dir_.root << " from " << at.path << " (phase " << at.first_phase + 1
       << ", epoch " << at.epoch + 1 << ", iteration " << at.iter << "; " << dropped
       << " later metrics records dropped)\n";
  return at;
}

// The training loop's running sums as the checkpoint at `path` recorded them (mid-epoch).
void Runner::restore_train_sums(const RunState& state, const std::string& path) {
  if (!state.extra.contains("train_sums")) return;
  JsonReader x = JsonReader::lenient(state.extra, "__metadata__.state.extra", path);
  JsonReader t = x.object("train_sums");
  sums_.loss = required_number(t, "loss"), sums_.top1 = required_number(t, "top1");
  sums_.seen = int64_t(required_number(t, "seen"));
  sums_.epoch_loss = required_number(t, "epoch_loss");
  sums_.epoch_top1 = required_number(t, "epoch_top1");
  sums_.epoch_seen = int64_t(required_number(t, "epoch_seen"));
  sums_.epoch_images = int64_t(required_number(t, "epoch_images"));
}

// The runner's counters, RNG and report state as the checkpoint recorded them.
void Runner::restore_run_state(const RunState& state, const std::string& path) {
  step_ = state.step;
  seconds_base_ = state.seconds;
  rng_.set_state(state.rng_state, state.rng_inc);
  constexpr double kInf = std::numeric_limits<double>::infinity();
  JsonReader x = JsonReader::lenient(state.extra, "__metadata__.state.extra", path);
  if (x.has("baseline")) baseline_ = eval_from_json(x.object("baseline"));
  if (x.has("final")) final_ = eval_from_json(x.object("final"));
  final_kernel_ = x.string("final_kernel", "");
  if (x.has("last_val")) last_val_ = eval_from_json(x.object("last_val"));
  last_val_fresh_ = x.boolean("last_val_fresh", false);
  phases_done_ = x.optional_raw("phases_done").value_or(json::array());
  phase_started_ = x.number("phase_started", 0.0, 0.0, kInf);
  targets_.clear();
  if (std::optional<json> t = x.optional_raw("targets")) {
    JsonReader tr = JsonReader::lenient(*t, "__metadata__.state.extra.targets", path);
    for (auto it = t->begin(); it != t->end(); ++it)
      targets_[it.key()] = tr.number(it.key().c_str(), 0.0, 0.0, 1.0);
  }
  provenance_.started = x.string("started", provenance_.started);   // the first start
}

// The model the run continues with: built from the config, or from the checkpoint's config
// with its weights.
void Runner::build_model_at(ResumePoint& at) {
  const ModelConfig& config = at.ckpt ? at.model : cfg_.model;
  Rng init_rng(mix(cfg_.seed, 0x1417), 2);
  model_ = build_model(config, init_rng);
  if (at.ckpt && !checkpoint_has_weights(*at.ckpt)) {
    // A position record of an eval or sensitivity phase: the weights are latest's.
    SafeTensorsFile weights = read_safetensors(dir_.latest_checkpoint());
    load_checkpoint_into(weights, *model_, /*with_momentum=*/true);
    weights_in_latest_ = true;
  } else if (at.ckpt) {
    load_checkpoint_into(*at.ckpt, *model_, /*with_momentum=*/true);
    std::error_code ec;
    weights_in_latest_ = fs::equivalent(at.path, dir_.latest_checkpoint(), ec);
  }
  if (at.ckpt && !at.phase_done && (at.epoch > 0 || at.iter > 0)) resume_ckpt_ = std::move(at.ckpt);
  log_ << "model: " << config.arch << ", " << model_->parameters().size()
       << " parameter tensors; " << threads_ << " threads; run directory " << dir_.root << "\n";
}

void Runner::run_phases(const ResumePoint& at) {
  for (int i = at.first_phase; i < static_cast<int>(cfg_.phases.size()); ++i) {
    if (int sig = interrupt_signal()) throw Interrupted(sig, dir_.root);
    const bool fresh = i != at.first_phase || (at.epoch == 0 && at.iter == 0);
    run_phase(i, fresh, fresh ? 0 : at.epoch, fresh ? 0 : at.iter);
  }
}

// Phase i from (start_epoch, start_iter); fresh: from its beginning (init, its start time).
void Runner::run_phase(int i, bool fresh, int64_t start_epoch, int64_t start_iter) {
  const PhaseConfig& phase = cfg_.phases[size_t(i)];
  if (fresh) phase_started_ = elapsed();
  log_ << "== phase " << i + 1 << "/" << cfg_.phases.size() << ": " << phase.name << " ("
       << phase_type_name(phase.type()) << ")\n";
  if (fresh) init_from(phase);
  if (phase.type() == PhaseType::prune && !baseline_) {
    baseline_ = last_val_fresh_ && last_val_ ? *last_val_ : evaluate(InferenceKernel::dense);
    log_ << "baseline (before pruning): val top-1 " << baseline_->top1 << "\n";
  }
  switch (phase.type()) {
    case PhaseType::train:
    case PhaseType::prune:
    case PhaseType::finetune: run_training(phase, i, start_epoch, start_iter); break;
    case PhaseType::convert: run_convert(phase, i); break;
    case PhaseType::eval: run_eval(phase, i); break;
    case PhaseType::sensitivity: run_sensitivity(phase); break;
  }
  if (!phase.training() && phase.type() != PhaseType::convert)
    save(phase, i, 0, 0, true, /*light=*/true);
  record_phase_done(i);
}

// The final evaluation: the last eval phase's, unless weights changed after it.
void Runner::final_evaluation() {
  bool last_is_eval = !cfg_.phases.empty() && cfg_.phases.back().type() == PhaseType::eval;
  if (final_ && last_is_eval) return;
  bool winograd = !model_->config().winograd_layers.empty();
  InferenceKernel k = winograd ? InferenceKernel::sparse : InferenceKernel::dense;
  final_ = evaluate(k);
  final_kernel_ = winograd ? "sparse" : "dense";
  log_ << "final (" << final_kernel_ << " kernel): val top-1 " << final_->top1 << ", top-5 "
       << final_->top5 << ", loss " << final_->loss << "\n";
}

// report.json, the rendered run report and the results table (rank 0).
Report Runner::write_report() {
  Report rep = make_report(elapsed());
  if (!dist::is_root()) return rep;
  write_report_json(dir_.report_json(), rep);
  render_run_report(dir_.root);
  out_ << "\n";
  print_layer_table(out_, rep);
  out_ << "\nbaseline top-1 " << rep.baseline.top1 << ", final top-1 " << rep.final_eval.top1
       << " (" << rep.final_eval.kernel << " kernel), total sparsity " << rep.total.sparsity
       << ", " << rep.wall_seconds << " s\n";
  out_.flush();
  return rep;
}

}  // namespace

Report run_experiment(const ExperimentConfig& config, const RunDir& dir, const RunOptions& options) {
  Runner runner(config, dir, options);
  return runner.run(options.resume);
}

}  // namespace wp
