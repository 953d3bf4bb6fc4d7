#pragma once
// Benchmark harness shared by the suites of `winoprune bench` (docs/contracts.md, bench contract).
// Each suite is one file src/bench/bench_<suite>.cpp exposing `json bench_<suite>(opts, out)`:
// it measures every row in this process, prints a table to `out` as rows complete, and returns
// {"suite", "isa", "threads", "results": [...]}. The CLI writes that to --json FILE.
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "winoprune/io/json_reader.h"
#include "winoprune/report/table.h"   // TablePrinter, the suites' printed tables

namespace wp {

struct BenchOptions {
  std::vector<int> batches;          // --batch N[,N]; empty = the suite's default
  std::vector<double> sparsities;    // --sparsity S[,S]; empty = the suite's default
  int warmup = 2;                    // untimed runs before the timed ones
  int repeats = 5;                   // timed runs; the median is reported
  bool quick = false;                // fewer rows/repeats (used by tests)
  int tile = 0;                      // conv, layer, train: Winograd output tile m, 2 or 4 (0: 4)
  // conv suite --masks-from: per layer name, the tile m and each position's density (nonzero
  // fraction) measured in a pruned checkpoint; the suite lays that profile onto its shapes.
  struct PositionProfile {
    int m = 4, r = 3;
    std::vector<double> density;     // [t*t]
  };
  std::map<std::string, PositionProfile> position_profiles;
  std::string masks_from;            // the checkpoint they came from (rows carry it)
};

struct Timing {
  double median_ms = 0, min_ms = 0, max_ms = 0;
  int runs = 0;
};

// Runs fn `warmup` times untimed, then `repeats` times timed (steady clock); median of those.
Timing time_median(const std::function<void()>& fn, int warmup, int repeats);

struct PairedTiming {
  double ratio_median = 0;          // median over the pairs of b's time / a's
  double a_median_ms = 0, b_median_ms = 0;
  int runs = 0;                     // pairs
};

// Runs a and b `warmup` times each untimed, then `pairs` times each, alternating which goes
// first (a b, b a, a b, ...), each timed alone: the ratio of two things measured a second
// apart, which a machine whose speed drifts over minutes leaves nearly untouched. With
// `settle`, each timed run follows that many untimed runs of the same function, so it finds
// the caches holding its own data as a run of the rows' repeated timing does (a millisecond
// kernel timed right after the other one of its pair ran up to 1.2x slower).
PairedTiming time_paired(const std::function<void()>& a, const std::function<void()>& b,
                         int warmup, int pairs, int settle = 0);

// The envelope every suite returns: {"suite", "isa", "threads", "results": []}.
json bench_envelope(const std::string& suite);

std::string fmt_fixed(double v, int decimals);

}  // namespace wp
