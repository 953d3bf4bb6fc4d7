// Magnitude pruning to an exact count (include/winoprune/prune/magnitude.h).
//
// Key of an entry: the IEEE-754 bits of |w| (sign cleared). For non-negative floats the bits
// order like the values, so selecting the count-th smallest key is a radix select: one pass
// histograms the high 16 bits (65,536 bins), a second pass the low 16 bits inside the one bin
// that holds the cut. Two reads of the weights, no copy, no sort.
#include "winoprune/prune/magnitude.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "winoprune/error.h"

namespace wp {

namespace {

inline uint32_t magnitude_key(float w) {
  uint32_t bits;
  std::memcpy(&bits, &w, sizeof bits);
  return bits & 0x7fffffffu;
}

constexpr uint32_t kAllKeys = 0xffffffffu;   // above every |w| key: "prune everything"

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
  for (auto& s : spans)
    for (int64_t i = 0; i < s.n; ++i) ++hist[magnitude_key(s.w[i]) >> 16];
  int64_t below = 0;
  uint32_t high = 0;
  while (below + hist[high] <= rank) below += hist[high++];

  std::fill(hist.begin(), hist.end(), 0);
  for (auto& s : spans)
    for (int64_t i = 0; i < s.n; ++i) {
      uint32_t k = magnitude_key(s.w[i]);
      if ((k >> 16) == high) ++hist[k & 0xffffu];
    }
  uint32_t low = 0;
  while (below + hist[low] <= rank) below += hist[low++];

  cut.threshold_key = (high << 16) | low;
  cut.ties = count - below;            // >= 1: entries with key == T pruned, in rank order
  return cut;
}

int64_t apply_cut(const float* w, int64_t n, float* mask, MagnitudeCut& cut) {
  int64_t pruned = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t k = magnitude_key(w[i]);
    bool prune = k < cut.threshold_key || (k == cut.threshold_key && cut.ties > 0);
    if (prune && k == cut.threshold_key) --cut.ties;
    mask[i] = prune ? 0.0f : 1.0f;
    pruned += prune;
  }
  return pruned;
}

void magnitude_prune(const std::vector<Parameter*>& params, const std::vector<double>& targets) {
  if (params.size() != targets.size())
    throw std::invalid_argument("magnitude_prune: one target per parameter");
  for (size_t i = 0; i < params.size(); ++i) {
    Parameter& p = *params[i];
    const int64_t n = p.value().numel();
    MagnitudeCut cut = magnitude_cut({{p.value().data(), n}}, prune_count(targets[i], n));
    apply_cut(p.value().data(), n, ensure_mask(p).data(), cut);
    apply_mask(p);
  }
}

void magnitude_prune_global(const std::vector<Parameter*>& params, double sparsity) {
  std::vector<WeightSpan> spans;
  int64_t total = 0;
  for (Parameter* p : params) {
    spans.push_back({p->value().data(), p->value().numel()});
    total += p->value().numel();
  }
  MagnitudeCut cut = magnitude_cut(spans, prune_count(sparsity, total));
  for (Parameter* p : params) {
    apply_cut(p->value().data(), p->value().numel(), ensure_mask(*p).data(), cut);
    apply_mask(*p);
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
