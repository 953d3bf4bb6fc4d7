// f32_sparse_winograd__avx2: the blocked sparse Winograd convolution with two ymm per 16 tiles
// (AVX2 + FMA). The algorithm is ../common/f32_sparse_winograd.inc (shared with avx512); this
// file defines its 16-lane vector operations and the output store. Everything has internal
// linkage except the two exported entry points (ISA rule of src/kernels/CMakeLists.txt).
#include <immintrin.h>
#include <omp.h>

#include <cstdint>
#include <ctime>

#include "winoprune/kernels/sparse_winograd.h"

#define WP_ISA avx2

namespace wp {
namespace {

struct Lanes16 { __m256 lo, hi; };

inline Lanes16 vzero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
inline Lanes16 vload(const float* p) { return {_mm256_load_ps(p), _mm256_load_ps(p + 8)}; }
inline void vstore(float* p, Lanes16 a) {
  _mm256_store_ps(p, a.lo);
  _mm256_store_ps(p + 8, a.hi);
}
inline Lanes16 vset1(float s) { return {_mm256_set1_ps(s), _mm256_set1_ps(s)}; }
inline Lanes16 vadd(Lanes16 a, Lanes16 b) { return {_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)}; }
inline Lanes16 vsub(Lanes16 a, Lanes16 b) { return {_mm256_sub_ps(a.lo, b.lo), _mm256_sub_ps(a.hi, b.hi)}; }
inline Lanes16 vmul_s(float s, Lanes16 a) {
  __m256 k = _mm256_set1_ps(s);
  return {_mm256_mul_ps(k, a.lo), _mm256_mul_ps(k, a.hi)};
}
inline Lanes16 vfmadd_s(float s, Lanes16 b, Lanes16 c) {   // s * b + c
  __m256 k = _mm256_set1_ps(s);
  return {_mm256_fmadd_ps(k, b.lo, c.lo), _mm256_fmadd_ps(k, b.hi, c.hi)};
}
inline Lanes16 vfmadd(Lanes16 a, Lanes16 b, Lanes16 c) {
  return {_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi)};
}
// The weights stay in memory: one broadcast load per lane (it feeds both halves).
struct W8 { const float* p; };
inline W8 wload8(const float* p) { return {p}; }
inline Lanes16 wlane(W8 w, int r) {
  __m256 k = _mm256_broadcast_ss(w.p + r);
  return {k, k};
}
inline Lanes16 vmax0(Lanes16 a) {
  return {_mm256_max_ps(a.lo, _mm256_setzero_ps()), _mm256_max_ps(a.hi, _mm256_setzero_ps())};
}

// 4 lanes of a slice per pass: 8 ymm accumulators of the 16 registers.
constexpr int kSlicePass = 4;
// One sub-block per block: a second would need 16 accumulators of the 16 ymm registers.
constexpr int kMaxSubBlocks = 1;

#include "../common/f32_sparse_winograd.inc"

// Data movement, always inlined into the transform loops (a call per patch row kept d[] in
// memory: 4% of the input transform).

inline __m256 lane_mask(uint32_t bits) {   // bit l of bits -> all-ones lane l
  const __m256i lane_bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  const __m256i b = _mm256_set1_epi32(static_cast<int>(bits));
  return _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(b, lane_bits), lane_bits));
}

// d[b] = element (i, b) of the t x t patch of every lane (tile), zero outside the image: two
// masked gathers per column (masked-off lanes read nothing).
WP_SPARSE_INLINE void load_patch_row(const float* xc, const BlockLanes& L, int i, int t, Lanes16* d) {
  const __m256i off_lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(L.xoff));
  const __m256i off_hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(L.xoff + 8));
  for (int b = 0; b < t; ++b) {
    const uint32_t bits = L.rowbits[i] & L.colbits[b];
    const __m256i k = _mm256_set1_epi32(i * L.W + b);
    d[b].lo = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), xc, _mm256_add_epi32(off_lo, k),
                                       lane_mask(bits), 4);
    d[b].hi = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), xc, _mm256_add_epi32(off_hi, k),
                                       lane_mask(bits >> 8), 4);
  }
}

// Row i of every lane's m x m outputs (yrow[i2], lanes = tiles) to y, through the scratch S.
WP_SPARSE_INLINE void store_output_row(const Lanes16* yrow, int m, int i, const BlockLanes& L, float* yk,
                             int Wo, float* S) {
  store_output_row_scalar(yrow, m, i, L, yk, Wo, S);
}

#include "../common/f32_sparse_winograd_phases.inc"
