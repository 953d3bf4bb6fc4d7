// Magnitude pruning to an exact count (include/winoprune/prune/magnitude.h).
//
// Key of an entry: the IEEE-754 bits of its score, |w| or float(double(|w|) * s_j) (sign
// cleared). For non-negative floats the bits order like the values, so selecting the
// count-th smallest key is a radix select: one pass histograms the high 16 bits (65,536 bins),
// a second pass the low 16 bits inside the one bin that holds the cut. Two reads of the
// weights, no copy, no sort; the scaled key costs one multiply per entry and read.
#include "winoprune/prune/magnitude.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "winoprune/error.h"

namespace wp {

namespace {

inline uint32_t magnitude_key(float w) {
  uint32_t bits;
  std::memcpy(&bits, &w, sizeof bits);
  return bits & 0x7fffffffu;
}

// Exact zeros keep key 0; a non-zero whose product underflows to 0 gets key 1 (the smallest
// denormal), so zeros rank strictly first and re-pruning never drops an earlier zero.
inline uint32_t scaled_key(float w, double s) {
  if (w == 0.0f) return 0;
  const uint32_t k = magnitude_key(float(std::fabs(double(w)) * s));
  return k == 0 ? 1u : k;
}

// Calls f(key) for every entry of the span, in index order.
template <class F>
void for_each_key(const WeightSpan& s, F&& f) {
  if (!s.scale && !s.element) {
    for (int64_t i = 0; i < s.n; ++i) f(magnitude_key(s.w[i]));
    return;
  }
  if (!s.scale) {
    for (int64_t i = 0; i < s.n; ++i) f(scaled_key(s.w[i], double(s.element[i])));
    return;
  }
  for (int64_t j = 0, begin = 0; begin < s.n; ++j, begin += s.block) {
    const double sj = s.scale[j];
    const int64_t end = std::min(s.n, begin + s.block);
    if (s.element)
      for (int64_t i = begin; i < end; ++i) f(scaled_key(s.w[i], sj * double(s.element[i])));
    else
      for (int64_t i = begin; i < end; ++i) f(scaled_key(s.w[i], sj));
  }
}

constexpr uint32_t kAllKeys = 0xffffffffu;   // above every key: "prune everything"

// The spans of params with their factors (checked against dim 0).
std::vector<WeightSpan> make_spans(const std::vector<Parameter*>& params,
                                   const PositionScales& scales, const ElementScales& elements) {
  if (!scales.empty() && scales.size() != params.size())
    throw std::invalid_argument("magnitude pruning: one position-scale list per parameter");
  if (!elements.empty() && elements.size() != params.size())
    throw std::invalid_argument("magnitude pruning: one element-scale pointer per parameter");
  std::vector<WeightSpan> spans;
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& v = params[i]->value();
    WeightSpan s{v.data(), v.numel()};
    if (!scales.empty() && !scales[i].empty()) {
      const int64_t positions = v.ndim() > 0 ? v.dim(0) : 0;
      if (positions != int64_t(scales[i].size()) || positions == 0)
        throw std::invalid_argument(params[i]->name + ": " + std::to_string(scales[i].size()) +
                                    " position factors for a weight with " +
                                    std::to_string(positions) + " slices along dim 0");
      s.scale = scales[i].data();
      s.block = v.numel() / positions;
      if (s.block == 0) s.scale = nullptr;   // an empty weight: nothing to scale
    }
    if (!elements.empty()) s.element = elements[i];
    spans.push_back(s);
  }
  return spans;
}

Tensor& ensure_mask(Parameter& p) {
  if (!p.mask.defined() || p.mask.numel() != p.value().numel())
    p.mask = Tensor::full(p.value().shape(), 1.0f);
  return p.mask;
}

}  // namespace

float MagnitudeCut::threshold() const {
  uint32_t bits = threshold_key;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

int64_t prune_count(double sparsity, int64_t n) {
  int64_t k = std::llround(sparsity * double(n));
  return std::clamp<int64_t>(k, 0, n);
}

MagnitudeCut magnitude_cut(const std::vector<WeightSpan>& spans, int64_t count) {
  MagnitudeCut cut;
  int64_t total = 0;
  for (auto& s : spans) total += s.n;
  if (count <= 0) return cut;          // key < 0 never holds, no ties: nothing pruned
  if (count >= total) {
    cut.threshold_key = kAllKeys;
    return cut;
  }
  // The cut key T is the key of rank count-1 (the last pruned entry, 0-based).
  const int64_t rank = count - 1;
  std::vector<int64_t> hist(65536);
  int64_t* h = hist.data();
  for (auto& s : spans) for_each_key(s, [h](uint32_t k) { ++h[k >> 16]; });
  int64_t below = 0;
  uint32_t high = 0;
  while (below + hist[high] <= rank) below += hist[high++];

  std::fill(hist.begin(), hist.end(), 0);
  for (auto& s : spans)
    for_each_key(s, [h, high](uint32_t k) {
      if ((k >> 16) == high) ++h[k & 0xffffu];
    });
  uint32_t low = 0;
  while (below + hist[low] <= rank) below += hist[low++];

  cut.threshold_key = (high << 16) | low;
  cut.ties = count - below;            // >= 1: entries with key == T pruned, in rank order
  return cut;
}

int64_t apply_cut(const WeightSpan& span, float* mask, MagnitudeCut& cut) {
  int64_t pruned = 0, i = 0;
  for_each_key(span, [&](uint32_t k) {
    bool prune = k < cut.threshold_key || (k == cut.threshold_key && cut.ties > 0);
    if (prune && k == cut.threshold_key) --cut.ties;
    mask[i++] = prune ? 0.0f : 1.0f;
    pruned += prune;
  });
  return pruned;
}

int64_t apply_cut(const float* w, int64_t n, float* mask, MagnitudeCut& cut) {
  return apply_cut(WeightSpan{w, n}, mask, cut);
}

void magnitude_prune(const std::vector<Parameter*>& params, const std::vector<double>& targets,
                     const PositionScales& position_scales, const ElementScales& element_scales) {
  if (params.size() != targets.size())
    throw std::invalid_argument("magnitude_prune: one target per parameter");
  const std::vector<WeightSpan> spans = make_spans(params, position_scales, element_scales);
  for (size_t i = 0; i < params.size(); ++i) {
    Parameter& p = *params[i];
    MagnitudeCut cut = magnitude_cut({spans[i]}, prune_count(targets[i], spans[i].n));
    apply_cut(spans[i], ensure_mask(p).data(), cut);
    apply_mask(p);
  }
}

void magnitude_prune_global(const std::vector<Parameter*>& params, double sparsity,
                            const PositionScales& position_scales,
                            const ElementScales& element_scales) {
  const std::vector<WeightSpan> spans = make_spans(params, position_scales, element_scales);
  int64_t total = 0;
  for (const WeightSpan& s : spans) total += s.n;
  MagnitudeCut cut = magnitude_cut(spans, prune_count(sparsity, total));
  for (size_t i = 0; i < params.size(); ++i) {
    apply_cut(spans[i], ensure_mask(*params[i]).data(), cut);
    apply_mask(*params[i]);
  }
}

void freeze_mask(Parameter& p) {
  Tensor& mask = ensure_mask(p);
  const float* w = p.value().data();
  float* m = mask.data();
  for (int64_t i = 0, n = mask.numel(); i < n; ++i) m[i] = w[i] != 0.0f ? 1.0f : 0.0f;
  apply_mask(p);
}

int64_t count_zeros(const float* w, int64_t n) {
  int64_t z = 0;
  for (int64_t i = 0; i < n; ++i) z += w[i] == 0.0f;
  return z;
}

}  // namespace wp
