// Plain reference twins of the Winograd layer; contracts in
// include/winoprune/winograd/winograd_reference.h. Written for clarity, not speed: every tile
// is transformed with full t x t matrix products, no separability, no zero skipping.
#include "winoprune/winograd/winograd_reference.h"

#include <algorithm>
#include <vector>

#include "winoprune/winograd/transform.h"

namespace wp {

namespace {

// The transform matrices in T, row-major: AT m x t, BT t x t, G t x r.
template <typename T>
struct Mats {
  int m, r, t;
  std::vector<T> AT, BT, G;
  explicit Mats(const ConvShape& s) {
    const WinogradTransform& tr = winograd_transform(s.m, s.r);
    m = tr.m;
    r = tr.r;
    t = tr.t;
    AT.assign(tr.AT.begin(), tr.AT.end());
    BT.assign(tr.BT.begin(), tr.BT.end());
    G.assign(tr.G.begin(), tr.G.end());
  }
};

// out (P x Q) = L (P x S) * X (S x S') * R^T (Q x S'), i.e. L X R^T with R given row-major.
// All dimensions are at most t <= 8.
template <typename T>
void sandwich(const T* L, int P, int S, const T* X, int S2, const T* R, int Q, T* out) {
  T tmp[8 * 8] = {};
  for (int p = 0; p < P; ++p)
    for (int b = 0; b < S2; ++b)
      for (int a = 0; a < S; ++a) tmp[p * S2 + b] += L[p * S + a] * X[a * S2 + b];
  for (int p = 0; p < P; ++p)
    for (int q = 0; q < Q; ++q) {
      T acc = 0;
      for (int b = 0; b < S2; ++b) acc += tmp[p * S2 + b] * R[q * S2 + b];
      out[p * Q + q] = acc;
    }
}

template <typename T>
std::vector<T> transpose(const std::vector<T>& a, int rows, int cols) {
  std::vector<T> out(a.size());
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) out[size_t(j) * rows + i] = a[size_t(i) * cols + j];
  return out;
}

int tiles_along(int n_out, int m) { return (n_out + m - 1) / m; }

}  // namespace

template <typename T>
void winograd_conv2d_forward_reference(const ConvShape& s, const T* x, const T* w, const T* bias,
                                       T* y) {
  const Mats<T> mt(s);
  const int m = mt.m, t = mt.t, tt = t * t, Ho = s.Ho(), Wo = s.Wo();
  const int Cg = s.C / s.groups, Kg = s.K / s.groups;
  std::vector<T> d(tt), V(size_t(Cg) * tt), acc(tt), Y(m * m);
  for (int n = 0; n < s.N; ++n)
    for (int grp = 0; grp < s.groups; ++grp)
      for (int th = 0; th < tiles_along(Ho, m); ++th)
        for (int tw = 0; tw < tiles_along(Wo, m); ++tw) {
          // V_c = B^T d_c B for the tile's input patch (zeros outside the image).
          for (int c = 0; c < Cg; ++c) {
            const T* xp = x + (size_t(n) * s.C + grp * Cg + c) * s.H * s.W;
            for (int a = 0; a < t; ++a)
              for (int b = 0; b < t; ++b) {
                int row = th * m - s.pad + a, col = tw * m - s.pad + b;
                bool in = row >= 0 && row < s.H && col >= 0 && col < s.W;
                d[a * t + b] = in ? xp[size_t(row) * s.W + col] : T(0);
              }
            sandwich(mt.BT.data(), t, t, d.data(), t, mt.BT.data(), t, &V[size_t(c) * tt]);
          }
          for (int kk = 0; kk < Kg; ++kk) {
            const int k = grp * Kg + kk;
            for (int j = 0; j < tt; ++j) {
              T sum = 0;
              for (int c = 0; c < Cg; ++c)
                sum += w[(size_t(j) * s.K + k) * Cg + c] * V[size_t(c) * tt + j];
              acc[j] = sum;
            }
            sandwich(mt.AT.data(), m, t, acc.data(), t, mt.AT.data(), m, Y.data());
            T* yp = y + (size_t(n) * s.K + k) * Ho * Wo;
            for (int i = 0; i < m && th * m + i < Ho; ++i)
              for (int jj = 0; jj < m && tw * m + jj < Wo; ++jj)
                yp[size_t(th * m + i) * Wo + tw * m + jj] =
                    Y[i * m + jj] + (bias ? bias[k] : T(0));
          }
        }
}

template <typename T>
void winograd_conv2d_backward_data_reference(const ConvShape& s, const T* dy, const T* w,
                                             T* dx) {
  const Mats<T> mt(s);
  const int m = mt.m, t = mt.t, tt = t * t, Ho = s.Ho(), Wo = s.Wo();
  const int Cg = s.C / s.groups, Kg = s.K / s.groups;
  const std::vector<T> A = transpose(mt.AT, m, t), B = transpose(mt.BT, t, t);
  std::vector<T> dY(m * m), dM(size_t(Kg) * tt), acc(tt), dX(tt);
  for (int n = 0; n < s.N; ++n)
    for (int grp = 0; grp < s.groups; ++grp)
      for (int th = 0; th < tiles_along(Ho, m); ++th)
        for (int tw = 0; tw < tiles_along(Wo, m); ++tw) {
          // dM_k = A dY_k A^T (dY read as zero beyond Ho, Wo).
          for (int kk = 0; kk < Kg; ++kk) {
            const T* dyp = dy + (size_t(n) * s.K + grp * Kg + kk) * Ho * Wo;
            for (int i = 0; i < m; ++i)
              for (int jj = 0; jj < m; ++jj) {
                int row = th * m + i, col = tw * m + jj;
                dY[i * m + jj] = row < Ho && col < Wo ? dyp[size_t(row) * Wo + col] : T(0);
              }
            sandwich(A.data(), t, m, dY.data(), m, A.data(), t, &dM[size_t(kk) * tt]);
          }
          for (int c = 0; c < Cg; ++c) {
            for (int j = 0; j < tt; ++j) {
              T sum = 0;
              for (int kk = 0; kk < Kg; ++kk)
                sum += w[(size_t(j) * s.K + grp * Kg + kk) * Cg + c] * dM[size_t(kk) * tt + j];
              acc[j] = sum;
            }
            sandwich(B.data(), t, t, acc.data(), t, B.data(), t, dX.data());
            T* dxp = dx + (size_t(n) * s.C + grp * Cg + c) * s.H * s.W;
            for (int a = 0; a < t; ++a)
              for (int b = 0; b < t; ++b) {
                int row = th * m - s.pad + a, col = tw * m - s.pad + b;
                if (row >= 0 && row < s.H && col >= 0 && col < s.W)
                  dxp[size_t(row) * s.W + col] += dX[a * t + b];
              }
          }
        }
}

template <typename T>
void winograd_conv2d_backward_weights_reference(const ConvShape& s, const T* dy, const T* x,
                                                T* dw, T* dbias) {
  const Mats<T> mt(s);
  const int m = mt.m, t = mt.t, tt = t * t, Ho = s.Ho(), Wo = s.Wo();
  const int Cg = s.C / s.groups, Kg = s.K / s.groups;
  const std::vector<T> A = transpose(mt.AT, m, t);
  std::vector<T> d(tt), V(size_t(Cg) * tt), dY(m * m), dM(tt);
  for (int n = 0; n < s.N; ++n)
    for (int grp = 0; grp < s.groups; ++grp)
      for (int th = 0; th < tiles_along(Ho, m); ++th)
        for (int tw = 0; tw < tiles_along(Wo, m); ++tw) {
          for (int c = 0; c < Cg; ++c) {
            const T* xp = x + (size_t(n) * s.C + grp * Cg + c) * s.H * s.W;
            for (int a = 0; a < t; ++a)
              for (int b = 0; b < t; ++b) {
                int row = th * m - s.pad + a, col = tw * m - s.pad + b;
                bool in = row >= 0 && row < s.H && col >= 0 && col < s.W;
                d[a * t + b] = in ? xp[size_t(row) * s.W + col] : T(0);
              }
            sandwich(mt.BT.data(), t, t, d.data(), t, mt.BT.data(), t, &V[size_t(c) * tt]);
          }
          for (int kk = 0; kk < Kg; ++kk) {
            const int k = grp * Kg + kk;
            const T* dyp = dy + (size_t(n) * s.K + k) * Ho * Wo;
            for (int i = 0; i < m; ++i)
              for (int jj = 0; jj < m; ++jj) {
                int row = th * m + i, col = tw * m + jj;
                dY[i * m + jj] = row < Ho && col < Wo ? dyp[size_t(row) * Wo + col] : T(0);
              }
            sandwich(A.data(), t, m, dY.data(), m, A.data(), t, dM.data());
            for (int j = 0; j < tt; ++j)
              for (int c = 0; c < Cg; ++c)
                dw[(size_t(j) * s.K + k) * Cg + c] += dM[j] * V[size_t(c) * tt + j];
          }
        }
  if (dbias)
    for (int n = 0; n < s.N; ++n)
      for (int k = 0; k < s.K; ++k) {
        T sum = 0;
        const T* dyp = dy + (size_t(n) * s.K + k) * Ho * Wo;
        for (int i = 0; i < Ho * Wo; ++i) sum += dyp[i];
        dbias[k] += sum;
      }
}

// Accumulates each output plane in double, one kernel tap (c, a, b) at a time over the rows
// and the valid column range: the same sum as the formula, in a different order.
template <typename T>
void conv2d_spatial_reference(const ConvShape& s, const T* x, const T* g, const T* bias, T* y) {
  const int Ho = s.Ho(), Wo = s.Wo(), r = s.r;
  const int Cg = s.C / s.groups, Kg = s.K / s.groups;
  std::vector<double> acc(size_t(Ho) * Wo);
  for (int n = 0; n < s.N; ++n)
    for (int k = 0; k < s.K; ++k) {
      const int grp = k / Kg;
      for (double& v : acc) v = bias ? double(bias[k]) : 0.0;
      for (int c = 0; c < Cg; ++c) {
        const T* xp = x + (size_t(n) * s.C + grp * Cg + c) * s.H * s.W;
        const T* gp = g + (size_t(k) * Cg + c) * r * r;
        for (int a = 0; a < r; ++a)
          for (int b = 0; b < r; ++b) {
            const double gv = double(gp[a * r + b]);
            // Output (i, j) reads x[i + a - pad][j + b - pad].
            const int j0 = std::max(0, s.pad - b), j1 = std::min(Wo, s.W + s.pad - b);
            for (int i = std::max(0, s.pad - a); i < std::min(Ho, s.H + s.pad - a); ++i) {
              const T* xr = xp + size_t(i + a - s.pad) * s.W + (b - s.pad);
              double* yr = acc.data() + size_t(i) * Wo;
              for (int j = j0; j < j1; ++j) yr[j] += gv * double(xr[j]);
            }
          }
      }
      T* yp = y + (size_t(n) * s.K + k) * Ho * Wo;
      for (size_t i = 0; i < acc.size(); ++i) yp[i] = T(acc[i]);
    }
}

template <typename T>
void spatial_to_winograd_reference(const ConvShape& s, const T* g, T* w) {
  const WinogradTransform& tr = winograd_transform(s.m, s.r);
  const int t = tr.t, r = tr.r, Cg = s.C / s.groups;
  std::vector<double> gk(size_t(r) * r), U(size_t(t) * t);
  for (int k = 0; k < s.K; ++k)
    for (int c = 0; c < Cg; ++c) {
      for (int i = 0; i < r * r; ++i) gk[i] = double(g[(size_t(k) * Cg + c) * r * r + i]);
      sandwich(tr.G.data(), t, r, gk.data(), r, tr.G.data(), t, U.data());
      for (int j = 0; j < t * t; ++j) w[(size_t(j) * s.K + k) * Cg + c] = T(U[j]);
    }
}

#define WP_INSTANTIATE(T)                                                                      \
  template void winograd_conv2d_forward_reference<T>(const ConvShape&, const T*, const T*,     \
                                                     const T*, T*);                            \
  template void winograd_conv2d_backward_data_reference<T>(const ConvShape&, const T*,         \
                                                           const T*, T*);                      \
  template void winograd_conv2d_backward_weights_reference<T>(const ConvShape&, const T*,      \
                                                              const T*, T*, T*);               \
  template void conv2d_spatial_reference<T>(const ConvShape&, const T*, const T*, const T*,    \
                                            T*);                                               \
  template void spatial_to_winograd_reference<T>(const ConvShape&, const T*, T*);
WP_INSTANTIATE(float)
WP_INSTANTIATE(double)
#undef WP_INSTANTIATE

}  // namespace wp
