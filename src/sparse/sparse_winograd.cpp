// Packing of a pruned Winograd-domain kernel into the format of sparse_winograd.h, and the
// forward driver (geometry checks, workspace, dispatch to the chosen variant).
#include "winoprune/sparse/sparse_winograd.h"

#include <omp.h>

#include <algorithm>
#include <climits>

#include "winoprune/error.h"
#include "winoprune/winograd/transform.h"

namespace wp {

SparseWinogradConv SparseWinogradConv::pack(const Tensor& W, int m, int r, int pad, int groups,
                                            int kblock) {
  const WinogradTransform& tr = winograd_transform(m, r);   // throws on unsupported (m, r)
  const int t = tr.t, P = t * t;
  if (W.ndim() != 3 || W.dim(0) != P)
    throw InputError("sparse winograd pack: weight " + shape_str(W.shape()) +
                     ": expected [t*t = " + std::to_string(P) + ", K, C/groups] for " +
                     tr.tile_name());
  if (groups < 1 || W.dim(1) % groups != 0)
    throw InputError("sparse winograd pack: K = " + std::to_string(W.dim(1)) +
                     " is not divisible by groups = " + std::to_string(groups));
  if (pad < 0) throw InputError("sparse winograd pack: pad must be >= 0");
  if (W.dim(1) < 1 || W.dim(2) < 1)
    throw InputError("sparse winograd pack: empty weight " + shape_str(W.shape()));
  if (W.numel() >= INT32_MAX || W.dim(2) * kSparseTileBlock > UINT16_MAX + 1)
    throw InputError("sparse winograd pack: weight " + shape_str(W.shape()) +
                     ": expected C/groups <= 4096 (16-bit V offsets) and < 2^31 entries");

  SparseWinogradConv s;
  s.m_ = m;
  s.r_ = r;
  s.pad_ = pad;
  s.groups_ = groups;
  s.K_ = int(W.dim(1));
  s.Cg_ = int(W.dim(2));
  const int Kg = s.K_ / groups, Cg = s.Cg_;
  // kblock trades V_j reuse (each chunk reloads V_j, Cg*64 bytes, from L2 for kblock rows)
  // against M's size (P * kblock * 64 bytes) and the number of k-blocks batch 1 can split over
  // the threads: ~2304 / P rows, a multiple of the slice height 8: 64 for F(4x4,3x3) (AlexNet's
  // 384, 256, 192 and 128 channels per group are multiples), 32 for F(4x4,5x5). Measured on
  // conv3: products 10% faster than with 32 rows, 4% slower than with 128.
  if (kblock <= 0)
    kblock = std::max(kSparseSliceRows, 2304 / P / kSparseSliceRows * kSparseSliceRows);
  s.kblock_ = std::min(kblock, Kg);
  s.BT_ = tr.BTf;
  s.AT_ = tr.ATf;

  const int kb = s.kblock_, nkb = (Kg + kb - 1) / kb, R = kSparseSliceRows;
  const float* w = W.data();
  s.chunk_slice_.reserve(size_t(groups) * nkb * P + 1);
  s.chunk_slice_.push_back(0);
  s.slice_start_.push_back(0);
  std::vector<int> count(static_cast<size_t>(kb)), order(static_cast<size_t>(kb + R));
  for (int g = 0; g < groups; ++g)
    for (int b = 0; b < nkb; ++b) {
      const int nr = std::min(kb, Kg - b * kb), ns = (nr + R - 1) / R;
      for (int j = 0; j < P; ++j) {
        auto row = [&](int kk) {
          return w + (int64_t(j) * s.K_ + int64_t(g) * Kg + int64_t(b) * kb + kk) * Cg;
        };
        for (int kk = 0; kk < nr; ++kk) {
          const float* wr = row(kk);
          count[size_t(kk)] = int(std::count_if(wr, wr + Cg, [](float v) { return v != 0; }));
          s.nnz_ += count[size_t(kk)];
        }
        for (int i = 0; i < ns * R; ++i) order[size_t(i)] = i;   // dummies nr.. stay last
        std::stable_sort(order.begin(), order.begin() + nr,
                         [&](int p, int q) { return count[size_t(p)] > count[size_t(q)]; });
        for (int sl = 0; sl < ns; ++sl) {
          int len = 0;
          for (int r = 0; r < R; ++r) {
            const int kk = order[size_t(sl * R + r)];
            s.slice_rows_.push_back(kk);
            if (kk < nr) len = std::max(len, count[size_t(kk)]);
          }
          const size_t e0 = s.val_.size();
          s.val_.resize(e0 + size_t(len) * R, 0.0f);
          s.voff_.resize(e0 + size_t(len) * R, 0);
          s.src_.resize(e0 + size_t(len) * R, -1);
          for (int r = 0; r < R; ++r) {
            const int kk = order[size_t(sl * R + r)];
            if (kk >= nr) continue;
            const float* wr = row(kk);
            size_t e = e0 + size_t(r);
            for (int c = 0; c < Cg; ++c)
              if (wr[c] != 0.0f) {
                s.val_[e] = wr[c];
                s.voff_[e] = uint16_t(c * kSparseTileBlock);
                s.src_[e] = int32_t(wr + c - w);
                e += size_t(R);
              }
          }
          if (s.val_.size() >= size_t(INT32_MAX))
            throw InputError("sparse winograd pack: weight " + shape_str(W.shape()) +
                             " too large for int32 entry offsets");
          s.slice_start_.push_back(int32_t(s.val_.size()));
        }
        s.chunk_slice_.push_back(int32_t(s.slice_start_.size() - 1));
      }
    }
  return s;
}

bool SparseWinogradConv::supports(const Tensor& x, int groups) {
  if (x.ndim() != 4 || groups < 1 || x.dim(1) % groups != 0) return false;
  return x.dim(1) / groups * kSparseTileBlock <= UINT16_MAX + 1 &&
         16 * x.dim(1) * x.dim(2) * x.dim(3) < INT32_MAX;
}

void SparseWinogradConv::refresh_values(const Tensor& W) {
  if (W.ndim() != 3 || W.dim(0) != int64_t(t()) * t() || W.dim(1) != K_ || W.dim(2) != Cg_)
    throw InputError("sparse winograd refresh: weight " + shape_str(W.shape()) +
                     ": expected the packed shape [" + std::to_string(t() * t()) + ", " +
                     std::to_string(K_) + ", " + std::to_string(Cg_) + "]");
  const float* w = W.data();
  const int64_t n = int64_t(val_.size());
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t e = 0; e < n; ++e) val_[size_t(e)] = src_[size_t(e)] >= 0 ? w[src_[size_t(e)]] : 0.0f;
}

double SparseWinogradConv::density() const {
  const double dense = double(t()) * t() * K_ * Cg_;
  return dense > 0 ? double(nnz_) / dense : 0.0;
}

SparseWinogradArgs SparseWinogradConv::args_for(const Tensor& x) const {
  if (chunk_slice_.empty())
    throw InputError("sparse winograd forward: the layer was never packed");
  const int C = Cg_ * groups_;
  if (x.ndim() != 4 || x.dim(1) != C)
    throw InputError("sparse winograd forward: input " + shape_str(x.shape()) +
                     ": expected [N, " + std::to_string(C) + ", H, W]");
  SparseWinogradArgs a{};
  a.N = int(x.dim(0));
  a.C = C;
  a.H = int(x.dim(2));
  a.W = int(x.dim(3));
  a.K = K_;
  a.groups = groups_;
  a.m = m_;
  a.r = r_;
  a.t = t();
  a.pad = pad_;
  a.Ho = a.H + 2 * pad_ - r_ + 1;
  a.Wo = a.W + 2 * pad_ - r_ + 1;
  if (a.Ho < 1 || a.Wo < 1)
    throw InputError("sparse winograd forward: input " + shape_str(x.shape()) + " with pad " +
                     std::to_string(pad_) + " is smaller than the " + std::to_string(r_) + "x" +
                     std::to_string(r_) + " kernel");
  // The kernels address one block of 16 tiles (at most 16 images) with int32 offsets.
  if (16 * int64_t(C) * a.H * a.W >= INT32_MAX)
    throw InputError("sparse winograd forward: input " + shape_str(x.shape()) +
                     ": C*H*W must be below 2^31 / 16 for the kernel's int32 offsets");
  a.tiles_h = (a.Ho + m_ - 1) / m_;
  a.tiles_w = (a.Wo + m_ - 1) / m_;
  a.BT = BT_.data();
  a.AT = AT_.data();
  a.kblock = kblock_;
  a.chunk_slice = chunk_slice_.data();
  a.slice_start = slice_start_.data();
  a.slice_rows = slice_rows_.data();
  a.voff = voff_.data();
  a.val = val_.data();
  return a;
}

void SparseWinogradConv::forward_with(const SparseWinogradVariant& variant, const Tensor& x,
                                      const float* bias, bool relu, Tensor& y,
                                      double* phase_ms) const {
  SparseWinogradArgs a = args_for(x);
  const Shape ys{a.N, a.K, a.Ho, a.Wo};
  if (!y.defined() || y.shape() != ys) y = Tensor::empty(ys);
  if (y.shares_storage(x)) throw InputError("sparse winograd forward: y must not alias x");
  a.x = x.data();
  a.y = y.data();
  a.bias = bias;
  a.relu = relu ? 1 : 0;
  a.threads = omp_get_max_threads();
  a.phase_ms = phase_ms;
  // Per calling thread, grown only: V and M blocks (~1 MB per OpenMP thread) are not
  // re-faulted on every forward.
  thread_local Tensor workspace;
  const size_t ws = variant.workspace_floats(&a);
  if (ws > 0) {
    if (!workspace.defined() || size_t(workspace.numel()) < ws)
      workspace = Tensor::empty({int64_t(ws)});
    a.workspace = workspace.data();
  }
  variant.run(&a);
}

void SparseWinogradConv::forward(const Tensor& x, const float* bias, bool relu, Tensor& y) const {
  forward_with(sparse_winograd_variant(), x, bias, relu, y);
}

Tensor SparseWinogradConv::forward(const Tensor& x, const float* bias, bool relu) const {
  Tensor y;
  forward(x, bias, relu, y);
  return y;
}

std::string SparseWinogradConv::kernel_name() const {
  const std::string mm = std::to_string(m_), rr = std::to_string(r_);
  return "sparse_winograd_f" + mm + "x" + mm + "_" + rr + "x" + rr + "__" +
         sparse_winograd_variant().name;
}

}  // namespace wp
