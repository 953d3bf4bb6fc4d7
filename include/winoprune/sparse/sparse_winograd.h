#pragma once
// Sparse Winograd convolution for inference (docs/method.md section 3): a stride-1 convolution
// whose Winograd-domain kernel W [t*t][K][C/groups] is pruned, packed once, and applied as
//   V = B^T d B (dense, per tile)  ->  M_j = W_j V_j (t*t sparse x dense)  ->  Y = A^T M A
// with bias and ReLU fused into the output transform.
//
// Execution (the optimized variants; ref is the plain per-tile specification):
//   for each block of 16 or 32 tiles (across images) and each group, OpenMP-parallel over
//   blocks handed out one at a time (batch 1: over the k-blocks of the one block instead):
//     input transform of the block       -> V [P][Cg][16 nsub]       (L2: P*Cg*64*nsub bytes)
//     for each position j, each k-block (kblock output channels), each slice of 8 rows:
//                                           M[j][k][:] = sum_e val[e] * V_j[c_e][:]
//                                           (V_j = Cg*64*nsub bytes: into L1 once per j)
//     output transform of each k-block    -> y (+ bias, ReLU)
//   so the transformed data never goes to memory: per conv3 (C 256, K 384, batch 64) that is
//   ~190 MB of traffic (~5.5 ms) saved (docs/method.md section 5). nsub = 2 sub-blocks of 16
//   tiles (AVX-512, Cg <= 384, enough blocks) make each nonzero feed two FMAs.
// Measured on this machine (bench --suite conv --batch 64 --sparsity 0.9, two threads, CPU
// time per thread, F(4x4,3x3) conv4 groups 1): input transform 1.0 ms, products 5.0 ms (3.4 G
// FMA/s of 16 lanes per core, 46% of the FMA peak: each FMA also needs a V-row load and a
// weight permute), output transform 1.0 ms; the call 6.8-7.6 ms against 58-63 ms for oneDNN
// direct.
//
// Packed format (the invariants every variant relies on; checked by the tests): sliced ELL.
// Notation: P = t*t positions j = p*t + q; Kg = K/groups, Cg = C/groups; kb = kblock;
// nkb = ceil(Kg / kb); k-block b of group g holds output channels g*Kg + b*kb + kk for
// kk in [0, nr(b)), nr(b) = min(kb, Kg - b*kb).
//   chunk        one per (g, b, j), index ch = (g*nkb + b)*P + j, in that order: the rows
//                W_j[g*Kg + b*kb + kk][:] of one k-block at one position. The kernel walks a
//                k-block's chunks j = 0..P-1 in storage order (two k-blocks side by side):
//                the weights stream sequentially.
//   slices       a chunk's rows sorted by nonzero count, descending (ties: smaller kk first),
//                cut into ns = ceil(nr/8) slices of 8 rows, so the 8 rows of a slice have
//                nearly equal lengths: 8 independent FMA chains with little padding. The lanes
//                past nr in the last slice are dummy rows (no nonzeros) whose kk runs
//                nr .. 8 ns - 1: their results land in M slots the output transform ignores.
//   chunk_slice  int32 [groups*nkb*P + 1]: chunk ch owns slices [chunk_slice[ch],
//                chunk_slice[ch + 1]); chunk_slice[0] = 0.
//   slice_rows   int32 [8 * slices]: kk of lane r of slice s at 8 s + r; over a chunk's slices
//                a permutation of [0, 8 ns).
//   slice_start  int32 [slices + 1]: slice s owns entries [slice_start[s], slice_start[s+1]),
//                a multiple of 8: L_s = (slice_start[s+1] - slice_start[s]) / 8 is the longest
//                row of the slice; entry slice_start[s] + 8 i + r is the i-th nonzero (in
//                increasing c) of lane r's row, or padding (val 0, voff 0) past its end.
//   voff         uint16 [entries]: c * kSparseTileBlock (16), c in [0, Cg) the input channel
//                within the group: the float offset of row c of V_j (so Cg <= 4096; 6 bytes
//                per entry with val: conv4's W at 90% streams 2.3 MB per tile block).
//   val          float [entries]: W[j][g*Kg + b*kb + kk][c] exactly; 0 only in padding.
//   Tiles are numbered (n, ty, tx) row-major over the batch; block i holds tiles
//   [16 i, 16 i + 16); lanes past the last tile compute on zeros and are never stored.
#include <cstdint>
#include <string>
#include <vector>

#include "winoprune/kernels/sparse_winograd.h"
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
  // receives the per-thread mean CPU time of {input transform, products, output transform}.
  void forward_with(const SparseWinogradVariant& variant, const Tensor& x, const float* bias,
                    bool relu, Tensor& y, double* phase_ms = nullptr) const;

  // True when the kernels can take input x with `groups` groups: C/groups <= 4096 (16-bit V
  // offsets, checked by pack) and C*H*W < 2^31 / 16 (int32 offsets, checked by forward).
  static bool supports(const Tensor& x, int groups);

  // Frozen masks (fine-tuning): pack once from the mask (nonzero = kept: the pattern), then
  // refresh_values(W) copies the current weights into the packed entries before each forward.
  // Entries of the pattern whose weight is 0 stay entries. InputError if W's shape is not the
  // packed one.
  void refresh_values(const Tensor& W);

  // The argument block for x (geometry, transforms, packed weights; data pointers null).
  SparseWinogradArgs args_for(const Tensor& x) const;

  double density() const;          // nnz / (t*t * K * C/groups)
  int64_t nnz() const { return nnz_; }                        // nonzeros of W
  int64_t entries() const { return int64_t(val_.size()); }    // nnz + slice padding
  int m() const { return m_; }
  int r() const { return r_; }
  int t() const { return m_ + r_ - 1; }
  int pad() const { return pad_; }
  int groups() const { return groups_; }
  int out_channels() const { return K_; }
  int in_channels() const { return Cg_ * groups_; }
  int kblock() const { return kblock_; }
  const std::vector<int32_t>& chunk_slice() const { return chunk_slice_; }
  const std::vector<int32_t>& slice_start() const { return slice_start_; }
  const std::vector<int32_t>& slice_rows() const { return slice_rows_; }
  const std::vector<uint16_t>& voff() const { return voff_; }
  const std::vector<float>& val() const { return val_; }
  // Per entry: its index in the packed W, -1 for slice padding.
  const std::vector<int32_t>& weight_index() const { return src_; }

  // "sparse_winograd_f4x4_3x3__avx512": tile and the variant forward() uses, for logging.
  std::string kernel_name() const;

 private:
  int m_ = 0, r_ = 0, pad_ = 0, groups_ = 1, K_ = 0, Cg_ = 0, kblock_ = 0;
  int64_t nnz_ = 0;
  std::vector<float> BT_, AT_;
  std::vector<int32_t> chunk_slice_, slice_start_, slice_rows_;
  std::vector<uint16_t> voff_;
  std::vector<float> val_;
  std::vector<int32_t> src_;   // per entry: its index in the packed W, -1 for slice padding
};

}  // namespace wp
