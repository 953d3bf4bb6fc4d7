// AGP and step schedules, per-position thresholds, sweeps (include/winoprune/prune/schedule.h).
#include "winoprune/prune/schedule.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "winoprune/winograd/transform.h"

namespace wp {

namespace {
int64_t agp_span(int64_t start, int64_t end, int64_t frequency) {
  if (frequency < 1 || end <= start)
    throw std::invalid_argument("agp: needs start < end, frequency >= 1");
  return ((end - start - 1) / frequency) * frequency;
}
}  // namespace

std::optional<double> agp_sparsity(double s_i, double s_f, int64_t start, int64_t end,
                                   int64_t frequency, int64_t t) {
  const int64_t span = agp_span(start, end, frequency);
  if (t < start || t >= end || (t - start) % frequency != 0) return std::nullopt;
  if (span == 0) return s_f;
  if (t == start) return s_i;   // s_f + (s_i - s_f) * 1 may round: 0.9 + (0.1 - 0.9) = 0.0999...98
  // At the last step (t - start == span) the factor is (1 - 1)^3 = 0 exactly: s_f, no rounding.
  const double x = 1.0 - double(t - start) / double(span);
  return s_f + (s_i - s_f) * x * x * x;
}

double agp_target(double s_i, double s_f, int64_t start, int64_t end, int64_t frequency,
                  int64_t t) {
  const int64_t span = agp_span(start, end, frequency);
  if (t < start) return s_i;
  if (t - start >= span) return s_f;
  const int64_t last_step = start + ((t - start) / frequency) * frequency;
  return *agp_sparsity(s_i, s_f, start, end, frequency, last_step);
}

std::optional<double> steps_target(const std::vector<std::pair<int64_t, double>>& schedule,
                                   int64_t t) {
  std::optional<double> s;
  for (const auto& [when, sparsity] : schedule)
    if (when <= t) s = sparsity;
  return s;
}

std::vector<double> per_position_thresholds(int m, int r, double thr0) {
  const std::vector<double> a = transform_row_gains(m, r).a;
  const size_t t = a.size();
  std::vector<double> thr(t * t);
  for (size_t p = 0; p < t; ++p)
    for (size_t q = 0; q < t; ++q) thr[p * t + q] = thr0 / (a[p] * a[q]);
  return thr;
}

std::vector<double> sweep_values(double start, double stop, double step) {
  if (!(step > 0) || !(stop >= start) || !std::isfinite(start) || !std::isfinite(stop))
    throw std::invalid_argument("sweep_values: needs start <= stop and step > 0");
  // (0.95 - 0)/0.05 = 18.999999999999996 in double: the tolerance keeps stop in the sweep.
  const double ratio = (stop - start) / step;
  const int64_t n = int64_t(std::floor(ratio + 1e-9 * std::max(1.0, ratio))) + 1;
  std::vector<double> values;
  for (int64_t i = 0; i < n; ++i) {
    double v = start + double(i) * step;
    v = std::round(v * 1e12) / 1e12;
    values.push_back(std::min(v, stop));
  }
  if (std::fabs(values.back() - stop) <= 1e-9 * std::max(1.0, std::fabs(stop)))
    values.back() = stop;
  return values;
}

}  // namespace wp
