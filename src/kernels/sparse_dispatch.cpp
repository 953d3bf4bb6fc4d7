// Dispatch of the sparse Winograd convolution: the best variant for wp::active_isa(), chosen
// once (avx512 > avx2 > ref). No ISA flags here; logs nothing (SparseWinogradConv::kernel_name
// gives the name for the CLI to log).
#include "winoprune/sparse/sparse_winograd_kernel.h"

namespace wp {

namespace {
const SparseWinogradVariant kVariants[] = {
    {"ref", Isa::ref, sparse_winograd__ref, sparse_winograd_workspace__ref},
    {"avx2", Isa::avx2, sparse_winograd__avx2, sparse_winograd_workspace__avx2},
    {"avx512", Isa::avx512, sparse_winograd__avx512, sparse_winograd_workspace__avx512},
};
}  // namespace

const SparseWinogradVariant* sparse_winograd_variant_for(Isa isa) {
  for (const auto& v : kVariants)
    if (v.isa == isa) return &v;
  return nullptr;
}

const SparseWinogradVariant& sparse_winograd_variant() {
  static const SparseWinogradVariant* chosen = [] {
    const SparseWinogradVariant* best = &kVariants[0];
    for (const auto& v : kVariants)
      if (static_cast<int>(v.isa) <= static_cast<int>(active_isa())) best = &v;
    return best;
  }();
  return *chosen;
}

}  // namespace wp
