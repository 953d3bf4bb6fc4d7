#include "winoprune/app/runner.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include "winoprune/app/interrupt.h"
#include "winoprune/app/model_checkpoint.h"
#include "winoprune/app/plan.h"
#include "winoprune/data/loader.h"
#include "winoprune/dist/dist.h"
#include "winoprune/dist/gradient_allreduce.h"
#include "winoprune/error.h"
#include "winoprune/io/atomic_file.h"
#include "winoprune/io/metrics.h"
#include "winoprune/io/progress.h"
#include "winoprune/io/run_report.h"
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

Evaluation eval_from_json(const json& j) {
  Evaluation e;
  e.top1 = j.value("top1", 0.0);
  e.top5 = j.value("top5", 0.0);
  e.loss = j.value("loss", 0.0);
  e.seconds = j.value("seconds", 0.0);
  return e;
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
  void init_from(const PhaseConfig& phase);
  std::unique_ptr<Model> load_teacher(const DistillConfig& d);

  void run_training(const PhaseConfig& phase, int index, int64_t start_epoch, int64_t start_iter);
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

void Runner::save(const PhaseConfig& phase, int index, int64_t epochs_done, int64_t iter,
                  bool phase_done, bool light) {
  if (!dist::is_root()) return;   // rank 0 alone writes the run directory
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
  CheckpointContents what;
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
  const PrunePhase* prune = phase.as<PrunePhase>();
  const FinetunePhase* finetune = phase.as<FinetunePhase>();
  if (start_epoch == 0 && start_iter == 0)
    for (Parameter* p : model_->parameters()) p->momentum = p->second_moment = Tensor();
  std::optional<PruningScheduler> pruning;
  const bool resumed = start_epoch > 0 || start_iter > 0;   // inside this phase
  if (prune) {
    pruning.emplace(prune->pruning, prunable_layers(*model_), training.epochs);
    if (resumed && resume_ckpt_) {
      PruningState ps;
      ps.scalars = resume_state_.extra.value("pruning", json::object());
      ps.tensors = checkpoint_extra_tensors(*resume_ckpt_, kPruningTensorPrefix);
      pruning->restore(ps, resume_ckpt_->path);
    }
  }
  pruning_ = pruning ? &*pruning : nullptr;
  resume_ckpt_.reset();   // its tensors are no longer needed
  struct ClearOnExit {
    PruningScheduler*& p;
    ~ClearOnExit() { p = nullptr; }
  } clear_pruning{pruning_};
  if (finetune) freeze_masks(prunable_layers(*model_));
  Optimizer optimizer(model_->parameters(), training.optimizer);
  std::unique_ptr<Model> teacher = training.distill ? load_teacher(*training.distill) : nullptr;
  ForwardContext teacher_ctx;   // evaluation mode: no dropout, the dense Winograd path

  // Iterations per epoch (the schedules need it); workers 0: no producer thread is started.
  LoaderOptions probe = train_loader_options(cfg_.data, cfg_.seed, 0);
  probe.workers = 0;
  const int64_t iters = BatchLoader(data, probe).batches_per_epoch();
  if (iters == 0) throw InputError(cfg_.file + ": data.batch: larger than the training split");
  optimizer.set_step_count(start_epoch * iters + start_iter);   // Adam's bias correction on resume
  ForwardContext ctx;
  ctx.training = true;
  ctx.rng = dist::size() > 1 ? &step_rng_ : &rng_;
  ctx.masked_products = finetune && finetune->masked_products;
  GradientAllreduce reducer(model_->parameters());
  ProgressOptions popt;
  popt.live = &log_ == &std::cerr && ProgressReporter::stderr_is_terminal();
  ProgressReporter progress(log_, popt);

  for (int64_t epoch = start_epoch; epoch < training.epochs; ++epoch) {
    int64_t first = epoch == start_epoch ? start_iter : 0;
    // Inside an epoch the resumed sums continue; the epoch's begin events already fired.
    if (first == 0) {
      sums_ = TrainSums();
      if (pruning) pruning->on_epoch_begin(epoch);
    }
    LoaderOptions lopt = train_loader_options(cfg_.data, cfg_.seed, epoch, first);
    lopt.shard = dist::rank(), lopt.shards = dist::size();   // this rank's slice of each batch
    BatchLoader loader(data, lopt);
    Batch batch;
    double& loss_sum = sums_.loss;
    double& top1_sum = sums_.top1;
    int64_t& seen = sums_.seen;
    double& epoch_loss = sums_.epoch_loss;
    double& epoch_top1 = sums_.epoch_top1;
    int64_t& epoch_seen = sums_.epoch_seen;
    int64_t& epoch_images = sums_.epoch_images;
    progress.begin(phase.name, epoch + 1, training.epochs, iters);
    for (int64_t iter = first; loader.next(batch); ++iter) {
      if (pruning) pruning->on_minibatch_begin(epoch, iter, iters);
      optimizer.zero_grad();
      // Data parallel: the global batch's size first (corrupt samples make slices uneven);
      // each rank's gradient counts with its share (gradient_allreduce.h).
      double counts[3] = {double(batch.size()), 0, 0};   // images, loss sum, correct
      dist::allreduce_sum(counts, 1);
      const double global_images = counts[0];
      if (dist::size() > 1)   // dropout draws per (seed, step, rank): no state to checkpoint
        step_rng_ = Rng(mix(cfg_.seed, uint64_t(step_), uint64_t(dist::rank())), 3);
      reducer.begin_step(global_images > 0 ? double(batch.size()) / global_images : 0.0);
      Var logits;
      double local_loss = 0;
      if (batch.size() > 0) {
        Var x = leaf(batch.images);
        logits = model_->forward(x, ctx);
        Var loss;
        if (teacher) {
          Tensor teacher_logits;
          {
            NoGradGuard no_grad;
            teacher_logits = teacher->forward(leaf(batch.images), teacher_ctx)->value;
          }
          loss = distillation_loss(logits, teacher_logits, batch.labels,
                                   float(training.distill->temperature),
                                   float(training.distill->weight));
        } else {
          loss = softmax_cross_entropy(logits, batch.labels);
        }
        local_loss = loss->value[0];
        backward(loss);
      }
      reducer.finish();
      if (pruning) pruning->after_backward(epoch, iter, iters);
      double lr = lr_at(training.lr_schedule, static_cast<int>(epoch), iter, iters);
      optimizer.step(static_cast<float>(lr));
      weights_in_latest_ = false;
      if (pruning) pruning->after_optimizer_step(epoch, iter, iters);
      last_val_fresh_ = false;
      ++step_;

      counts[0] = 0;
      counts[1] = local_loss * double(batch.size());
      counts[2] = batch.size() > 0 ? double(count_topk_correct(logits->value, batch.labels, 1)) : 0;
      dist::allreduce_sum(counts + 1, 2);
      const double l = global_images > 0 ? counts[1] / global_images : 0.0;
      if (!std::isfinite(l))
        throw std::runtime_error(phase.path + ": the loss became " + std::to_string(l) +
                                 " at epoch " + std::to_string(epoch + 1) + " iteration " +
                                 std::to_string(iter + 1) + " (learning rate too high?)");
      const double acc = global_images > 0 ? counts[2] / global_images : 0.0;
      loss_sum += l, top1_sum += acc, ++seen;
      epoch_loss += l, epoch_top1 += acc, ++epoch_seen, epoch_images += int64_t(global_images);
      progress.update(iter + 1, epoch_loss / epoch_seen, epoch_top1 / epoch_seen, epoch_images);

      if ((iter + 1) % cfg_.log_every == 0) {
        MetricsRecord r;
        r.phase = phase_type_name(phase.type());
        r.phase_index = index;
        r.epoch = epoch + 1;
        r.iter = epoch * iters + iter + 1;
        r.step = step_;
        r.lr = lr;
        r.loss = loss_sum / seen;
        r.top1 = top1_sum / seen;
        r.sparsity = sparsity_by_layer();
        r.seconds = elapsed();
        if (metrics_) metrics_->append(r);
        loss_sum = top1_sum = 0;
        seen = 0;
      }
      const bool periodic = cfg_.checkpoint_every > 0 && (iter + 1) % cfg_.checkpoint_every == 0;
      if (iter + 1 < iters && (periodic || interrupt_signal())) {
        save(phase, index, epoch, iter + 1, false);
        if (int sig = interrupt_signal()) {
          progress.clear();
          throw Interrupted(sig, dir_.root);
        }
      }
    }
    if (pruning) pruning->on_epoch_end(epoch);
    bool last = epoch + 1 == training.epochs;
    EpochSummary summary;
    summary.images = epoch_images;
    if (epoch_seen) summary.train_loss = epoch_loss / epoch_seen, summary.train_top1 = epoch_top1 / epoch_seen;
    if (last || (epoch + 1) % training.eval_every == 0) {
      progress.clear();
      Evaluation ev = evaluate(InferenceKernel::dense);
      log_val(phase, index, epoch + 1, (epoch + 1) * iters, ev);
      if (!std::isfinite(ev.loss))
        throw std::runtime_error(phase.path + ": the validation loss became " +
                                 std::to_string(ev.loss) + " after epoch " +
                                 std::to_string(epoch + 1) + " (learning rate too high?)");
      summary.val_loss = ev.loss, summary.val_top1 = ev.top1, summary.val_top5 = ev.top5;
    }
    if (phase.type() != PhaseType::train) {
      char buf[64];
      for (const auto& [name, s] : sparsity_by_layer()) {
        if (s <= 0) continue;
        std::snprintf(buf, sizeof buf, "%s%s %.1f%%", summary.extra.empty() ? "sparsity " : ", ",
                      name.c_str(), 100 * s);
        summary.extra += buf;
      }
    }
    progress.end_epoch(summary);
    check_ranks_agree(phase, epoch + 1);
    save(phase, index, epoch + 1, 0, last);
    if (int sig = interrupt_signal()) throw Interrupted(sig, dir_.root);
  }
  if (pruning && training.epochs > 0) check_sparsity_targets(*prune, phase.path, *pruning, iters);
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
  int threads = cfg_.threads > 0 ? cfg_.threads : omp_get_max_threads();
  if (cfg_.threads == 0 && dist::size() > 1 && !std::getenv("OMP_NUM_THREADS")) {
    // N ranks on one node share its cores (Open MPI and Slurm say how many ranks a node has).
    const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (!local) local = std::getenv("SLURM_NTASKS_PER_NODE");
    const int per_node = local ? std::max(1, std::atoi(local)) : 1;
    threads = std::max(1, omp_get_num_procs() / per_node);
  }
  omp_set_num_threads(threads);
  threads_ = threads;
  if (provenance_.started.empty()) provenance_.started = utc_timestamp();
  if (!plan_) {   // the CLI plans before it creates the run directory; in-process callers here
    if (!train_ && experiment_trains(cfg_)) train_data();
    own_plan_ = plan_experiment(cfg_, train_.get(), val_data());
    plan_ = &own_plan_;
  }
  int first_phase = 0;
  int64_t start_epoch = 0, start_iter = 0;
  RunState state;
  ModelConfig model_config = cfg_.model;
  std::optional<SafeTensorsFile> ckpt;
  std::string resume_from = resume ? newest_checkpoint(dir_.checkpoints()) : "";
  if (resume && dist::is_root()) {
    int stale = remove_stale_temp_files(dir_.checkpoints()) + remove_stale_temp_files(dir_.root);
    if (stale > 0)
      log_ << "removed " << stale << " temporary file(s) of an interrupted write\n";
  }
  if (resume && resume_from.empty()) {
    // Killed before its first checkpoint: nothing to keep, start over in the same directory.
    if (dist::is_root())
      truncate_metrics(dir_.metrics_jsonl(), [](const MetricsRecord&) { return false; });
    log_ << "resuming " << dir_.root << ": no checkpoint yet, starting from the beginning\n";
  }
  if (!resume_from.empty()) {
    const std::string& path = resume_from;
    ckpt = read_safetensors(path);
    state = checkpoint_run_state(*ckpt);
    resume_state_ = state;
    if (state.extra.contains("train_sums")) {
      try {
        const json& t = state.extra["train_sums"];
        sums_.loss = t.at("loss"), sums_.top1 = t.at("top1"), sums_.seen = t.at("seen");
        sums_.epoch_loss = t.at("epoch_loss"), sums_.epoch_top1 = t.at("epoch_top1");
        sums_.epoch_seen = t.at("epoch_seen"), sums_.epoch_images = t.at("epoch_images");
      } catch (const json::exception& e) {
        throw InputError(path + ": __metadata__.state.extra.train_sums: " + e.what());
      }
    }
    model_config = checkpoint_model_config(*ckpt);
    first_phase = state.phase_done ? state.phase_index + 1 : state.phase_index;
    if (!state.phase_done) start_epoch = state.epoch, start_iter = state.iteration;
    step_ = state.step;
    seconds_base_ = state.seconds;
    rng_.set_state(state.rng_state, state.rng_inc);
    const json& x = state.extra;
    if (x.contains("baseline")) baseline_ = eval_from_json(x["baseline"]);
    if (x.contains("final")) final_ = eval_from_json(x["final"]), final_kernel_ = x.value("final_kernel", "");
    if (x.contains("last_val")) last_val_ = eval_from_json(x["last_val"]);
    last_val_fresh_ = x.value("last_val_fresh", false);
    phases_done_ = x.value("phases_done", json::array());
    phase_started_ = x.value("phase_started", 0.0);
    targets_ = x.value("targets", std::map<std::string, double>());
    provenance_.started = x.value("started", provenance_.started);   // the first start
    // Drop metrics logged after the checkpoint: the resumed run logs them again.
    size_t dropped = !dist::is_root() ? 0 : truncate_metrics(dir_.metrics_jsonl(),
                                      [&](const MetricsRecord& r) {
                                        return r.phase_index <= state.phase_index && r.step <= step_;
                                      });
    log_ << "resuming " << dir_.root << " from " << path << " (phase " << first_phase + 1
         << ", epoch " << start_epoch + 1 << ", iteration " << start_iter << "; " << dropped
         << " later metrics records dropped)\n";
  }
  if (!resume && dist::is_root()) {
    write_text_file_atomic(dir_.config_json(), resolved_.dump(2) + "\n");
  }
  if (dist::is_root()) metrics_ = std::make_unique<MetricsLog>(dir_.metrics_jsonl());

  Rng init_rng(mix(cfg_.seed, 0x1417), 2);
  model_ = build_model(model_config, init_rng);
  if (ckpt && !checkpoint_has_weights(*ckpt)) {
    // A position record of an eval or sensitivity phase: the weights are latest's.
    SafeTensorsFile weights = read_safetensors(dir_.latest_checkpoint());
    load_checkpoint_into(weights, *model_, /*with_momentum=*/true);
    weights_in_latest_ = true;
  } else if (ckpt) {
    load_checkpoint_into(*ckpt, *model_, /*with_momentum=*/true);
    std::error_code ec;
    weights_in_latest_ = fs::equivalent(resume_from, dir_.latest_checkpoint(), ec);
  }
  if (ckpt && !state.phase_done && (start_epoch > 0 || start_iter > 0)) resume_ckpt_ = std::move(ckpt);
  log_ << "model: " << model_config.arch << ", " << model_->parameters().size()
       << " parameter tensors; " << threads << " threads; run directory " << dir_.root << "\n";

  for (int i = first_phase; i < static_cast<int>(cfg_.phases.size()); ++i) {
    const PhaseConfig& phase = cfg_.phases[i];
    if (int sig = interrupt_signal()) throw Interrupted(sig, dir_.root);
    bool fresh = i != first_phase || (start_epoch == 0 && start_iter == 0);
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
      case PhaseType::finetune:
        run_training(phase, i, fresh ? 0 : start_epoch, fresh ? 0 : start_iter);
        break;
      case PhaseType::convert: run_convert(phase, i); break;
      case PhaseType::eval: run_eval(phase, i); break;
      case PhaseType::sensitivity: run_sensitivity(phase); break;
    }
    if (!phase.training() && phase.type() != PhaseType::convert)
      save(phase, i, 0, 0, true, /*light=*/true);
    record_phase_done(i);
  }

  // The final evaluation: the last eval phase's, unless weights changed after it.
  bool last_is_eval = !cfg_.phases.empty() && cfg_.phases.back().type() == PhaseType::eval;
  if (!final_ || !last_is_eval) {
    bool winograd = !model_->config().winograd_layers.empty();
    InferenceKernel k = winograd ? InferenceKernel::sparse : InferenceKernel::dense;
    final_ = evaluate(k);
    final_kernel_ = winograd ? "sparse" : "dense";
    log_ << "final (" << final_kernel_ << " kernel): val top-1 " << final_->top1 << ", top-5 "
         << final_->top5 << ", loss " << final_->loss << "\n";
  }

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
