// sparse_winograd__avx2: the blocked sparse Winograd convolution with two ymm per 16 tiles
// (AVX2 + FMA). The algorithm is ../avx512/sparse_winograd_body.inc (shared with avx512); this
// file defines its 16-lane vector operations and the output store. Everything has internal
// linkage except the two exported entry points (ISA rule of src/kernels/CMakeLists.txt).
#include <immintrin.h>
#include <omp.h>

#include <cstdint>

#include "winoprune/sparse/sparse_winograd_kernel.h"

namespace wp {
namespace {

struct F16 { __m256 lo, hi; };
struct I16 { __m256i lo, hi; };
struct M16 { __m256 lo, hi; };   // all-ones lanes are selected

inline F16 vzero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
inline F16 vload(const float* p) { return {_mm256_load_ps(p), _mm256_load_ps(p + 8)}; }
inline void vstore(float* p, F16 a) {
  _mm256_store_ps(p, a.lo);
  _mm256_store_ps(p + 8, a.hi);
}
inline F16 vset1(float s) { return {_mm256_set1_ps(s), _mm256_set1_ps(s)}; }
inline F16 vadd(F16 a, F16 b) { return {_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)}; }
inline F16 vsub(F16 a, F16 b) { return {_mm256_sub_ps(a.lo, b.lo), _mm256_sub_ps(a.hi, b.hi)}; }
inline F16 vmul_s(float s, F16 a) {
  __m256 k = _mm256_set1_ps(s);
  return {_mm256_mul_ps(k, a.lo), _mm256_mul_ps(k, a.hi)};
}
inline F16 vfmadd_s(float s, F16 b, F16 c) {   // s * b + c
  __m256 k = _mm256_set1_ps(s);
  return {_mm256_fmadd_ps(k, b.lo, c.lo), _mm256_fmadd_ps(k, b.hi, c.hi)};
}
inline F16 vmax0(F16 a) {
  return {_mm256_max_ps(a.lo, _mm256_setzero_ps()), _mm256_max_ps(a.hi, _mm256_setzero_ps())};
}
inline I16 iload(const int32_t* p) {
  return {_mm256_load_si256(reinterpret_cast<const __m256i*>(p)),
          _mm256_load_si256(reinterpret_cast<const __m256i*>(p + 8))};
}
inline I16 iadd(I16 a, int k) {
  __m256i kk = _mm256_set1_epi32(k);
  return {_mm256_add_epi32(a.lo, kk), _mm256_add_epi32(a.hi, kk)};
}
inline M16 mbits(uint32_t bits) {
  const __m256i lo_bits = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  const __m256i hi_bits = _mm256_slli_epi32(lo_bits, 8);
  const __m256i b = _mm256_set1_epi32(static_cast<int>(bits));
  return {_mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(b, lo_bits), lo_bits)),
          _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(b, hi_bits), hi_bits))};
}
// Lanes outside the mask read nothing and are 0.
inline F16 vgather(const float* base, I16 idx, M16 m) {
  return {_mm256_mask_i32gather_ps(_mm256_setzero_ps(), base, idx.lo, m.lo, 4),
          _mm256_mask_i32gather_ps(_mm256_setzero_ps(), base, idx.hi, m.hi, 4)};
}

struct BlockLanes;
void store_tile_outputs(const float* S, int m, const BlockLanes& L, float* yk, int Wo);

#include "../avx512/sparse_winograd_body.inc"

// S [m*m][16] -> y: lane l's m x m outputs go to yk + yoff[l], rows vr[l], columns vc[l].
void store_tile_outputs(const float* S, int m, const BlockLanes& L, float* yk, int Wo) {
  for (int l = 0; l < L.count; ++l) {
    float* dst = yk + L.yoff[l];
    for (int i = 0; i < L.vr[l]; ++i)
      for (int i2 = 0; i2 < L.vc[l]; ++i2) dst[int64_t(i) * Wo + i2] = S[(i * m + i2) * 16 + l];
  }
}

}  // namespace

void sparse_winograd__avx2(const SparseWinogradArgs* a) { run_sparse_winograd(*a); }

size_t sparse_winograd_workspace__avx2(const SparseWinogradArgs* a) {
  return workspace_floats(*a);
}

}  // namespace wp
