// `winoprune bench --suite conv`: one whole-batch inference forward of AlexNet's conv2..conv5
// (ImageNet shapes) by four algorithms, all measured in this process (docs/contracts.md bench contract):
//   sparse-winograd  SparseWinogradConv (this repository's kernel), pruned W at each sparsity
//   dense-winograd   winograd_conv2d (the training layer's forward) under NoGradGuard
//   onednn-direct    oneDNN 2.6 convolution_direct, blocked layouts of its choice (tag any)
//   onednn-winograd  oneDNN convolution_winograd where oneDNN implements the shape (it has
//                    F(4x4,3x3), groups 1 only); an unimplemented shape prints a note, no row
// Every row: median of opts.repeats runs after opts.warmup untimed runs; weight packing and
// layout reorders are outside the timer; all algorithms add the bias, none applies ReLU.
// Dense algorithms' time does not depend on the weights' values, so they are measured once per
// (layer, groups, batch), on weights pruned to the first requested sparsity, and report it.
// Rows of sparse-winograd also carry the per-thread mean CPU time of the kernel's phases
// (input_transform_ms, product_ms, output_transform_ms) and their sum (busy_ms), medians of a
// separate instrumented series: on a loaded machine they still estimate the idle-machine time.
// effective_gflops = 2 K (C/g) r r Ho Wo N / time (dense direct-convolution FLOPs).
// product_gflops = 2 nnz(W) x tiles / (threads x product_ms): the products' useful FLOPs per
// core-second (padding lanes and padded slice entries not counted); peak_fraction = that over
// the FMA peak of one core measured at the start of the suite (fma_peak_gflops in the envelope,
// kernels/fma_peak.h).
// --tile 2 measures the sparse and dense Winograd rows with F(2x2, r x r) instead of F(4x4)
// (their rows carry "tile"), the tile the Fashion-MNIST pruning configs use.
#include <dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "onednn_baselines.h"
#include "winoprune/autograd.h"
#include "winoprune/error.h"
#include "winoprune/bench/bench.h"
#include "winoprune/kernels/fma_peak.h"
#include "winoprune/rng.h"
#include "winoprune/sparse/sparse_winograd.h"
#include "winoprune/tensor.h"
#include "winoprune/winograd/transform.h"
#include "winoprune/winograd/winograd_conv2d.h"

namespace wp {

namespace {

struct ConvLayer {
  const char* name;
  int C, K, H, r, pad, m;   // square H x H input, stride 1; m: Winograd output tile
};

// Caffe AlexNet on 227x227 ImageNet crops (docs/method.md section 4); tiles of section 1.
const ConvLayer kLayers[] = {
    {"conv2", 96, 256, 27, 5, 2, 4},
    {"conv3", 256, 384, 13, 3, 1, 4},
    {"conv4", 384, 384, 13, 3, 1, 4},
    {"conv5", 384, 256, 13, 3, 1, 4},
};

// Uniform [-1, 1) values; exactly round(sparsity * n) of them zeroed at random places.
std::vector<float> random_pruned(size_t n, double sparsity, uint64_t seed) {
  Rng rng(seed, 11);
  std::vector<float> v(n);
  for (auto& x : v) {
    x = rng.uniform(-1.0f, 1.0f);
    if (x == 0.0f) x = 0.25f;
  }
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  const size_t zeros = size_t(sparsity * double(n) + 0.5);
  for (size_t i = 0; i < zeros; ++i) {   // partial Fisher-Yates: the first `zeros` picks
    size_t k = i + rng.below(uint32_t(n - i));
    std::swap(order[i], order[k]);
    v[order[i]] = 0.0f;
  }
  return v;
}

// A Winograd weight [P][K][Cg] whose position j keeps round(density[j] * K * Cg) nonzeros at
// random places (values uniform in [-1, 1), never 0): a measured per-position profile laid onto
// another layer's shape.
std::vector<float> profile_pruned(const std::vector<double>& density, int K, int Cg, uint64_t seed) {
  const size_t per = size_t(K) * Cg;
  std::vector<float> w;
  w.reserve(density.size() * per);
  for (size_t j = 0; j < density.size(); ++j) {
    std::vector<float> part = random_pruned(per, 1.0 - density[j], seed + 17 * j);
    w.insert(w.end(), part.begin(), part.end());
  }
  return w;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n == 0 ? 0.0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string cell(const json& row, const char* key) {
  return row.contains(key) ? fmt_fixed(row[key].get<double>(), 3) : "-";
}

struct Bench {
  const BenchOptions& opts;
  std::ostream& out;
  double fma_peak_gflops;   // one core
  TablePrinter table;
  json rows = json::array();

  Bench(const BenchOptions& o, std::ostream& os, double peak)
      : opts(o),
        out(os),
        fma_peak_gflops(peak),
        table(os, {"layer", "groups", "batch", "sparsity", "algo", "ms", "eff.GFLOP/s",
                   "x direct", "x paired", "busy ms", "product ms", "of peak"},
              {6, 6, 5, 8, 19, 9, 11, 8, 8, 8, 10, 7}) {}

  void add(const ConvLayer& L, int groups, int batch, double sparsity, const std::string& algo,
           double ms, double flops, double direct_ms, json extra = json::object()) {
    json row = {{"layer", L.name}, {"groups", groups}, {"batch", batch},
                {"sparsity", sparsity}, {"algo", algo}, {"ms", ms},
                {"effective_gflops", flops / (ms * 1e6)}};
    const bool ours = algo == "sparse-winograd" || algo == "dense-winograd";
    if (ours) row["tile"] = L.m;   // oneDNN's Winograd is always F(4x4,3x3)
    for (auto& [k, v] : extra.items()) row[k] = v;
    rows.push_back(row);
    table.row({L.name, std::to_string(groups), std::to_string(batch), fmt_fixed(sparsity, 3),
               ours ? algo + " F" + std::to_string(L.m) : algo, fmt_fixed(ms, 3), fmt_fixed(flops / (ms * 1e6), 1),
               direct_ms > 0 ? fmt_fixed(direct_ms / ms, 2) : "-",
               extra.contains("x_direct_paired")
                   ? fmt_fixed(extra["x_direct_paired"].get<double>(), 2)
                   : "-",
               cell(extra, "busy_ms"),
               cell(extra, "product_ms"),
               extra.contains("peak_fraction")
                   ? fmt_fixed(100.0 * extra["peak_fraction"].get<double>(), 0) + "%"
                   : "-"});
  }

  // All rows of one (layer, groups, batch).
  void config(const ConvLayer& layer, int groups, int batch, const std::vector<double>& sparsities) {
    ConvLayer L = layer;
    if (opts.tile) L.m = opts.tile;   // --tile
    if (auto it = opts.position_profiles.find(L.name); it != opts.position_profiles.end()) {
      if (it->second.r != L.r)
        throw InputError("--masks-from " + opts.masks_from + ": " + L.name + " has " +
                         std::to_string(it->second.r) + "x" + std::to_string(it->second.r) +
                         " kernels there, AlexNet's " + L.name + " " + std::to_string(L.r) + "x" +
                         std::to_string(L.r));
      L.m = it->second.m;   // the checkpoint's tile, so its positions map one to one
    }
    const int Cg = L.C / groups, Kg = L.K / groups;
    const int Ho = L.H + 2 * L.pad - L.r + 1;
    const double flops = 2.0 * L.K * Cg * L.r * L.r * double(Ho) * Ho * batch;
    const int t = L.m + L.r - 1, P = t * t;
    const uint64_t seed = mix(uint64_t(L.C), uint64_t(L.K), uint64_t(groups), uint64_t(batch));
    Rng rng(seed, 1);
    Tensor x = Tensor::empty({batch, L.C, L.H, L.H});
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = rng.uniform(-1.0f, 1.0f);
    std::vector<float> bias(size_t(L.K));
    for (auto& b : bias) b = rng.uniform(-0.1f, 0.1f);
    // Dense rows: the requested first sparsity, or the measured profile's overall sparsity.
    double s0 = sparsities.front();
    if (auto it = opts.position_profiles.find(L.name); it != opts.position_profiles.end()) {
      double d = 0;
      for (double x : it->second.density) d += x;
      s0 = 1.0 - d / double(it->second.density.size());
    }
    (void)Kg;

    // --- dense algorithms, on weights of sparsity s0 ---
    double direct_ms = 0;
    std::unique_ptr<OnednnConv> direct;   // kept for the sparse rows' paired speedup
    {
      std::vector<float> g = random_pruned(size_t(L.K) * Cg * L.r * L.r, s0, seed + 1);
      for (auto alg : {dnnl::algorithm::convolution_direct,
                       dnnl::algorithm::convolution_winograd}) {
        const bool is_direct = alg == dnnl::algorithm::convolution_direct;
        try {
          auto conv = std::make_unique<OnednnConv>(alg, batch, L.C, L.H, L.K, L.r, L.pad, groups,
                                                   x.data(), g.data(), bias.data());
          Timing tm = time_median([&] { conv->run(); }, opts.warmup, opts.repeats);
          add(L, groups, batch, s0, is_direct ? "onednn-direct" : "onednn-winograd",
              tm.median_ms, flops, is_direct ? tm.median_ms : direct_ms);
          if (is_direct) {
            direct_ms = tm.median_ms;
            direct = std::move(conv);
          }
        } catch (const dnnl::error& e) {
          if (e.status != dnnl_unimplemented) throw;
          out << "  (" << L.name << " groups " << groups << ": oneDNN has no "
              << (is_direct ? "direct" : "Winograd") << " implementation for this shape, skipped)"
              << std::endl;
        }
      }
    }
    {
      std::vector<float> w = random_pruned(size_t(P) * L.K * Cg, s0, seed + 2);
      NoGradGuard no_grad;
      Var xv = leaf(x), wv = leaf(Tensor::from_vector({P, L.K, Cg}, w));
      Var bv = leaf(Tensor::from_vector({L.K}, bias));
      WinogradConvParams p;
      p.m = L.m;
      p.r = L.r;
      p.pad = L.pad;
      p.groups = groups;
      Timing tm = time_median([&] { (void)winograd_conv2d(xv, wv, bv, p); }, opts.warmup,
                              opts.repeats);
      add(L, groups, batch, s0, "dense-winograd", tm.median_ms, flops, direct_ms);
    }

    // --- the sparse kernel at every sparsity, or on the measured per-position profile ---
    Tensor y;
    const auto profile = opts.position_profiles.find(L.name);
    const bool measured = profile != opts.position_profiles.end();
    std::vector<double> levels = measured ? std::vector<double>{-1.0} : sparsities;
    for (double s : levels) {
      Tensor W = measured ? Tensor::from_vector({P, L.K, Cg}, profile_pruned(profile->second.density,
                                                                           L.K, Cg, seed + 3))
                          : Tensor::from_vector({P, L.K, Cg},
                                                random_pruned(size_t(P) * L.K * Cg, s, seed + 3));
      SparseWinogradConv conv = SparseWinogradConv::pack(W, L.m, L.r, L.pad, groups);
      Timing tm = time_median([&] { conv.forward(x, bias.data(), false, y); }, opts.warmup,
                              opts.repeats);
      std::vector<double> ph[3];
      for (int i = 0; i < std::max(opts.repeats, 1); ++i) {
        double p3[3] = {0, 0, 0};
        conv.forward_with(sparse_winograd_variant(), x, bias.data(), false, y, p3);
        for (int k = 0; k < 3; ++k) ph[k].push_back(p3[k]);
      }
      json extra = {{"kernel", conv.kernel_name()}, {"density", conv.density()}};
      if (measured) {
        s = 1.0 - conv.density();
        extra["masks_from"] = opts.masks_from;
      }
      if (sparse_winograd_variant().isa != Isa::ref) {
        extra["input_transform_ms"] = median(ph[0]);
        extra["product_ms"] = median(ph[1]);
        extra["output_transform_ms"] = median(ph[2]);
        std::vector<double> busy(ph[0].size());
        for (size_t i = 0; i < busy.size(); ++i) busy[i] = ph[0][i] + ph[1][i] + ph[2][i];
        extra["busy_ms"] = median(busy);
        const int tiles_1d = (Ho + L.m - 1) / L.m;
        const double useful = 2.0 * double(conv.nnz()) * tiles_1d * tiles_1d * batch;
        const double product_ms = extra["product_ms"];
        if (product_ms > 0) {
          extra["product_gflops"] = useful / (omp_get_max_threads() * product_ms * 1e6);
          extra["peak_fraction"] = extra["product_gflops"].get<double>() / fma_peak_gflops;
        }
      }
      // The speedup from runs of the two alternated (time_paired): the rows' medians are up to
      // minutes apart on a machine whose speed drifts. Each timed run follows an untimed one of
      // its own, so both find their data in cache as in the rows' timing.
      if (direct) {
        const PairedTiming pt =
            time_paired([&] { conv.forward(x, bias.data(), false, y); }, [&] { direct->run(); },
                        opts.warmup, opts.repeats, 1);
        extra["x_direct_paired"] = pt.ratio_median;
      }
      add(L, groups, batch, s, "sparse-winograd", tm.median_ms, flops, direct_ms, extra);
    }
  }
};

}  // namespace

json bench_conv(const BenchOptions& opts, std::ostream& out) {
  json env = bench_envelope("conv");
  std::vector<int> batches = opts.batches;
  if (batches.empty()) batches = opts.quick ? std::vector<int>{1} : std::vector<int>{1, 64};
  std::vector<double> sparsities = opts.sparsities;
  if (sparsities.empty())
    sparsities = opts.quick ? std::vector<double>{0.9}
                            : std::vector<double>{0.0, 0.5, 0.8, 0.9, 0.95, 0.98};
  // --quick: conv3 with groups 1 only (a smoke run); otherwise all layers, groups 1 and 2.
  std::vector<int> group_list = opts.quick ? std::vector<int>{1} : std::vector<int>{1, 2};
  if (!opts.masks_from.empty()) {
    out << "masks from " << opts.masks_from << ": each layer's per-position density laid onto "
                                              "the AlexNet shape\n";
    env["masks_from"] = opts.masks_from;
  }
  out << "conv suite: " << omp_get_max_threads() << " threads, ISA " << isa_name(active_isa())
      << ", median of " << opts.repeats << " after " << opts.warmup << " warm-up\n";
  const double peak = measure_fma_peak_gflops();
  env["fma_peak_gflops"] = peak;
  out << "FMA peak of one core (" << isa_name(active_isa()) << "): " << fmt_fixed(peak, 1)
      << " GFLOP/s; product GFLOP/s are per core\n";
  Bench bench(opts, out, peak);
  for (const ConvLayer& L : kLayers) {
    if (opts.quick && std::string(L.name) != "conv3") continue;
    if (!opts.masks_from.empty() && !opts.position_profiles.count(L.name)) continue;
    for (int groups : group_list)
      for (int batch : batches) bench.config(L, groups, batch, sparsities);
  }
  env["results"] = bench.rows;
  return env;
}

}  // namespace wp
