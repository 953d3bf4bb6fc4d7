#pragma once
// Dense single-precision GEMM, row-major, through oneDNN's dnnl_sgemm (~350 GFLOP/s on this
// machine's 2 OpenMP threads; docs/method.md section 5):
//   C[M x N] = alpha * op(A)[M x K] * op(B)[K x N] + beta * C
// op(X) = X or X^T; lda/ldb/ldc are row strides of the matrices as stored.
#include <cstdint>

namespace wp {

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
           int64_t ldc);

// The plain twin, for tests; accumulates in double.
void sgemm_reference(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                     const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                     float* C, int64_t ldc);

}  // namespace wp
