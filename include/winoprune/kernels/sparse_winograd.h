#pragma once
// The kernel interface of the sparse Winograd convolution: a plain-old-data argument block and a
// table of variants (isa_list.h), one per file src/kernels/<isa>/f32_sparse_winograd__<isa>.cpp.
// The variants share no code at link time (ISA rule of src/kernels/CMakeLists.txt): only this
// POD crosses. The packed weight format is documented in winoprune/sparse/sparse_winograd.h,
// which packs it; the plain specification of what every variant computes is
// sparse_winograd_reference.h beside this file (the __ref variant is that code in float).
#include <cstddef>
#include <cstdint>

#include "winoprune/cpu.h"
#include "winoprune/kernels/isa_list.h"

namespace wp {

// Tiles per sub-block: one zmm (two ymm) of tiles. The packed offsets (voff) are c * 16, the
// row of V_j for one sub-block; a block of nsub sub-blocks holds them side by side, so the
// kernel reads row c at nsub * voff (f32_sparse_winograd.inc).
constexpr int kSparseTileBlock = 16;
// Rows per slice of the sliced-ELL weight format: 8 independent FMA chains per slice.
constexpr int kSparseSliceRows = 8;

// Plain data, no member initializers (no inline constructor an ISA file could emit): callers
// value-initialize it, `SparseWinogradArgs a{};`.
struct SparseWinogradArgs {
  // Geometry. Input x [N, C, H, W], output y [N, K, Ho, Wo], Ho = H + 2 pad - r + 1 (same for
  // Wo); tiles_h = ceil(Ho / m), tiles_w = ceil(Wo / m); t = m + r - 1, P = t * t positions.
  int N, C, H, W;
  int K, groups;
  int m, r, t, pad;
  int Ho, Wo, tiles_h, tiles_w;

  // Transforms in float, row-major: BT [t][t] (V = BT d BT^T), AT [m][t] (Y = AT M AT^T).
  const float* BT;
  const float* AT;

  // Packed weights (format: sparse_winograd.h). kblock = output channels per k-block.
  int kblock;
  const int32_t* chunk_slice;   // [groups * nkb * P + 1]  first slice of chunk (g, b, j)
  const int32_t* slice_start;   // [slices + 1]            first entry of slice s
  const int32_t* slice_rows;    // [slices * 8]            kk (row within k-block) per lane
  const uint16_t* voff;         // [entries]               c * kSparseTileBlock
  const float* val;             // [entries]               W value, 0 in padding

  // Data. bias [K] may be null; relu != 0 applies max(0, .) after the bias.
  const float* x;
  const float* bias;
  int relu;
  float* y;

  // Execution: `threads` OpenMP threads; workspace of workspace_floats(args) floats, 64-byte
  // aligned, owned by the caller (kept across calls: no page faults per forward).
  int threads;
  float* workspace;

  // Optional instrumentation: when non-null, receives the mean per-thread CPU milliseconds of
  // the three phases {input transform, products, output transform} (CPU time: a loaded machine
  // does not inflate them; their sum estimates the wall time of an idle machine).
  double* phase_ms;
};

struct SparseWinogradVariant {
  const char* name;            // the ISA level: "ref", "avx2", "avx512"
  Isa isa;                     // minimum ISA level to run it
  void (*run)(const SparseWinogradArgs* args);
  size_t (*workspace_floats)(const SparseWinogradArgs* args);
};

// The best variant for wp::active_isa(), chosen once. Logs nothing.
const SparseWinogradVariant& sparse_winograd_variant();
// The variant of exactly this level (tests sweep them); null if not compiled in.
const SparseWinogradVariant* sparse_winograd_variant_for(Isa isa);

// The entry points of the variants (one per ISA file).
#define WP_DECLARE_SPARSE_WINOGRAD(isa)                                           \
  void WP_KERNEL_NAME(f32_sparse_winograd, isa)(const SparseWinogradArgs* args); \
  size_t WP_KERNEL_NAME(f32_sparse_winograd_workspace, isa)(const SparseWinogradArgs* args);
WP_KERNEL_ISAS(WP_DECLARE_SPARSE_WINOGRAD)
#undef WP_DECLARE_SPARSE_WINOGRAD

}  // namespace wp
