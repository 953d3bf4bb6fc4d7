// The CLI subcommands: run, eval, bench, report (include/winoprune/app/commands.h).
#include "winoprune/app/commands.h"

#include <dnnl.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <map>

#include "winoprune/app/compare.h"
#include "winoprune/app/experiment.h"
#include "winoprune/app/export.h"
#include "winoprune/app/interrupt.h"
#include "winoprune/app/model_checkpoint.h"
#include "winoprune/app/plan.h"
#include "winoprune/data/dataset.h"
#include "winoprune/data/idx.h"
#include "winoprune/dist/dist.h"
#include "winoprune/app/overrides.h"
#include "winoprune/app/runner.h"
#include "winoprune/bench/suites.h"
#include "winoprune/nn/layers.h"
#include "winoprune/nn/model.h"
#include "winoprune/cpu.h"
#include "winoprune/error.h"
#include "winoprune/io/atomic_file.h"
#include "winoprune/io/run_dir.h"
#include "winoprune/report/run_report.h"

namespace wp {

namespace {

// A NumPy .npy file (format 1.0): magic, a Python-dict header padded to a multiple of 64 bytes,
// then little-endian float32 values in C order.
void write_npy_f32(const std::string& path, const std::vector<float>& values,
                   const std::vector<int64_t>& shape) {
  std::string dims;
  for (int64_t d : shape) dims += std::to_string(d) + ", ";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  const size_t preamble = 10;   // magic (6), version (2), header length (2)
  header.append(63 - (preamble + header.size()) % 64, ' ');
  header += '\n';
  write_file_atomic(path, [&](FileSink& sink) {
    const unsigned char head[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                    static_cast<unsigned char>(header.size() & 0xff),
                                    static_cast<unsigned char>(header.size() >> 8)};
    sink.write(head, sizeof head);
    sink.write(header);
    sink.write(values.data(), values.size() * sizeof(float));
  });
}

ExperimentConfig load_experiment(const std::string& path, const std::vector<std::string>& sets) {
  json raw = read_json_file(path);
  for (const auto& s : sets) apply_override(raw, s);
  return parse_experiment(raw, path);
}

// Logs the kernel level and holds oneDNN to it too, so WINOPRUNE_ISA=avx2 means no AVX-512
// instruction anywhere (oneDNN must be told before its first primitive is created).
void log_kernel_level() {
  Isa isa = active_isa();
  dnnl_cpu_isa_t dnnl_isa = isa == Isa::avx512 ? dnnl_cpu_isa_all
                            : isa == Isa::avx2 ? dnnl_cpu_isa_avx2 : dnnl_cpu_isa_sse41;
  dnnl_set_max_cpu_isa(dnnl_isa);   // fails only after primitives exist: nothing to do then
  if (!dist::is_root()) return;
  std::cerr << "kernels: " << isa_name(isa) << " (cpu supports " << isa_name(cpu_isa()) << ")\n";
}

}  // namespace

int command_run(const RunArgs& args) {
  // Data parallel: rank 0 alone logs, creates and writes the run directory.
  static std::ostringstream discard;
  std::ostream* log = dist::is_root() ? &std::cerr : &discard;
  std::ostream* out = dist::is_root() ? &std::cout : &discard;
  if (args.resume) {
    RunDir dir = dist::is_root() ? create_run_dir(*args.resume, /*resume=*/true) : RunDir{*args.resume};
    ExperimentConfig cfg = load_experiment(dir.config_json(), {});
    log_kernel_level();
    RunOptions opt;
    opt.log = log, opt.out = out;
    opt.resume = true;
    opt.provenance.command = args.command;
    install_interrupt_handlers();
    run_experiment(cfg, dir, opt);
    *log << "report: " << dir.report_md() << "\n";
    return 0;
  }
  ExperimentConfig cfg = load_experiment(args.config_path, args.sets);
  // The whole plan is checked before the run directory exists, so a corrected rerun can use
  // the same --out, and a broken plan stops before its first step.
  if (!cfg.data.root.empty() && !std::filesystem::is_directory(cfg.data.root))
    throw InputError(cfg.data.root + ": data root (data.root) not found");
  std::string out_dir = args.out_dir ? *args.out_dir : default_run_dir(cfg.name);
  if (dist::size() > 1 && !args.out_dir)
    throw InputError("run: a data-parallel run needs --out RUN_DIR (the ranks' clocks may name "
                     "different default directories)");
  if (!args.dry_run && dist::is_root()) check_run_dir_free(out_dir);
  auto warn = [log](const std::string& w) { *log << "warning: " << w << "\n"; };
  RunOptions opt;
  opt.log = log, opt.out = out;
  opt.provenance.command = args.command;
  opt.provenance.overrides = args.sets;
  opt.provenance.config = args.config_path;
  if (experiment_trains(cfg)) opt.train = open_dataset(cfg.data, Split::train, warn);
  opt.val = open_dataset(cfg.data, Split::val, warn);
  ExperimentPlan plan = plan_experiment(cfg, opt.train.get(), *opt.val);
  if (args.dry_run) {
    print_plan(*out, cfg, plan);
    return 0;
  }
  opt.plan = &plan;
  RunDir dir = dist::is_root() ? create_run_dir(out_dir, /*resume=*/false) : RunDir{out_dir};
  dist::barrier();   // the directory exists before any rank goes on
  log_kernel_level();
  install_interrupt_handlers();
  run_experiment(cfg, dir, opt);
  *log << "report: " << dir.report_md() << "\n";
  return 0;
}

int command_eval(const EvalArgs& args) {
  std::string path = args.checkpoint;
  if (std::filesystem::is_directory(path)) {   // a run directory: its latest checkpoint
    RunDir dir{path};
    if (!std::filesystem::is_regular_file(dir.latest_checkpoint()))
      throw InputError(path + ": a directory, not a checkpoint; a run directory has " +
                       dir.latest_checkpoint() + ", and there is none here");
    path = dir.latest_checkpoint();
    std::cerr << "eval: " << path << "\n";
  }
  SafeTensorsFile ckpt = read_safetensors(path);
  ExperimentConfig cfg;
  if (args.config_path) {
    cfg = load_experiment(*args.config_path, args.sets);
  } else {
    json raw = json_parse_bounded(ckpt.meta("config"));
    if (raw.is_discarded()) throw InputError(path + ": __metadata__.config: not valid JSON");
    for (const auto& s : args.sets) apply_override(raw, s);
    cfg = parse_experiment(raw, path + " (__metadata__.config)");
  }
  // The architecture at the checkpoint (conversions included) comes from its metadata.
  ModelConfig model_config = cfg.model;
  if (ckpt.metadata.count("model")) model_config = checkpoint_model_config(ckpt);
  Rng rng(1, 1);
  std::unique_ptr<Model> model = build_model(model_config, rng);
  load_checkpoint_into(ckpt, *model, /*with_momentum=*/false);

  bool has_mask = is_export(ckpt);   // an export keeps only the nonzeros: sparse by nature
  for (Parameter* p : model->parameters()) has_mask = has_mask || p->mask.defined();
  std::string kernel = args.kernel ? *args.kernel
                       : (has_mask && !model_config.winograd_layers.empty()) ? "sparse" : "dense";
  log_kernel_level();
  std::unique_ptr<Dataset> val = open_dataset(cfg.data, Split::val, [](const std::string& w) {
    std::cerr << "warning: " << w << "\n";
  });
  if (args.logits_path && dist::size() > 1)
    throw InputError("eval --dump-logits: run it as one process (each rank sees a shard)");
  std::vector<float> logits;
  Evaluation e = evaluate_model(*model, *val, cfg.data,
                                kernel == "sparse" ? InferenceKernel::sparse : InferenceKernel::dense,
                                args.logits_path ? &logits : nullptr);
  if (args.logits_path) {
    write_npy_f32(*args.logits_path, logits, {e.images, int64_t(model_config.classes)});
    std::cerr << "wrote " << *args.logits_path << " (logits, " << e.images << " x "
              << model_config.classes << ")\n";
  }
  Report rep;
  rep.name = cfg.name;
  rep.dataset = cfg.data.dataset;
  rep.model = model_config.arch;
  rep.layers = layer_reports(*model);
  compute_totals(rep);
  print_layer_table(std::cout, rep);
  std::printf("\n%s kernel: top-1 %.4f  top-5 %.4f  loss %.4f  (%lld images, %.2f s)\n",
              kernel.c_str(), e.top1, e.top5, e.loss, static_cast<long long>(e.images), e.seconds);
  if (args.json_path) {
    json j = {{"checkpoint", path}, {"kernel", kernel}, {"isa", isa_name(active_isa())},
              {"top1", e.top1}, {"top5", e.top5}, {"loss", e.loss}, {"images", e.images},
              {"eval_seconds", e.seconds}, {"total", {{"params", rep.total.params},
              {"nnz", rep.total.nnz}, {"sparsity", rep.total.sparsity}}}};
    write_text_file_atomic(*args.json_path, j.dump(2) + "\n");
  }
  return 0;
}

namespace {

// A checkpoint's model with its weights and masks (architecture from its metadata).
std::unique_ptr<Model> load_model(const SafeTensorsFile& ckpt) {
  Rng rng(1, 1);
  std::unique_ptr<Model> model = build_model(checkpoint_model_config(ckpt), rng);
  load_checkpoint_into(ckpt, *model, /*with_momentum=*/false);
  return model;
}

// The training batch of the config stored in a checkpoint (128 if it has none).
int checkpoint_batch(const SafeTensorsFile& ckpt) {
  if (!ckpt.metadata.count("config")) return 128;
  json raw = json_parse_bounded(ckpt.meta("config"));
  if (raw.is_discarded() || !raw.contains("data")) return 128;
  return raw["data"].value("batch", 128);
}

// Each Winograd layer's per-position density (nonzero fraction of W_j) in a checkpoint.
std::map<std::string, BenchOptions::PositionProfile> position_profiles(Model& model) {
  std::map<std::string, BenchOptions::PositionProfile> out;
  for (Layer* layer : model.layers()) {
    auto* w = dynamic_cast<WinogradConv2dLayer*>(layer);
    if (!w) continue;
    BenchOptions::PositionProfile prof;
    prof.m = w->params().m;
    prof.r = w->params().r;
    const Tensor& W = w->weight().value();
    const int64_t P = W.dim(0), per = W.numel() / P;
    for (int64_t j = 0; j < P; ++j) {
      int64_t nnz = 0;
      for (int64_t i = 0; i < per; ++i) nnz += W[j * per + i] != 0.0f;
      prof.density.push_back(double(nnz) / double(per));
    }
    out[layer->name()] = prof;
  }
  return out;
}

}  // namespace

int command_bench(const BenchArgs& args) {
  BenchOptions opt;
  opt.batches = args.batches;
  opt.sparsities = args.sparsities;
  opt.quick = args.quick;
  opt.tile = args.tile;
  if (args.repeats > 0) opt.repeats = args.repeats;
  if (args.quick) opt.warmup = 1, opt.repeats = args.repeats > 0 ? args.repeats : 2;
  log_kernel_level();
  if (args.checkpoint && args.suite != "net")
    throw InputError("--checkpoint: only the net suite times a checkpoint's model (--suite net)");
  if (args.masks_from && args.suite != "conv")
    throw InputError("--masks-from: only the conv suite lays a checkpoint's masks onto its shapes "
                     "(--suite conv)");
  if (args.masks_from) {
    SafeTensorsFile ckpt = read_safetensors(*args.masks_from);
    std::unique_ptr<Model> model = load_model(ckpt);
    opt.position_profiles = position_profiles(*model);
    if (opt.position_profiles.empty())
      throw InputError(*args.masks_from + ": --masks-from: the checkpoint has no Winograd layer");
    opt.masks_from = *args.masks_from;
  }
  json result;
  static std::ostringstream discard;   // data parallel: rank 0 alone prints and writes
  std::ostream& out = dist::is_root() ? std::cout : discard;
  if (args.checkpoint) {
    SafeTensorsFile ckpt = read_safetensors(*args.checkpoint);
    std::unique_ptr<Model> model = load_model(ckpt);
    std::vector<int> batches = args.batches;
    if (batches.empty()) batches = {1, checkpoint_batch(ckpt)};
    result = bench_net_model(*model, *args.checkpoint, batches, opt, out);
  } else if (args.suite == "conv") result = bench_conv(opt, out);
  else if (args.suite == "layer") result = bench_layer(opt, out);
  else if (args.suite == "train") result = bench_train(opt, out);
  else if (args.suite == "net") result = bench_net(opt, out);
  else if (args.suite == "loader") result = bench_loader(opt, out);
  else throw InputError("--suite: expected one of conv, layer, train, net, loader, got '" + args.suite + "'");
  if (args.json_path && dist::is_root()) {
    write_text_file_atomic(*args.json_path, result.dump(2) + "\n");
    std::cerr << "wrote " << *args.json_path << "\n";
  }
  return 0;
}

int command_report(const std::string& run_dir, bool bench) {
  RunDir dir{run_dir};
  if (bench) {
    if (!std::filesystem::exists(dir.report_json()))
      throw InputError(run_dir + ": report --bench needs a finished run (report.json)");
    SafeTensorsFile ckpt = read_safetensors(dir.latest_checkpoint());
    std::unique_ptr<Model> model = load_model(ckpt);
    log_kernel_level();
    const int batch = checkpoint_batch(ckpt);
    std::cerr << "report --bench: timing the Winograd layers of " << dir.latest_checkpoint()
              << " at batch " << batch << "\n";
    Report rep = read_report(dir.report_json());
    for (const LayerSpeed& s : time_winograd_layers(*model, batch, 2, 5))
      for (LayerReport& l : rep.layers)
        if (l.name == s.layer) {
          l.bench_batch = batch;
          l.sparse_ms = s.sparse_ms;
          l.direct_ms = s.direct_ms;
        }
    write_report_json(dir.report_json(), rep);
  }
  std::vector<std::string> written = render_run_report(run_dir);
  if (std::filesystem::exists(dir.report_json())) {
    print_layer_table(std::cout, read_report(dir.report_json()));
  } else {
    std::cout << render_unfinished_summary(read_metrics(dir.metrics_jsonl()));
  }
  for (const auto& w : written) std::cerr << "wrote " << w << "\n";
  return 0;
}

int command_predict(const PredictArgs& args) {
  std::string path = args.model;
  if (std::filesystem::is_directory(path)) path = RunDir{path}.latest_checkpoint();
  SafeTensorsFile ckpt = read_safetensors(path);
  std::unique_ptr<Model> model = load_model(ckpt);
  if (!ckpt.metadata.count("config"))
    throw InputError(path + ": no \"config\" metadata: predict needs the run's data settings");
  json raw = json_parse_bounded(ckpt.meta("config"));
  if (raw.is_discarded()) throw InputError(path + ": __metadata__.config: not valid JSON");
  ExperimentConfig cfg = parse_experiment(raw, path + " (__metadata__.config)");
  // Evaluation's preprocessing. A Fashion-MNIST model was trained on 28x28 gray IDX pixels:
  // its images go through the image-folder path with the same size, color and normalization.
  DataConfig d = cfg.data;
  std::vector<std::string> names;
  if (d.dataset == "fashion-mnist") {
    d.color = "gray", d.resize = 28, d.resize_mode = "warp", d.crop = 28;
    for (int i = 0; i < 10; ++i) names.push_back(kFashionMnistClassNames[i]);
  }
  if (args.labels) {   // one class name a line, in label order
    std::ifstream in(*args.labels);
    if (!in) throw InputError(*args.labels + ": cannot open the labels file");
    names.clear();
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) names.push_back(line);
  } else if (names.empty() && !d.root.empty()) {
    try {
      names = open_dataset(d, Split::train)->class_names();   // the training folders' names
    } catch (const InputError&) {
    }
  }
  if (int(names.size()) != model->config().classes) {
    names.clear();
    for (int i = 0; i < model->config().classes; ++i) names.push_back(std::to_string(i));
  }
  // Files, and the images in directories (sorted), in the order given.
  std::vector<std::string> files;
  for (const std::string& a : args.inputs) {
    if (std::filesystem::is_directory(a)) {
      std::vector<std::string> found;
      for (const auto& e : std::filesystem::recursive_directory_iterator(a))
        if (e.is_regular_file()) found.push_back(e.path().string());
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (std::filesystem::is_regular_file(a)) {
      files.push_back(a);
    } else {
      throw InputError(a + ": no such image file or directory");
    }
  }
  d.on_corrupt = "skip";
  std::unique_ptr<Dataset> images = open_image_files(d, files, names);
  NoGradGuard no_grad;
  bool has_mask = is_export(ckpt);
  for (Parameter* p : model->parameters()) has_mask = has_mask || p->mask.defined();
  const InferenceKernel kernel = (args.kernel ? *args.kernel == "sparse" : has_mask)
                                     ? InferenceKernel::sparse : InferenceKernel::dense;
  model->prepare_inference(kernel);
  ForwardContext ctx;
  ctx.kernel = kernel;
  json out = json::array();
  Rng unused(0, 1);
  const Shape shape = images->image_shape();
  const int k = std::max(1, std::min(args.top, model->config().classes));
  for (int64_t i = 0; i < images->size(); ++i) {
    Tensor x = Tensor::empty({1, shape[0], shape[1], shape[2]});
    if (!images->load(i, false, unused, x.data())) {
      std::cerr << "warning: " << images->sample_name(i) << ": cannot decode, skipped\n";
      continue;
    }
    Tensor logits = model->forward(leaf(x), ctx)->value;
    const int M = int(logits.dim(1));
    std::vector<double> p(static_cast<size_t>(M), 0.0);
    double mx = logits[0], sum = 0;
    for (int m = 1; m < M; ++m) mx = std::max(mx, double(logits[m]));
    for (int m = 0; m < M; ++m) sum += p[size_t(m)] = std::exp(double(logits[m]) - mx);
    std::vector<int> order(static_cast<size_t>(M), 0);
    for (int m = 0; m < M; ++m) order[size_t(m)] = m;
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[size_t(a)] > p[size_t(b)]; });
    json row = {{"file", images->sample_name(i)}, {"top", json::array()}};
    std::cout << images->sample_name(i) << ":";
    for (int r = 0; r < k; ++r) {
      const int c = order[size_t(r)];
      row["top"].push_back({{"class", c}, {"name", names[size_t(c)]}, {"probability", p[size_t(c)] / sum}});
      std::printf("  %s %.3f", names[size_t(c)].c_str(), p[size_t(c)] / sum);
    }
    std::cout << "\n";
    out.push_back(row);
  }
  if (args.json_path) write_text_file_atomic(*args.json_path, out.dump(2) + "\n");
  return 0;
}

int command_export(const std::string& checkpoint, const std::string& out) {
  std::string path = checkpoint;
  if (std::filesystem::is_directory(path)) path = RunDir{path}.latest_checkpoint();
  SafeTensorsFile ckpt = read_safetensors(path);
  std::unique_ptr<Model> model = load_model(ckpt);
  export_model(*model, out, ckpt.metadata.count("config") ? ckpt.meta("config") : "");
  const auto in_size = std::filesystem::file_size(path), out_size = std::filesystem::file_size(out);
  std::printf("exported %s (%.2f MB) to %s (%.2f MB, %.1fx smaller)\n", path.c_str(),
              double(in_size) / 1e6, out.c_str(), double(out_size) / 1e6,
              double(in_size) / double(out_size));
  return 0;
}

int command_compare(const CompareArgs& args) {
  Comparison c = compare_runs(args.runs);
  std::cout << render_compare_table(c);
  if (args.csv) write_text_file_atomic(*args.csv, render_compare_csv(c)), std::cerr << "wrote " << *args.csv << "\n";
  if (args.md) write_text_file_atomic(*args.md, render_compare_md(c)), std::cerr << "wrote " << *args.md << "\n";
  if (args.plots)
    for (const std::string& p : write_compare_plots(c, *args.plots)) std::cerr << "wrote " << p << "\n";
  return 0;
}

}  // namespace wp
