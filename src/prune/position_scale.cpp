// Per-position saliency factors (include/winoprune/prune/position_scale.h).
#include "winoprune/prune/position_scale.h"

#include <cmath>

#include "winoprune/winograd/transform.h"

namespace wp {

const char* position_scale_name(PositionScale s) {
  switch (s) {
    case PositionScale::none: return "none";
    case PositionScale::output: return "output";
    case PositionScale::output_input: return "output_input";
  }
  return "none";
}

std::optional<PositionScale> parse_position_scale(const std::string& name) {
  if (name == "none") return PositionScale::none;
  if (name == "output") return PositionScale::output;
  if (name == "output_input") return PositionScale::output_input;
  return std::nullopt;
}

std::vector<double> position_scale_factors(PositionScale s, int m, int r) {
  if (s == PositionScale::none || m == 0) return {};
  const TransformRowGains g = transform_row_gains(m, r);
  const int t = int(g.a.size());
  std::vector<double> per_row(size_t(t), 1.0);   // the 1-D factor of row (or column) p
  for (int p = 0; p < t; ++p)
    per_row[size_t(p)] = s == PositionScale::output ? g.a[size_t(p)] : g.a[size_t(p)] * g.b[size_t(p)];
  const double norm = s == PositionScale::output_input ? 1.0 / double(m) : 1.0;
  std::vector<double> f(size_t(t) * t);
  for (int p = 0; p < t; ++p)
    for (int q = 0; q < t; ++q) f[size_t(p) * t + q] = per_row[size_t(p)] * per_row[size_t(q)] * norm;
  return f;
}

}  // namespace wp
