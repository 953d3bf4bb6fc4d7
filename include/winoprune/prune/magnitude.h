#pragma once
// Magnitude pruning to an exact count, the building block of the magnitude, gradual and steps
// pruners and of the sensitivity sweep.
//
// Order: entries are ranked by (score, layer index, element index); the first `count` are
// pruned. score = |w| * s_j, where s_j is the factor of the entry's position j (the slice along
// dim 0 of a Winograd weight, see position_scale.h), or |w| when the span is unscaled. The score
// is rounded to float: float(double(|w|) * s_j), monotone in |w| within a position.
// Ties are broken deterministically (lower layer, then lower index first), exact zeros come
// first, strictly (a non-zero whose scaled score underflows to 0 still ranks after every zero),
// so re-pruning to a higher target keeps every earlier zero: masks only grow; and the count is
// exact: count = llround(sparsity * numel). The selection is a two-pass radix select on the
// float bits of the score (monotone for non-negative floats), O(n), no sort, no copy: fc6 of
// ImageNet AlexNet has 37.7M weights.
#include <cstdint>
#include <vector>

#include "winoprune/nn/parameter.h"
#include "winoprune/nn/parameter.h"   // apply_mask(Parameter&): value *= mask, momentum *= mask

namespace wp {

// Number of entries a target sparsity prunes in a layer of n weights (round to nearest).
int64_t prune_count(double sparsity, int64_t n);

// The decision for one set of weights: prune entries with key < threshold_key, plus the first
// `ties` entries (in rank order) whose key equals threshold_key.
struct MagnitudeCut {
  uint32_t threshold_key = 0;   // float bits of the score at the cut
  int64_t ties = 0;
  float threshold() const;      // that score as a float
};

// The cut that prunes exactly `count` of the entries of `spans` taken together.
// scale == nullptr: score = |w|. Otherwise entries [j*block, (j+1)*block) have score
// |w| * scale[j] (scale holds ceil(n / block) factors > 0; block = K * C/g for a Winograd weight).
// element == nullptr: no per-entry factor. Otherwise entry i's score is also multiplied by
// element[i] >= 0 (the Fisher saliency's sqrt(mean g^2)).
struct WeightSpan {
  const float* w;
  int64_t n;
  const double* scale = nullptr;
  int64_t block = 0;
  const float* element = nullptr;
};
MagnitudeCut magnitude_cut(const std::vector<WeightSpan>& spans, int64_t count);

// Writes the 0/1 mask of a cut (mask may alias nothing else); consumes ties in rank order, so
// call it on the spans in the same order as magnitude_cut. Returns the number pruned.
int64_t apply_cut(const WeightSpan& span, float* mask, MagnitudeCut& cut);
int64_t apply_cut(const float* w, int64_t n, float* mask, MagnitudeCut& cut);   // unscaled

// Per-parameter position factors: position_scales empty (every parameter unscaled) or one entry
// per parameter, itself empty (unscaled) or one factor per slice along dim 0 (t*t for a
// Winograd weight [t*t][K][C/g]; position_scale_factors() gives them). A factor list whose
// size does not match dim 0 throws std::invalid_argument.
using PositionScales = std::vector<std::vector<double>>;
// Per-parameter entry factors: empty (none) or one pointer per parameter (null: none) to
// numel() factors.
using ElementScales = std::vector<const float*>;

// Prunes each parameter to its own target: sets mask (allocated if undefined), zeroes value and
// momentum where the mask is 0. targets[i] is the sparsity of params[i].
void magnitude_prune(const std::vector<Parameter*>& params, const std::vector<double>& targets,
                     const PositionScales& position_scales = {},
                     const ElementScales& element_scales = {});

// One threshold on the (scaled) scores across all params: exactly llround(sparsity * total)
// entries pruned.
void magnitude_prune_global(const std::vector<Parameter*>& params, double sparsity,
                            const PositionScales& position_scales = {},
                            const ElementScales& element_scales = {});

// mask = (value != 0), momentum *= mask: freezes the current zeros for fine-tuning.
void freeze_mask(Parameter& p);

int64_t count_zeros(const float* w, int64_t n);

}  // namespace wp
