#pragma once
// The plain reference of the sparse Winograd convolution: the specification every variant
// matches (src/kernels/ref/f32_sparse_winograd__ref.cpp instantiates it for float; the tests also
// run it in double). It reads the packed format of sparse_winograd.h; geometry comes from the
// argument block (its data pointers are ignored). Per image n, group g, tile (ty, tx):
//   d_c[a][b] = x[n][g*Cg + c][ty*m - pad + a][tx*m - pad + b]     (0 outside the image)
//   V_c       = BT d_c BT^T                                          (t x t, position j = p*t+q)
//   M_k[j]    = sum over the entries e of k's lane in the slices of chunk (g, k / kb, j)
//               of val[e] * V_{voff[e] / 16}[j]            (padding entries add 0)
//   y[n][g*Kg + k][ty*m + i][tx*m + i'] = act(bias[g*Kg + k] + (AT M_k AT^T)[i][i'])
// for the outputs inside Ho x Wo; act = ReLU if relu, else identity. Accumulates in T.
#include <algorithm>
#include <vector>

#include "winoprune/kernels/sparse_winograd.h"

namespace wp {

template <typename T>
void sparse_winograd_conv__reference(const SparseWinogradArgs& a, const T* x, const T* bias,
                                     T* y, const T* BT, const T* AT) {
  const int t = a.t, m = a.m, P = t * t;
  const int Kg = a.K / a.groups, Cg = a.C / a.groups;
  const int tiles = a.tiles_h * a.tiles_w;
  const int64_t HW = int64_t(a.H) * a.W, HoWo = int64_t(a.Ho) * a.Wo;

#pragma omp parallel for schedule(dynamic) num_threads(a.threads > 0 ? a.threads : 1)
  for (int64_t task = 0; task < int64_t(a.N) * a.groups * tiles; ++task) {
    const int n = int(task / (int64_t(a.groups) * tiles));
    const int g = int(task / tiles % a.groups);
    const int tile = int(task % tiles);
    const int ty = tile / a.tiles_w, tx = tile % a.tiles_w;
    const int y0 = ty * m - a.pad, x0 = tx * m - a.pad;

    std::vector<T> V(size_t(Cg) * P), d(P), tmp(P), M(size_t(Kg) * P), Z(size_t(m) * t);
    for (int c = 0; c < Cg; ++c) {
      const T* xc = x + (int64_t(n) * a.C + int64_t(g) * Cg + c) * HW;
      for (int i = 0; i < t; ++i)
        for (int k = 0; k < t; ++k) {
          int yy = y0 + i, xx = x0 + k;
          bool inside = yy >= 0 && yy < a.H && xx >= 0 && xx < a.W;
          d[i * t + k] = inside ? xc[int64_t(yy) * a.W + xx] : T(0);
        }
      for (int p = 0; p < t; ++p)            // tmp = BT d
        for (int k = 0; k < t; ++k) {
          T s = 0;
          for (int i = 0; i < t; ++i) s += BT[p * t + i] * d[i * t + k];
          tmp[p * t + k] = s;
        }
      for (int p = 0; p < t; ++p)            // V_c = tmp BT^T
        for (int q = 0; q < t; ++q) {
          T s = 0;
          for (int k = 0; k < t; ++k) s += tmp[p * t + k] * BT[q * t + k];
          V[size_t(c) * P + p * t + q] = s;
        }
    }

    // M [Kg][P]: every slice lane of every chunk of this group.
    const int nkb = (Kg + a.kblock - 1) / a.kblock, R = kSparseSliceRows;
    for (int b = 0; b < nkb; ++b) {
      const int nr = std::min(a.kblock, Kg - b * a.kblock);
      for (int j = 0; j < P; ++j) {
        const int64_t ch = (int64_t(g) * nkb + b) * P + j;
        for (int32_t sl = a.chunk_slice[ch]; sl < a.chunk_slice[ch + 1]; ++sl)
          for (int r = 0; r < R; ++r) {
            const int kk = a.slice_rows[int64_t(sl) * R + r];
            if (kk >= nr) continue;                     // a dummy lane
            T s = 0;
            for (int32_t e = a.slice_start[sl] + r; e < a.slice_start[sl + 1]; e += R)
              s += T(a.val[e]) * V[size_t(a.voff[e] / kSparseTileBlock) * P + j];
            M[size_t(b * a.kblock + kk) * P + j] = s;
          }
      }
    }
    for (int k = 0; k < Kg; ++k) {
      const T* Mk = M.data() + size_t(k) * P;
      for (int i = 0; i < m; ++i)            // Z = AT M
        for (int q = 0; q < t; ++q) {
          T s = 0;
          for (int p = 0; p < t; ++p) s += AT[i * t + p] * Mk[p * t + q];
          Z[i * t + q] = s;
        }
      const int ko = g * Kg + k;
      T* yk = y + (int64_t(n) * a.K + ko) * HoWo;
      for (int i = 0; i < m && ty * m + i < a.Ho; ++i)
        for (int i2 = 0; i2 < m && tx * m + i2 < a.Wo; ++i2) {
          T s = bias ? bias[ko] : T(0);
          for (int q = 0; q < t; ++q) s += Z[i * t + q] * AT[i2 * t + q];
          if (a.relu && s < T(0)) s = T(0);
          yk[int64_t(ty * m + i) * a.Wo + tx * m + i2] = s;
        }
    }
  }
}

}  // namespace wp
