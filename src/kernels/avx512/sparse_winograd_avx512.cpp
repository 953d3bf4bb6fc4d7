// sparse_winograd__avx512: the blocked sparse Winograd convolution with one zmm per 16 tiles.
// The algorithm is sparse_winograd_body.inc (shared with avx2); this file defines its 16-lane
// vector operations and the output store. Everything has internal linkage except the two
// exported entry points (ISA rule of src/kernels/CMakeLists.txt).
#include <immintrin.h>
#include <omp.h>

#include <cstdint>

#include "winoprune/sparse/sparse_winograd_kernel.h"

namespace wp {
namespace {

struct F16 { __m512 v; };
struct I16 { __m512i v; };
struct M16 { __mmask16 v; };

inline F16 vzero() { return {_mm512_setzero_ps()}; }
inline F16 vload(const float* p) { return {_mm512_load_ps(p)}; }
inline void vstore(float* p, F16 a) { _mm512_store_ps(p, a.v); }
inline F16 vset1(float s) { return {_mm512_set1_ps(s)}; }
inline F16 vadd(F16 a, F16 b) { return {_mm512_add_ps(a.v, b.v)}; }
inline F16 vsub(F16 a, F16 b) { return {_mm512_sub_ps(a.v, b.v)}; }
inline F16 vmul_s(float s, F16 a) { return {_mm512_mul_ps(_mm512_set1_ps(s), a.v)}; }
inline F16 vfmadd_s(float s, F16 b, F16 c) {   // s * b + c
  return {_mm512_fmadd_ps(_mm512_set1_ps(s), b.v, c.v)};
}
// maskz form: the unmasked _mm512_max_ps trips GCC 12 -Wmaybe-uninitialized (_mm512_undefined_ps).
inline F16 vmax0(F16 a) { return {_mm512_maskz_max_ps(0xFFFF, a.v, _mm512_setzero_ps())}; }
inline I16 iload(const int32_t* p) { return {_mm512_load_si512(p)}; }
inline I16 iadd(I16 a, int k) { return {_mm512_add_epi32(a.v, _mm512_set1_epi32(k))}; }
inline M16 mbits(uint32_t bits) { return {static_cast<__mmask16>(bits)}; }
// Lanes outside the mask read nothing and are 0.
inline F16 vgather(const float* base, I16 idx, M16 m) {
  return {_mm512_mask_i32gather_ps(_mm512_setzero_ps(), m.v, idx.v, base, 4)};
}

struct BlockLanes;
void store_tile_outputs(const float* S, int m, const BlockLanes& L, float* yk, int Wo);

#include "sparse_winograd_body.inc"

// S [m*m][16] -> y: lane l's m x m outputs go to yk + yoff[l], rows vr[l], columns vc[l].
void store_tile_outputs(const float* S, int m, const BlockLanes& L, float* yk, int Wo) {
  for (int l = 0; l < L.count; ++l) {
    float* dst = yk + L.yoff[l];
    for (int i = 0; i < L.vr[l]; ++i)
      for (int i2 = 0; i2 < L.vc[l]; ++i2) dst[int64_t(i) * Wo + i2] = S[(i * m + i2) * 16 + l];
  }
}

}  // namespace

void sparse_winograd__avx512(const SparseWinogradArgs* a) { run_sparse_winograd(*a); }

size_t sparse_winograd_workspace__avx512(const SparseWinogradArgs* a) {
  return workspace_floats(*a);
}

}  // namespace wp
