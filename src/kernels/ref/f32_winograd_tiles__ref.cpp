// f32_winograd_{input,output}_tiles[_transposed]__ref: the four tile-range transforms of
// include/winoprune/kernels/winograd_tiles.h as plain loops, one tile and one channel at a time,
// with the grid's matrices (the specification the vector levels are tested against, and the
// fallback). Each 2-D transform is two 1-D passes: X -> C X (rows), then -> (C X) D^T.
#include "winoprune/kernels/winograd_tiles.h"

namespace wp {

namespace {

constexpr int kMaxT = 8;   // make_tile_grid refuses t > 8

// Where tile `tile` of the batch sits: image n, first input row/column of its patch (may be
// negative: the padding), first output row/column.
struct TilePlace {
  int64_t n;
  int y0, x0;     // input patch origin
  int oy, ox;     // output origin
};

TilePlace place_of(const TileGrid& g, int64_t tile) {
  const int64_t n = tile / g.tiles_per_image;
  const int64_t rem = tile % g.tiles_per_image;
  const int th = int(rem / g.tiles_w), tw = int(rem % g.tiles_w);
  return {n, th * g.m - g.pad, tw * g.m - g.pad, th * g.m, tw * g.m};
}

// out[i][j] = sum_a L[i][a] in[a][j] for i < rows, j < cols, a < inner; L row-major with
// leading dimension ld_l, or transposed (L[i][a] read as Lt[a][i]).
void left_multiply(const float* L, int ld_l, bool transposed, const float* in, int inner,
                   int rows, int cols, float* out) {
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) {
      float s = 0.0f;
      for (int a = 0; a < inner; ++a)
        s += (transposed ? L[a * ld_l + i] : L[i * ld_l + a]) * in[a * kMaxT + j];
      out[i * kMaxT + j] = s;
    }
}

// out[i][j] = sum_b in[i][b] R[j][b] for i < rows, j < cols, b < inner (R row-major, ld_r), or
// with R transposed (R[j][b] read as Rt[b][j]).
void right_multiply(const float* in, const float* R, int ld_r, bool transposed, int inner,
                    int rows, int cols, float* out) {
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) {
      float s = 0.0f;
      for (int b = 0; b < inner; ++b)
        s += in[i * kMaxT + b] * (transposed ? R[b * ld_r + j] : R[j * ld_r + b]);
      out[i * kMaxT + j] = s;
    }
}

// The (position, channel, tile) element of a transform-domain buffer.
inline int64_t at(int j, int64_t ld_position, int channel, int64_t ld_channel, int64_t tile) {
  return int64_t(j) * ld_position + channel * ld_channel + tile;
}

}  // namespace

// V = B^T d B, with B^T = g.BT (t x t): rows pass BT d, columns pass (BT d) BT^T.
void f32_winograd_input_tiles__ref(const TileGrid* gp, const float* x, int c_begin, int c_end,
                                   int64_t tile_begin, int64_t tile_end, float* V,
                                   int64_t ldv_position, int64_t ldv_channel) {
  const TileGrid& g = *gp;
  const int t = g.t;
  float d[kMaxT * kMaxT], tmp[kMaxT * kMaxT], v[kMaxT * kMaxT];
  for (int c = c_begin; c < c_end; ++c)
    for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
      const TilePlace p = place_of(g, tile);
      const float* xc = x + (p.n * g.C + c) * int64_t(g.H) * g.W;
      for (int a = 0; a < t; ++a)
        for (int b = 0; b < t; ++b) {
          const int yy = p.y0 + a, xx = p.x0 + b;
          const bool inside = yy >= 0 && yy < g.H && xx >= 0 && xx < g.W;
          d[a * kMaxT + b] = inside ? xc[int64_t(yy) * g.W + xx] : 0.0f;
        }
      left_multiply(g.BT, t, false, d, t, t, t, tmp);
      right_multiply(tmp, g.BT, t, false, t, t, t, v);
      for (int a = 0; a < t; ++a)
        for (int b = 0; b < t; ++b)
          V[at(a * t + b, ldv_position, c - c_begin, ldv_channel, tile - tile_begin)] =
              v[a * kMaxT + b];
    }
}

// y = A^T M A (+ bias, ReLU), with A^T = g.AT (m x t), outputs inside Ho x Wo only.
void f32_winograd_output_tiles__ref(const TileGrid* gp, const float* M, int64_t ldm_position,
                                    int64_t ldm_channel, int k_begin, int k_end,
                                    int64_t tile_begin, int64_t tile_end, const float* bias,
                                    int relu, float* y) {
  const TileGrid& g = *gp;
  const int t = g.t, m = g.m;
  float mt[kMaxT * kMaxT], tmp[kMaxT * kMaxT], out[kMaxT * kMaxT];
  for (int k = k_begin; k < k_end; ++k)
    for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
      const TilePlace p = place_of(g, tile);
      for (int a = 0; a < t; ++a)
        for (int b = 0; b < t; ++b)
          mt[a * kMaxT + b] =
              M[at(a * t + b, ldm_position, k - k_begin, ldm_channel, tile - tile_begin)];
      left_multiply(g.AT, t, false, mt, t, m, t, tmp);
      right_multiply(tmp, g.AT, t, false, t, m, m, out);
      float* yk = y + (p.n * g.K + k) * int64_t(g.Ho) * g.Wo;
      for (int i = 0; i < m && p.oy + i < g.Ho; ++i)
        for (int j = 0; j < m && p.ox + j < g.Wo; ++j) {
          float s = out[i * kMaxT + j] + (bias ? bias[k] : 0.0f);
          if (relu && s < 0.0f) s = 0.0f;
          yk[int64_t(p.oy + i) * g.Wo + p.ox + j] = s;
        }
    }
}

// dM = A dY A^T (dY zero beyond Ho x Wo): rows pass AT^T dY, columns pass (AT^T dY) AT.
void f32_winograd_output_tiles_transposed__ref(const TileGrid* gp, const float* dy, int k_begin,
                                               int k_end, int64_t tile_begin, int64_t tile_end,
                                               float* dM, int64_t ldm_position,
                                               int64_t ldm_channel) {
  const TileGrid& g = *gp;
  const int t = g.t, m = g.m;
  float dyt[kMaxT * kMaxT], tmp[kMaxT * kMaxT], out[kMaxT * kMaxT];
  for (int k = k_begin; k < k_end; ++k)
    for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
      const TilePlace p = place_of(g, tile);
      const float* dyk = dy + (p.n * g.K + k) * int64_t(g.Ho) * g.Wo;
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < m; ++j) {
          const bool inside = p.oy + i < g.Ho && p.ox + j < g.Wo;
          dyt[i * kMaxT + j] = inside ? dyk[int64_t(p.oy + i) * g.Wo + p.ox + j] : 0.0f;
        }
      left_multiply(g.AT, t, true, dyt, m, t, m, tmp);
      right_multiply(tmp, g.AT, t, true, m, t, t, out);
      for (int a = 0; a < t; ++a)
        for (int b = 0; b < t; ++b)
          dM[at(a * t + b, ldm_position, k - k_begin, ldm_channel, tile - tile_begin)] =
              out[a * kMaxT + b];
    }
}

// dx patch += B dV B^T: rows pass BT^T dV, columns pass (BT^T dV) BT; tiles in increasing order.
void f32_winograd_input_tiles_transposed__ref(const TileGrid* gp, const float* dV,
                                              int64_t ldv_position, int64_t ldv_channel,
                                              int c_begin, int c_end, int64_t tile_begin,
                                              int64_t tile_end, float* dx) {
  const TileGrid& g = *gp;
  const int t = g.t;
  float dv[kMaxT * kMaxT], tmp[kMaxT * kMaxT], out[kMaxT * kMaxT];
  for (int c = c_begin; c < c_end; ++c)
    for (int64_t tile = tile_begin; tile < tile_end; ++tile) {
      const TilePlace p = place_of(g, tile);
      for (int a = 0; a < t; ++a)
        for (int b = 0; b < t; ++b)
          dv[a * kMaxT + b] =
              dV[at(a * t + b, ldv_position, c - c_begin, ldv_channel, tile - tile_begin)];
      left_multiply(g.BT, t, true, dv, t, t, t, tmp);
      right_multiply(tmp, g.BT, t, true, t, t, t, out);
      float* dxc = dx + (p.n * g.C + c) * int64_t(g.H) * g.W;
      for (int a = 0; a < t; ++a)
        for (int b = 0; b < t; ++b) {
          const int yy = p.y0 + a, xx = p.x0 + b;
          if (yy >= 0 && yy < g.H && xx >= 0 && xx < g.W)
            dxc[int64_t(yy) * g.W + xx] += out[a * kMaxT + b];
        }
    }
}

}  // namespace wp
