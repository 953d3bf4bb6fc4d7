#pragma once
// The formulas behind the pruners, as plain functions (tested one by one).
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace wp {

// Zhu & Gupta's gradual pruning (AGP), as Distiller computes it. Pruning steps are
// t = start, start + frequency, ..., start + span with span = ((end - start - 1) / frequency) *
// frequency (the last step before the exclusive end). At step t:
//   s_t = s_f + (s_i - s_f) * (1 - (t - start) / span)^3
// with s_start = s_i and s_{start+span} = s_f exactly (no rounding at either end); after
// start + span the target stays s_f.
// span == 0 (one step only) prunes straight to s_f. Returns nullopt when t is not a step.
std::optional<double> agp_sparsity(double s_i, double s_f, int64_t start, int64_t end,
                                   int64_t frequency, int64_t t);
// The target at any t >= start (steps or not): the value of the last step at or before t.
double agp_target(double s_i, double s_f, int64_t start, int64_t end, int64_t frequency,
                  int64_t t);

// A fixed-step schedule [(t, s), ...] with increasing t: the s of the last entry with t' <= t,
// nullopt before the first entry.
std::optional<double> steps_target(const std::vector<std::pair<int64_t, double>>& schedule,
                                   int64_t t);


// Per-position thresholds of the reference: thr_j = thr0 / (||A_p|| * ||A_q||), j = p*t + q.
// Positions whose coefficients reach the output with large weights are pruned more gently:
// for F(4,3) thr_j spans thr0 (corners) down to thr0/85 (positions (3,3), (3,4), (4,3), (4,4)).
std::vector<double> per_position_thresholds(int m, int r, double thr0);

// The reference's gradient-adaptive threshold: thr = 1 / (|g|/thr0 + 1/(factor*thr0))
// = thr0 / (|g| + 1/factor): factor*thr0 where the gradient vanishes, thr0 at |g| = 1 - 1/factor,
// about thr0/|g| where it is large (a weight the loss depends on is cut only when tiny).
inline double adaptive_threshold(double grad_abs, double thr0, double factor) {
  return 1.0 / (grad_abs / thr0 + 1.0 / (factor * thr0));
}

// The values of a sweep [start, stop, step], stop INCLUDED when the step lands on it within
// 1e-9 relative (so [0, 0.95, 0.05] gives 20 values, the last exactly 0.95). Values are rounded
// to 12 decimals (0.15, not 0.15000000000000002).
std::vector<double> sweep_values(double start, double stop, double step);

}  // namespace wp
