#pragma once
// Sparse Winograd convolution for inference (REFERENCE.md section 3): a stride-1 convolution
// whose Winograd-domain kernel W [t*t][K][C/groups] is pruned, packed once, and applied as
//   V = B^T d B (dense, per tile)  ->  M_j = W_j V_j (t*t sparse x dense)  ->  Y = A^T M A
// with bias and ReLU fused into the output transform.
//
// Execution (the optimized variants; ref is the plain per-tile specification):
//   for each block of 16 tiles (across images) and each group, OpenMP-parallel over blocks:
//     input transform of the block      -> V [P][Cg][16]            (L2: P*Cg*64 bytes)
//     for each k-block of kblock output channels:
//       for each position j, each row k:  M[j][k][0:16] = sum_e val[e] * V_j[c_e][0:16]
//                                          (V_j = Cg*64 bytes, L1-resident; M = P*kblock*64 B)
//       output transform of the k-block  -> y (+ bias, ReLU)
//   so the transformed data never goes to memory: per conv3 (C 256, K 384, batch 64) that is
//   ~190 MB of traffic (~5.5 ms) saved (REFERENCE.md section 5). V for conv4 (Cg 384, t 6)
//   is 885 KB, under the 1 MB L2; kblock keeps M near 64 KB.
//
// Packed format (the invariants every variant relies on; checked by pack and the tests).
// Notation: P = t*t positions j = p*t + q; Kg = K/groups, Cg = C/groups; kb = kblock;
// k-block b of group g holds output channels g*Kg + b*kb + kk, kk in [0, nr(b)),
// nr(b) = min(kb, Kg - b*kb).
//   rows      one per (g, b, j, kk), stored in that order (kk fastest):
//               row(g, b, j, kk) = g*Kg*P + b*kb*P + j*nr(b) + kk
//             so the kernel reads the weights strictly sequentially within a k-block
//   row_start int32 [K*P + 1]: row_start[0] = 0, nondecreasing, row_start[K*P] = nnz; the
//             entries of row (g, b, j, kk) are [row_start[row], row_start[row + 1])
//   voff      int32 [nnz]: c * kSparseTileBlock (16), c in [0, Cg) the input channel within
//             the group, strictly increasing within a row: the float offset of row c of V_j
//   val       float [nnz]: W[j][g*Kg + b*kb + kk][c], exactly, never 0 (zeros are dropped)
//   Tiles are numbered (n, ty, tx) row-major over the batch; block i holds tiles
//   [16 i, 16 i + 16); lanes past the last tile compute on zeros and are never stored.
#include <cstdint>
#include <string>
#include <vector>

#include "winoprune/sparse/sparse_winograd_kernel.h"
#include "winoprune/tensor.h"

namespace wp {

class SparseWinogradConv {
 public:
  SparseWinogradConv() = default;

  // W [t*t, K, C/groups] in the Winograd layout, t = m + r - 1, transforms of
  // winograd_transform(m, r). Zeros of W are dropped. kblock 0 = chosen from t (M ~64 KB).
  // Throws InputError on a bad shape or parameters.
  static SparseWinogradConv pack(const Tensor& W, int m, int r, int pad, int groups,
                                 int kblock = 0);

  // x [N, C, H, W] -> y [N, K, Ho, Wo]; y is reallocated unless it already has that shape.
  // bias [K] or null. Uses the variant chosen from wp::active_isa().
  void forward(const Tensor& x, const float* bias, bool relu, Tensor& y) const;
  Tensor forward(const Tensor& x, const float* bias, bool relu) const;
  // The same with an explicit variant (tests, benchmarks); phase_ms (3 doubles or null)
  // receives the per-thread mean time of {input transform, products, output transform}.
  void forward_with(const SparseWinogradVariant& variant, const Tensor& x, const float* bias,
                    bool relu, Tensor& y, double* phase_ms = nullptr) const;

  // The argument block for x (geometry, transforms, packed weights; data pointers null).
  SparseWinogradArgs args_for(const Tensor& x) const;

  double density() const;          // nnz / (t*t * K * C/groups)
  int64_t nnz() const { return static_cast<int64_t>(val_.size()); }
  int m() const { return m_; }
  int r() const { return r_; }
  int t() const { return m_ + r_ - 1; }
  int pad() const { return pad_; }
  int groups() const { return groups_; }
  int out_channels() const { return K_; }
  int in_channels() const { return Cg_ * groups_; }
  int kblock() const { return kblock_; }
  const std::vector<int32_t>& row_start() const { return row_start_; }
  const std::vector<int32_t>& voff() const { return voff_; }
  const std::vector<float>& val() const { return val_; }

  // "sparse_winograd_f4x4_3x3__avx512": tile and the variant forward() uses, for logging.
  std::string kernel_name() const;

 private:
  int m_ = 0, r_ = 0, pad_ = 0, groups_ = 1, K_ = 0, Cg_ = 0, kblock_ = 0;
  std::vector<float> BT_, AT_;
  std::vector<int32_t> row_start_, voff_;
  std::vector<float> val_;
};

// The row index of (group g, output channel k within the group, position j): the formula above.
int64_t sparse_winograd_row(int g, int k, int j, int Kg, int P, int kblock);

}  // namespace wp
