#pragma once
// Magnitude pruning to an exact count, the building block of the magnitude, gradual and steps
// pruners and of the sensitivity sweep.
//
// Order: entries are ranked by (|w|, layer index, element index); the first `count` are pruned.
// Ties are therefore broken deterministically (lower layer, then lower index first), exact zeros
// come first (so re-pruning to a higher target keeps every earlier zero: masks only grow), and
// the count is exact: count = llround(sparsity * numel). The selection is a two-pass radix
// select on the float bits of |w| (monotone for non-negative floats), O(n), no sort, no copy:
// fc6 of ImageNet AlexNet has 37.7M weights.
#include <cstdint>
#include <vector>

#include "winoprune/nn/parameter.h"
#include "winoprune/optim/sgd.h"   // apply_mask(Parameter&): value *= mask, momentum *= mask

namespace wp {

// Number of entries a target sparsity prunes in a layer of n weights (round to nearest).
int64_t prune_count(double sparsity, int64_t n);

// The decision for one set of weights: prune entries with key < threshold_key, plus the first
// `ties` entries (in rank order) whose key equals threshold_key.
struct MagnitudeCut {
  uint32_t threshold_key = 0;   // float bits of the |w| at the cut
  int64_t ties = 0;
  float threshold() const;      // that |w| as a float
};

// The cut that prunes exactly `count` of the entries of `spans` taken together.
struct WeightSpan {
  const float* w;
  int64_t n;
};
MagnitudeCut magnitude_cut(const std::vector<WeightSpan>& spans, int64_t count);

// Writes the 0/1 mask of a cut (mask may alias nothing else); consumes ties in rank order, so
// call it on the spans in the same order as magnitude_cut. Returns the number pruned.
int64_t apply_cut(const float* w, int64_t n, float* mask, MagnitudeCut& cut);

// Prunes each parameter to its own target: sets mask (allocated if undefined), zeroes value and
// momentum where the mask is 0. targets[i] is the sparsity of params[i].
void magnitude_prune(const std::vector<Parameter*>& params, const std::vector<double>& targets);

// One threshold across all params: exactly llround(sparsity * total) entries pruned.
void magnitude_prune_global(const std::vector<Parameter*>& params, double sparsity);

// mask = (value != 0), momentum *= mask: freezes the current zeros for fine-tuning.
void freeze_mask(Parameter& p);

int64_t count_zeros(const float* w, int64_t n);

}  // namespace wp
