// winoprune: train Winograd-layer CNNs, prune them natively, evaluate with a sparse kernel.
// This file only parses arguments and maps errors to exit codes (docs/contracts.md, CLI contract):
//   0 success, 1 runtime failure, 2 bad usage or bad input.
#include <malloc.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "winoprune/app/commands.h"
#include "winoprune/app/interrupt.h"
#include "winoprune/dist/dist.h"
#include "winoprune/error.h"

namespace {

const char* kMainHelp = R"(winoprune: sparse Winograd-domain CNN training, native pruning and sparse inference

Usage:
  winoprune run CONFIG.json [--out RUN_DIR] [--set key.path=value ...] [--dry-run]
  winoprune run --resume RUN_DIR
  winoprune eval CHECKPOINT [--config CONFIG.json] [--kernel sparse|dense] [--json FILE] [--dump-logits FILE]
                            [--set key.path=value ...]
  winoprune bench --suite conv|layer|train|net|loader [--batch N[,N]] [--sparsity S[,S]]
                  [--repeats N] [--tile M] [--quick] [--json FILE]
                  [--checkpoint CKPT (net)] [--masks-from CKPT (conv)]
  winoprune report RUN_DIR [--bench]
  winoprune compare RUN_DIR RUN_DIR... [--csv FILE] [--md FILE] [--plots DIR]
  winoprune export CHECKPOINT|RUN_DIR --out MODEL.safetensors
  winoprune predict MODEL IMAGE|DIR... [--top K] [--json FILE] [--labels FILE]
  winoprune COMMAND --help      help for one command
  winoprune --version

Environment:
  WINOPRUNE_ISA=ref|avx2|avx512   force a lower kernel level than the CPU's best
  OMP_NUM_THREADS                 compute threads when the config says "threads": 0

Results (tables, figures) go to stdout; progress and logs to stderr.
Exit status: 0 success, 1 runtime failure, 2 bad usage or bad input, 130/143 interrupted by
SIGINT/SIGTERM (resume with winoprune run --resume RUN_DIR).
)";

const char* kRunHelp = R"(winoprune run CONFIG.json [--out RUN_DIR] [--set key.path=value ...] [--dry-run]
winoprune run --resume RUN_DIR

Runs the experiment a config describes: its phases (train, convert, prune, finetune, eval,
sensitivity) in order, writing everything into one run directory:
  config.json (resolved), metrics.jsonl, checkpoints/*.safetensors, report.json, report.md,
  layers.csv, plots/*.svg
The whole plan is checked first (data, class count, layer selections at each phase, policy
windows against each phase's iterations, init checkpoints, the run directory): a plan that
cannot do what the config says stops before the first step with exit status 2. A prune phase
whose layers end more than 0.5 points short of their targets fails (exit 1). Ctrl-C (SIGINT)
or SIGTERM checkpoints the current step and exits 130 / 143 with the resume command.

Options:
  --out RUN_DIR        output directory (default runs/<name>-<YYYYmmdd-HHMMSS>); an existing
                       non-empty directory is refused
  --set key.path=value override a config value before validation; the value is parsed as JSON,
                       or taken as a string if that fails (--set data.root=/data/imagenet,
                       --set phases[0].epochs=2, --set seed=3); repeatable
  --resume RUN_DIR     continue a killed run from its newest checkpoint (uses RUN_DIR/config.json)
  --dry-run            check the plan and print it (phases, iterations, the sparsity each pruner
                       promises at each epoch end) to stdout; run nothing, write nothing
)";

const char* kEvalHelp = R"(winoprune eval CHECKPOINT [--config CONFIG.json] [--kernel sparse|dense] [--json FILE] [--dump-logits FILE]

Evaluates a checkpoint on the validation split (top-1, top-5, loss) and prints the per-layer
sparsity table.

Options:
  --config CONFIG.json  model and data from this config (default: the config stored in the
                        checkpoint's metadata)
  --kernel sparse|dense sparse: the packed sparse Winograd inference kernel (default when the
                        checkpoint has masks); dense: the training path
  --json FILE           also write the result as JSON
  --dump-logits FILE    also write every image's logits as a NumPy .npy file (float32,
                        [images, classes], in the validation split's order)
  --set key.path=value  override the config (e.g. --set data.root=PATH, or
                        data.val.limit=N for the first N images); repeatable
)";

const char* kBenchHelp = R"(winoprune bench --suite SUITE [--batch N[,N]] [--sparsity S[,S]] [--repeats N] [--tile M] [--quick] [--json FILE] [--checkpoint CKPT] [--masks-from CKPT]

Measures in one process, medians of repeated runs after warm-up, and prints a table:
  conv    AlexNet conv2..conv5: sparse-winograd vs dense-winograd vs oneDNN direct and Winograd
  layer   Winograd layers vs spatial conv2d, forward and forward+backward
  train   a full training step (forward, backward, update) and peak memory
  net     whole-network inference, sparse vs dense kernel
  loader  images per second of decode + augmentation

Options:
  --batch N[,N]        batch sizes (default: the suite's)
  --sparsity S[,S]     weight sparsities in [0, 1) (conv, net; layer: its masked rows)
  --repeats N          timed repetitions per row (default: the suite's)
  --tile M             conv, layer, train: Winograd output tile of the Winograd rows and
                       layers, 2 or 4 (default 4: F(4x4,3x3), F(4x4,5x5))
  --quick              fewer rows and repetitions (a smoke test)
  --json FILE          write {"suite", "isa", "threads", "results": [...]} to FILE
  --checkpoint CKPT    net: time CKPT's own model with its real masks, at batch 1 and its
                       training batch (or --batch): each Winograd layer on the sparse kernel,
                       the dense Winograd path and oneDNN direct; then the whole network
  --masks-from CKPT    conv: lay each of CKPT's Winograd layers' per-position density (and tile)
                       onto the AlexNet shapes instead of uniform random masks
)";

const char* kReportHelp = R"(winoprune report RUN_DIR [--bench]

Re-renders RUN_DIR/report.md, layers.csv and plots/*.svg from report.json, metrics.jsonl and
sensitivity.csv, and prints the per-layer table. A run that did not finish (no report.json)
gets a summary of its metrics.jsonl.

Options:
  --bench   time the run's final model (checkpoints/latest.safetensors) at its training batch:
            each Winograd layer's forward on the sparse kernel against oneDNN direct
            convolution of the same shape; the speedups go into report.json, report.md and
            layers.csv
)";

const char* kCompareHelp = R"(winoprune compare RUN_DIR RUN_DIR... [--csv FILE] [--md FILE] [--plots DIR]

Prints finished runs side by side, one row each: the config keys whose values differ between
the runs (with each run's value), seed, each pruned layer's sparsity and the total, baseline and
final top-1 / top-5, the change in top-1 and the wall time.

Options:
  --csv FILE    the same rows as CSV (fractions as fractions)
  --md FILE     the same rows as a Markdown table
  --plots DIR   DIR/compare-sparsity.svg (final top-1 against total sparsity, a point per run)
                and DIR/compare-top1.svg (validation top-1 over the steps of each run)
)";

const char* kExportHelp = R"(winoprune export CHECKPOINT|RUN_DIR --out MODEL.safetensors

Writes an inference-only model: the Winograd layers' nonzeros in CSR per position (the sparse
kernel's format) with their transforms, the other layers dense, the model description; no
optimizer state and no masks. A 90%-sparse model comes out several times smaller than its
checkpoint. eval reads it like a checkpoint (docs/contracts.md, export format).
)";

const char* kPredictHelp = R"(winoprune predict MODEL IMAGE|DIR... [--top K] [--json FILE] [--labels FILE] [--kernel sparse|dense]

Classifies image files (JPEG, PNG, BMP; directories are searched) with a checkpoint, an export or
a run directory's latest checkpoint, through the same preprocessing as evaluation, and prints
each file's top K classes with their probabilities.

Options:
  --top K          classes per image (5)
  --json FILE      also write [{"file", "top": [{"class", "name", "probability"}]}]
  --labels FILE    class names, one a line in label order (default: Fashion-MNIST's names, or
                   the training folder's class folders when the run's data root is there)
  --kernel K       sparse (default for a pruned model) or dense
)";

struct UsageError : wp::InputError {
  using wp::InputError::InputError;
};

bool is_help(const std::string& a) { return a == "--help" || a == "-h"; }

// Value of an option that takes one argument: "--out X" or "--out=X".
std::string option_value(const std::vector<std::string>& args, size_t& i, const std::string& name) {
  const std::string& a = args[i];
  if (a.size() > name.size() && a.compare(0, name.size() + 1, name + "=") == 0)
    return a.substr(name.size() + 1);
  if (i + 1 >= args.size()) throw UsageError(name + ": expected a value");
  return args[++i];
}

bool matches(const std::string& a, const std::string& name) {
  return a == name || a.rfind(name + "=", 0) == 0;
}

template <typename T>
std::vector<T> parse_list(const std::string& text, const std::string& option) {
  std::vector<T> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      double v = std::stod(item, &used);
      if (used != item.size()) throw std::invalid_argument(item);
      out.push_back(static_cast<T>(v));
      if (static_cast<double>(out.back()) != v) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw UsageError(option + ": expected a comma-separated list of numbers, got '" + text + "'");
    }
  }
  if (out.empty()) throw UsageError(option + ": expected at least one value");
  return out;
}

// Options that take one number (--repeats, --tile): a list is an error, not its first value
// (`--tile 2,4` used to measure tile 2 alone and say nothing).
template <typename T>
T parse_one(const std::string& text, const std::string& option) {
  std::vector<T> values = parse_list<T>(text, option);
  if (values.size() != 1) throw UsageError(option + ": expected one number, got '" + text + "'");
  return values[0];
}

int run_main(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::fputs(kMainHelp, stderr);
    return 2;
  }
  const std::string& cmd = args[0];
  if (is_help(cmd) || cmd == "help") {
    std::fputs(kMainHelp, stdout);
    return 0;
  }
  if (cmd == "--version") {
    std::printf("winoprune 0.1.0 (MPI %s)\n", wp::dist::built_with_mpi() ? "yes" : "no");
    return 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  for (const auto& a : rest) {
    if (!is_help(a)) continue;
    const char* text = cmd == "run" ? kRunHelp : cmd == "eval" ? kEvalHelp
                     : cmd == "bench" ? kBenchHelp : cmd == "report" ? kReportHelp
                     : cmd == "compare" ? kCompareHelp : cmd == "export" ? kExportHelp
                     : cmd == "predict" ? kPredictHelp : kMainHelp;
    std::fputs(text, stdout);
    return 0;
  }

  if (cmd == "run") {
    wp::RunArgs ra;
    ra.command = "winoprune";
    for (const std::string& a : args)   // quoted where a shell would need it
      ra.command += " " + (a.find_first_of(" '\"\\$[]{}*?") == std::string::npos
                               ? a : "'" + a + "'");
    for (size_t i = 0; i < rest.size(); ++i) {
      const std::string& a = rest[i];
      if (matches(a, "--out")) ra.out_dir = option_value(rest, i, "--out");
      else if (matches(a, "--set")) ra.sets.push_back(option_value(rest, i, "--set"));
      else if (matches(a, "--resume")) ra.resume = option_value(rest, i, "--resume");
      else if (a == "--dry-run") ra.dry_run = true;
      else if (a.rfind("--", 0) == 0) throw UsageError("run: unknown option " + a + " (see winoprune run --help)");
      else if (ra.config_path.empty()) ra.config_path = a;
      else throw UsageError("run: unexpected argument " + a);
    }
    if (ra.resume && (!ra.config_path.empty() || ra.out_dir || !ra.sets.empty() || ra.dry_run))
      throw UsageError("run --resume RUN_DIR takes no config, --out, --set or --dry-run (it uses RUN_DIR/config.json)");
    if (!ra.resume && ra.config_path.empty()) throw UsageError("run: expected CONFIG.json (see winoprune run --help)");
    return wp::command_run(ra);
  }
  if (cmd == "eval") {
    wp::EvalArgs ea;
    for (size_t i = 0; i < rest.size(); ++i) {
      const std::string& a = rest[i];
      if (matches(a, "--config")) ea.config_path = option_value(rest, i, "--config");
      else if (matches(a, "--kernel")) {
        ea.kernel = option_value(rest, i, "--kernel");
        if (*ea.kernel != "sparse" && *ea.kernel != "dense")
          throw UsageError("--kernel: expected sparse or dense, got '" + *ea.kernel + "'");
      } else if (matches(a, "--json")) ea.json_path = option_value(rest, i, "--json");
      else if (matches(a, "--dump-logits")) ea.logits_path = option_value(rest, i, "--dump-logits");
      else if (matches(a, "--set")) ea.sets.push_back(option_value(rest, i, "--set"));
      else if (a.rfind("--", 0) == 0) throw UsageError("eval: unknown option " + a + " (see winoprune eval --help)");
      else if (ea.checkpoint.empty()) ea.checkpoint = a;
      else throw UsageError("eval: unexpected argument " + a);
    }
    if (ea.checkpoint.empty()) throw UsageError("eval: expected CHECKPOINT (see winoprune eval --help)");
    return wp::command_eval(ea);
  }
  if (cmd == "bench") {
    wp::BenchArgs ba;
    for (size_t i = 0; i < rest.size(); ++i) {
      const std::string& a = rest[i];
      if (matches(a, "--suite")) ba.suite = option_value(rest, i, "--suite");
      else if (matches(a, "--batch")) ba.batches = parse_list<int>(option_value(rest, i, "--batch"), "--batch");
      else if (matches(a, "--sparsity")) {
        ba.sparsities = parse_list<double>(option_value(rest, i, "--sparsity"), "--sparsity");
        for (double s : ba.sparsities)
          if (s < 0 || s >= 1) throw UsageError("--sparsity: expected values in [0, 1), got " + std::to_string(s));
      } else if (matches(a, "--json")) ba.json_path = option_value(rest, i, "--json");
      else if (matches(a, "--repeats")) {
        ba.repeats = parse_one<int>(option_value(rest, i, "--repeats"), "--repeats");
        if (ba.repeats < 1) throw UsageError("--repeats: expected at least 1, got " + std::to_string(ba.repeats));
      } else if (matches(a, "--tile")) {
        ba.tile = parse_one<int>(option_value(rest, i, "--tile"), "--tile");
        if (ba.tile != 2 && ba.tile != 4) throw UsageError("--tile: expected 2 or 4, got " + std::to_string(ba.tile));
      } else if (matches(a, "--checkpoint")) ba.checkpoint = option_value(rest, i, "--checkpoint");
      else if (matches(a, "--masks-from")) ba.masks_from = option_value(rest, i, "--masks-from");
      else if (a == "--quick") ba.quick = true;
      else throw UsageError("bench: unknown argument " + a + " (see winoprune bench --help)");
    }
    for (int b : ba.batches)
      if (b < 1) throw UsageError("--batch: expected positive batch sizes");
    if (ba.suite.empty()) throw UsageError("bench: expected --suite conv|layer|train|net|loader");
    return wp::command_bench(ba);
  }
  if (cmd == "report") {
    std::string run_dir;
    bool bench = false;
    for (const std::string& a : rest) {
      if (a == "--bench") bench = true;
      else if (a.rfind("--", 0) == 0) throw UsageError("report: unknown option " + a + " (see winoprune report --help)");
      else if (run_dir.empty()) run_dir = a;
      else throw UsageError("report: expected exactly one RUN_DIR, got also " + a);
    }
    if (run_dir.empty()) throw UsageError("report: expected RUN_DIR (see winoprune report --help)");
    return wp::command_report(run_dir, bench);
  }
  if (cmd == "predict") {
    wp::PredictArgs pa;
    for (size_t i = 0; i < rest.size(); ++i) {
      const std::string& a = rest[i];
      if (matches(a, "--top")) {
        pa.top = parse_one<int>(option_value(rest, i, "--top"), "--top");
        if (pa.top < 1) throw UsageError("--top: expected at least 1, got " + std::to_string(pa.top));
      } else if (matches(a, "--json")) pa.json_path = option_value(rest, i, "--json");
      else if (matches(a, "--labels")) pa.labels = option_value(rest, i, "--labels");
      else if (matches(a, "--kernel")) {
        pa.kernel = option_value(rest, i, "--kernel");
        if (*pa.kernel != "sparse" && *pa.kernel != "dense")
          throw UsageError("--kernel: expected sparse or dense, got '" + *pa.kernel + "'");
      } else if (a.rfind("--", 0) == 0) throw UsageError("predict: unknown option " + a + " (see winoprune predict --help)");
      else if (pa.model.empty()) pa.model = a;
      else pa.inputs.push_back(a);
    }
    if (pa.model.empty() || pa.inputs.empty())
      throw UsageError("predict: expected MODEL and at least one IMAGE or DIR (see winoprune predict --help)");
    return wp::command_predict(pa);
  }
  if (cmd == "export") {
    std::string ckpt, out;
    for (size_t i = 0; i < rest.size(); ++i) {
      const std::string& a = rest[i];
      if (matches(a, "--out")) out = option_value(rest, i, "--out");
      else if (a.rfind("--", 0) == 0) throw UsageError("export: unknown option " + a + " (see winoprune export --help)");
      else if (ckpt.empty()) ckpt = a;
      else throw UsageError("export: unexpected argument " + a);
    }
    if (ckpt.empty() || out.empty()) throw UsageError("export: expected CHECKPOINT --out FILE (see winoprune export --help)");
    return wp::command_export(ckpt, out);
  }
  if (cmd == "compare") {
    wp::CompareArgs ca;
    for (size_t i = 0; i < rest.size(); ++i) {
      const std::string& a = rest[i];
      if (matches(a, "--csv")) ca.csv = option_value(rest, i, "--csv");
      else if (matches(a, "--md")) ca.md = option_value(rest, i, "--md");
      else if (matches(a, "--plots")) ca.plots = option_value(rest, i, "--plots");
      else if (a.rfind("--", 0) == 0) throw UsageError("compare: unknown option " + a + " (see winoprune compare --help)");
      else ca.runs.push_back(a);
    }
    if (ca.runs.size() < 2) throw UsageError("compare: expected at least two RUN_DIRs (see winoprune compare --help)");
    return wp::command_compare(ca);
  }
  throw UsageError("unknown command '" + cmd + "' (expected run, eval, bench, report or compare; see winoprune --help)");
}

}  // namespace

int main(int argc, char** argv) {
  // Tensors of a training step are freed and allocated again every iteration. glibc serves
  // large blocks with mmap and returns them at free, so every step page-faulted its activations
  // anew (67 MB per alexnet-small step, 16% of its CPU time; 792 MB per AlexNet step). Blocks
  // from 1 MB now come from the storage segments (allocator.h), which keep them mapped; what
  // still comes from malloc (smaller tensors, Winograd scratch, oneDNN's own buffers, ~40 MB) is
  // kept in the heap too (without this, 200-550 faults per alexnet-small step remain).
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  // Under mpirun / srun every process joins the job here; a plain start is rank 0 of 1.
  wp::dist::init(&argc, &argv);
  std::vector<std::string> args(argv + 1, argv + argc);
  // In a data-parallel job a failing rank names itself and ends the whole job (MPI_Abort), so
  // no other rank waits forever in a collective.
  std::string who = wp::dist::size() > 1 ? " (rank " + std::to_string(wp::dist::rank()) + " of " +
                                               std::to_string(wp::dist::size()) + ")"
                                         : "";
  int status = 0;
  try {
    status = run_main(args);
  } catch (const wp::Interrupted& e) {
    if (wp::dist::is_root())
      std::fprintf(stderr, "\ninterrupted; resume with: winoprune run --resume %s\n", e.run_dir.c_str());
    status = 128 + e.signal;
  } catch (const wp::InputError& e) {
    std::fprintf(stderr, "winoprune%s: error: %s\n", who.c_str(), e.what());
    status = 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "winoprune%s: failed: %s\n", who.c_str(), e.what());
    status = 1;
  }
  if (status != 0 && wp::dist::size() > 1) {
    std::fflush(stderr);
    wp::dist::abort_job(status);
  }
  wp::dist::finalize();
  return status;
}
