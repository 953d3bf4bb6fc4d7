// The pattern of a frozen Winograd-weight mask for the masked products
// (include/winoprune/winograd/masked_products.h): the unmasked entries listed by output row
// and by input row. Built once per fine-tune phase (O(t*t K C/groups)); matches() lets the
// layer check every step, at the cost of one pass over the mask, that the mask it trains
// under is still the one the pattern was built from.
#include <climits>
#include <string>

#include "winoprune/error.h"
#include "winoprune/winograd/masked_products.h"

namespace wp {

bool MaskedProductPattern::matches(const Tensor& m) const {
  if (m.ndim() != 3 || m.dim(0) != positions || m.dim(1) != K || m.dim(2) * groups != C)
    return false;
  return same_nonzeros(m, mask);
}

std::shared_ptr<const MaskedProductPattern> build_masked_product_pattern(const Tensor& m,
                                                                         int groups) {
  if (m.ndim() != 3 || groups < 1 || m.dim(1) % groups != 0)
    throw InputError("masked products: mask " + shape_str(m.shape()) +
                     ": expected [t*t, K, C/groups] with groups = " + std::to_string(groups) +
                     " dividing K");
  if (m.numel() >= INT32_MAX)
    throw InputError("masked products: mask " + shape_str(m.shape()) + " has 2^31 entries or more");
  auto p = std::make_shared<MaskedProductPattern>();
  const int P = int(m.dim(0)), K = int(m.dim(1)), Cg = int(m.dim(2)), Kg = K / groups;
  const int C = Cg * groups;
  p->positions = P;
  p->K = K;
  p->C = C;
  p->groups = groups;
  p->mask = nonzero_bytes(m);

  p->by_k_start.reserve(size_t(P) * K + 1);
  p->by_k_start.push_back(0);
  for (int j = 0; j < P; ++j)
    for (int k = 0; k < K; ++k) {
      const int g = k / Kg;
      const uint8_t* row = p->mask.data() + (int64_t(j) * K + k) * Cg;
      for (int c = 0; c < Cg; ++c)
        if (row[c]) {
          p->by_k_src.push_back(g * Cg + c);
          p->by_k_w.push_back(k * Cg + c);
        }
      p->by_k_start.push_back(int64_t(p->by_k_src.size()));
    }

  p->by_c_start.reserve(size_t(P) * C + 1);
  p->by_c_start.push_back(0);
  for (int j = 0; j < P; ++j)
    for (int ca = 0; ca < C; ++ca) {
      const int g = ca / Cg, c = ca % Cg;
      for (int k = g * Kg; k < (g + 1) * Kg; ++k)
        if (p->mask[size_t((int64_t(j) * K + k) * Cg + c)]) {
          p->by_c_src.push_back(k);
          p->by_c_w.push_back(k * Cg + c);
        }
      p->by_c_start.push_back(int64_t(p->by_c_src.size()));
    }
  return p;
}

}  // namespace wp
