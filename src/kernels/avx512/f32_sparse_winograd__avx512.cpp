// f32_sparse_winograd__avx512: the blocked sparse Winograd convolution with one zmm per 16 tiles.
// The algorithm is ../common/f32_sparse_winograd.inc (shared with avx2); this file defines its 16-lane
// vector operations and the output store. Everything has internal linkage except the two
// exported entry points (ISA rule of src/kernels/CMakeLists.txt).
//
// GCC 12's unmasked AVX-512 shuffle intrinsics pass _mm512_undefined_ps() as the merge source
// and then warn about it at every use (fixed in GCC 13): silence those two warnings here only.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>
#include <omp.h>

#include <cstdint>
#include <ctime>

#include "winoprune/kernels/sparse_winograd.h"

#define WP_ISA avx512

namespace wp {
namespace {

struct Lanes16 { __m512 v; };

inline Lanes16 vzero() { return {_mm512_setzero_ps()}; }
inline Lanes16 vload(const float* p) { return {_mm512_load_ps(p)}; }
inline void vstore(float* p, Lanes16 a) { _mm512_store_ps(p, a.v); }
inline Lanes16 vset1(float s) { return {_mm512_set1_ps(s)}; }
inline Lanes16 vadd(Lanes16 a, Lanes16 b) { return {_mm512_add_ps(a.v, b.v)}; }
inline Lanes16 vsub(Lanes16 a, Lanes16 b) { return {_mm512_sub_ps(a.v, b.v)}; }
inline Lanes16 vmul_s(float s, Lanes16 a) { return {_mm512_mul_ps(_mm512_set1_ps(s), a.v)}; }
inline Lanes16 vfmadd_s(float s, Lanes16 b, Lanes16 c) {   // s * b + c
  return {_mm512_fmadd_ps(_mm512_set1_ps(s), b.v, c.v)};
}
inline Lanes16 vfmadd(Lanes16 a, Lanes16 b, Lanes16 c) { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }
inline Lanes16 vmax0(Lanes16 a) { return {_mm512_max_ps(a.v, _mm512_setzero_ps())}; }

// 8 weights in the low half of a zmm; lane r broadcast by vpermps (a register permute, not a
// load: see slice_pass).
struct W8 { __m512 v; };
inline W8 wload8(const float* p) { return {_mm512_castps256_ps512(_mm256_loadu_ps(p))}; }
inline Lanes16 wlane(W8 w, int r) { return {_mm512_permutexvar_ps(_mm512_set1_epi32(r), w.v)}; }

// 8 lanes of a slice per pass: 8 zmm accumulators per sub-block, 16 with two sub-blocks (of 32
// registers; the 8 permute indices and the weights take 9 more).
constexpr int kSlicePass = 8;
constexpr int kMaxSubBlocks = 2;

#include "../common/f32_sparse_winograd.inc"

// Data movement, always inlined into the transform loops (a call per patch row kept d[] in
// memory: 4% of the input transform).

// Quad rows (BlockLanes::quads): R[Q] = the 16 floats of patch row i of quad Q, a 4 x 4 of
// (tile tx, column b < 4) since tile tx starts at element 4 tx. An in-lane 4x4 transpose
// across the four R (4 unpacks, 4 shuffles) puts (quad Q, column b) of tile tx in e[b] at
// 128-bit lane tx, element Q; one vpermps per b swaps lane and element. Columns b >= 4 are
// columns b - 4 of the next tile of the quad: an in-lane shift, zero for the last tile (its
// element 4 tx + b > 15 lies at x >= W, since W + pad <= 16). 4 loads and 8 + t shuffles per
// patch row (measured 4% faster than three cross-lane permutes per column).
WP_SPARSE_INLINE void load_patch_row_quads(const float* xc, const BlockLanes& L, int i, int t,
                                           Lanes16* d) {
  __m512 R[4];
  for (int q = 0; q < 4; ++q)
    R[q] = _mm512_maskz_loadu_ps(L.qinmask[i][q], addr_at(xc, L.qin[i][q]));
  const __m512 t0 = _mm512_unpacklo_ps(R[0], R[1]), t1 = _mm512_unpackhi_ps(R[0], R[1]);
  const __m512 t2 = _mm512_unpacklo_ps(R[2], R[3]), t3 = _mm512_unpackhi_ps(R[2], R[3]);
  const __m512 e[4] = {_mm512_shuffle_ps(t0, t2, 0x44), _mm512_shuffle_ps(t0, t2, 0xEE),
                       _mm512_shuffle_ps(t1, t3, 0x44), _mm512_shuffle_ps(t1, t3, 0xEE)};
  const __m512i swap = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  for (int b = 0; b < 4 && b < t; ++b) d[b].v = _mm512_permutexvar_ps(swap, e[b]);
  for (int b = 4; b < t; ++b)
    d[b].v = _mm512_maskz_permute_ps(0x7777, d[b - 4].v, _MM_SHUFFLE(3, 3, 2, 1));
}

// d[b] = element (i, b) of the t x t patch of every lane (tile), b < t <= 8, zero outside the
// image. Each lane's row is contiguous in x: one masked load per lane puts tile l in elements
// 0..7 and tile l+8 in 8..15 of z[l]; two 8x8 transposes at once (one per 256-bit half: 8
// unpacks, 8 shuffles, <= 8 two-source permutes) turn the 16 rows into t columns. 16 loads and
// ~30 shuffles per patch row, instead of t gathers (~50 cycles each on this CPU).
// t <= 4 (F(2x2,3x3)) where BlockLanes::rows does not apply (tile rows wider than one load):
// z[q] = the rows of tiles q, q + 4, q + 8, q + 12, one per 128-bit lane (4 masked loads, each
// shifted to its lane by BlockLanes::inoff), then one in-lane 4x4 transpose (4 unpacks, 4
// shuffles) leaves column b of tile 4p + q at element q of 128-bit lane p of d[b]: the lane
// order, so no cross-lane permute. 16 loads and 8 shuffles per patch row instead of 16 loads
// and 20 shuffles.
WP_SPARSE_INLINE void load_patch_row_t4(const float* xc, const BlockLanes& L, int i, int t,
                                        Lanes16* d) {
  const uint16_t* mk = L.inmask[i];
  const int64_t* off = L.inoff[i];
  __m512 z[4];
  for (int q = 0; q < 4; ++q) {
    z[q] = _mm512_maskz_loadu_ps(mk[q], addr_at(xc, off[q]));
    for (int p = 1; p < 4; ++p)
      z[q] = _mm512_mask_loadu_ps(z[q], mk[4 * p + q], addr_at(xc, off[4 * p + q]));
  }
  const __m512 t0 = _mm512_unpacklo_ps(z[0], z[1]), t1 = _mm512_unpackhi_ps(z[0], z[1]);
  const __m512 t2 = _mm512_unpacklo_ps(z[2], z[3]), t3 = _mm512_unpackhi_ps(z[2], z[3]);
  const __m512 e[4] = {_mm512_shuffle_ps(t0, t2, 0x44), _mm512_shuffle_ps(t0, t2, 0xEE),
                       _mm512_shuffle_ps(t1, t3, 0x44), _mm512_shuffle_ps(t1, t3, 0xEE)};
  for (int b = 0; b < t; ++b) d[b].v = e[b];
}

// Row groups (BlockLanes::rows, t <= 4): one masked load of 16 floats per group and patch row,
// then per column b one masked permute per group into d[b] (lanes of no group stay zero). On
// 13x13 maps at F(2x2,3x3) a sub-block has 3-4 groups: 4 loads and 16 permutes per patch row
// instead of 16 masked loads (each with its offset and mask read from BlockLanes) and 8 shuffles
// (load_patch_row_t4). bench --suite conv --tile 2 --batch 64 --sparsity 0.9, three runs
// alternating: input phase conv3 / conv4 / conv5 2.4-3.1 / 3.8-4.7 / 4.5 -> 1.6-2.1 / 2.4-3.2 /
// 2.5-3.2 ms, x paired 4.37 / 4.68 / 4.03 -> 4.90 / 5.42 / 4.59 (groups 2 2.98 / 3.33 / 2.73 ->
// 3.47 / 3.84 / 3.38).
WP_SPARSE_INLINE void load_patch_row_groups(const float* xc, const BlockLanes& L, int i, int t,
                                            Lanes16* d) {
  const __m512i idx = _mm512_load_si512(L.gidx);
  for (int b = 0; b < t; ++b) d[b].v = _mm512_setzero_ps();
  for (int g = 0; g < L.ngroups; ++g) {
    const __m512 r = _mm512_maskz_loadu_ps(L.gmask[i][g], addr_at(xc, L.goff[i][g]));
    for (int b = 0; b < t; ++b)
      d[b].v = _mm512_mask_permutexvar_ps(d[b].v, L.glanes[g],
                                          _mm512_add_epi32(idx, _mm512_set1_epi32(b)), r);
  }
}

WP_SPARSE_INLINE void load_patch_row(const float* xc, const BlockLanes& L, int i, int t, Lanes16* d) {
  if (L.quads) return load_patch_row_quads(xc, L, i, t, d);
  if (L.rows) return load_patch_row_groups(xc, L, i, t, d);
  if (t <= 4) return load_patch_row_t4(xc, L, i, t, d);
  const uint16_t* mk = L.inmask[i];
  const int64_t* off = L.inoff[i];
  __m512 z[8];
  for (int l = 0; l < 8; ++l) {
    const __m512 v = _mm512_maskz_loadu_ps(mk[l], addr_at(xc, off[l]));
    z[l] = _mm512_mask_loadu_ps(v, mk[l + 8], addr_at(xc, off[l + 8]));
  }
  const __m512 t0 = _mm512_unpacklo_ps(z[0], z[1]), t1 = _mm512_unpackhi_ps(z[0], z[1]);
  const __m512 t2 = _mm512_unpacklo_ps(z[2], z[3]), t3 = _mm512_unpackhi_ps(z[2], z[3]);
  const __m512 t4 = _mm512_unpacklo_ps(z[4], z[5]), t5 = _mm512_unpackhi_ps(z[4], z[5]);
  const __m512 t6 = _mm512_unpacklo_ps(z[6], z[7]), t7 = _mm512_unpackhi_ps(z[6], z[7]);
  // s[b] per 128-bit lane: column b (lanes 0, 2) and b + 4 (lanes 1, 3) of 4 tiles.
  const __m512 s[8] = {_mm512_shuffle_ps(t0, t2, 0x44), _mm512_shuffle_ps(t0, t2, 0xEE),
                       _mm512_shuffle_ps(t1, t3, 0x44), _mm512_shuffle_ps(t1, t3, 0xEE),
                       _mm512_shuffle_ps(t4, t6, 0x44), _mm512_shuffle_ps(t4, t6, 0xEE),
                       _mm512_shuffle_ps(t5, t7, 0x44), _mm512_shuffle_ps(t5, t7, 0xEE)};
  const __m512i lo_cols = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
  const __m512i hi_cols = _mm512_setr_epi32(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
  for (int b = 0; b < 4 && b < t; ++b) d[b].v = _mm512_permutex2var_ps(s[b], lo_cols, s[b + 4]);
  for (int b = 4; b < t; ++b) d[b].v = _mm512_permutex2var_ps(s[b - 4], hi_cols, s[b]);
}

// Row i of every lane's m x m outputs (yrow[i2], lanes = tiles) to y, for m = 2 and 4: the
// outputs are interleaved so that vector v holds the rows of G = 16 / m consecutive lanes
// (lane l's m floats at element m (l % G)), then written with one masked store per output run
// (BlockLanes::orun_*): a run's tiles are neighbours in a tile row, so their rows are
// contiguous in y. Other m: through the scratch S, one scalar per output.
//   m = 4: a 4x4 transpose per 128-bit lane (4 unpacks, 4 shuffles) leaves tile 4L + q's row
//          in 128-bit lane L of q[q]; a 4x4 transpose of 128-bit lanes (8 shuffles) makes o[Q]
//          = the rows of tiles 4Q..4Q+3. 4-6 stores per row instead of 16 (one per tile):
//          measured on conv2 (27x27, 7 tiles per row) at batch 64, 90%: output phase
//          8.4 -> 6.9 ms (bench --suite conv). 13x13 maps are one run per quad, as before.
//   m = 2: two permutes interleave the two columns of lanes 0-7 and 8-15; 3-5 stores per row
//          instead of 32 scalar ones: on conv3 with the structured F(2x2,3x3) output transform,
//          output phase 7.2 -> 1.4 ms (bench --suite conv --tile 2).
WP_SPARSE_INLINE void store_output_row(const Lanes16* yrow, int m, int i, const BlockLanes& L,
                                       float* yk, int Wo, float* S) {
  float* row = yk + int64_t(i) * Wo;
  if (m == 4) {
    const __m512 t0 = _mm512_unpacklo_ps(yrow[0].v, yrow[1].v);
    const __m512 t1 = _mm512_unpackhi_ps(yrow[0].v, yrow[1].v);
    const __m512 t2 = _mm512_unpacklo_ps(yrow[2].v, yrow[3].v);
    const __m512 t3 = _mm512_unpackhi_ps(yrow[2].v, yrow[3].v);
    const __m512 q[4] = {_mm512_shuffle_ps(t0, t2, 0x44), _mm512_shuffle_ps(t0, t2, 0xEE),
                         _mm512_shuffle_ps(t1, t3, 0x44), _mm512_shuffle_ps(t1, t3, 0xEE)};
    const __m512 u0 = _mm512_shuffle_f32x4(q[0], q[1], 0x44);
    const __m512 u1 = _mm512_shuffle_f32x4(q[0], q[1], 0xEE);
    const __m512 u2 = _mm512_shuffle_f32x4(q[2], q[3], 0x44);
    const __m512 u3 = _mm512_shuffle_f32x4(q[2], q[3], 0xEE);
    const __m512 o[4] = {_mm512_shuffle_f32x4(u0, u2, 0x88), _mm512_shuffle_f32x4(u0, u2, 0xDD),
                         _mm512_shuffle_f32x4(u1, u3, 0x88), _mm512_shuffle_f32x4(u1, u3, 0xDD)};
    for (int r = 0; r < L.noruns; ++r)
      _mm512_mask_storeu_ps(addr_at(row, L.orun_off[r]), L.orun_mask[i][r], o[L.orun_vec[r]]);
    return;
  }
  if (m == 2) {
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30,
                                         15, 31);
    const __m512 h[2] = {_mm512_permutex2var_ps(yrow[0].v, lo, yrow[1].v),
                         _mm512_permutex2var_ps(yrow[0].v, hi, yrow[1].v)};
    for (int r = 0; r < L.noruns; ++r)
      _mm512_mask_storeu_ps(addr_at(row, L.orun_off[r]), L.orun_mask[i][r], h[L.orun_vec[r]]);
    return;
  }
  store_output_row_scalar(yrow, m, i, L, yk, Wo, S);
}

#include "../common/f32_sparse_winograd_phases.inc"
