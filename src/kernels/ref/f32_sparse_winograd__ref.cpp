// f32_sparse_winograd__ref: the plain per-tile reference (sparse_winograd_reference.h) in float, the
// fallback when the CPU has neither AVX2 nor AVX-512. Needs no workspace.
#include "winoprune/kernels/sparse_winograd_reference.h"

namespace wp {

void f32_sparse_winograd__ref(const SparseWinogradArgs* a) {
  sparse_winograd_conv__reference<float>(*a, a->x, a->bias, a->y, a->BT, a->AT);
}

size_t f32_sparse_winograd_workspace__ref(const SparseWinogradArgs*) { return 0; }

}  // namespace wp
