// Separable image resizing with a triangle filter (antialiased bilinear; PIL's BILINEAR works
// the same way). Shrinking 500x375 to 341x256 spreads each output pixel over ~1.47 source
// pixels per axis, so plain bilinear sampling (2 taps) would skip source pixels and alias; the
// triangle scaled to the shrink factor covers them all (4 taps here).
#include <algorithm>
#include <cmath>

#include "winoprune/data/image.h"
#include "winoprune/error.h"

namespace wp {

ResizeTaps resize_taps(int src, int dst, int begin, int count) {
  if (src <= 0 || dst <= 0 || begin < 0 || count < 0 || begin + count > dst)
    throw InputError("resize_taps: bad sizes (src " + std::to_string(src) + ", dst " +
                     std::to_string(dst) + ", window " + std::to_string(begin) + "+" +
                     std::to_string(count) + ")");
  const double scale = double(src) / dst;
  const double support = std::max(1.0, scale);
  ResizeTaps taps;
  taps.max_taps = int(std::ceil(2 * support)) + 1;
  taps.first.resize(count);
  taps.size.resize(count);
  taps.weights.assign(size_t(count) * taps.max_taps, 0.0f);
  for (int k = 0; k < count; ++k) {
    const double center = (begin + k + 0.5) * scale - 0.5;
    // Taps with |j - center| < support; the ends have weight 0 and are left out.
    int lo = std::max(0, int(std::floor(center - support)) + 1);
    int hi = std::min(src - 1, int(std::ceil(center + support)) - 1);
    if (hi < lo) hi = lo = std::clamp(int(std::lround(center)), 0, src - 1);
    const int n = std::min(hi - lo + 1, taps.max_taps);  // <= 2*support + 1 always
    float* w = taps.weights.data() + size_t(k) * taps.max_taps;
    double sum = 0;
    for (int t = 0; t < n; ++t) {
      w[t] = float(std::max(0.0, 1.0 - std::fabs(lo + t - center) / support));
      sum += w[t];
    }
    if (sum <= 0) {  // cannot happen (the tap nearest the center has weight > 0); be safe
      w[0] = 1.0f;
      sum = 1;
    }
    taps.first[k] = lo;
    taps.size[k] = n;
    for (int t = 0; t < n; ++t) w[t] = float(w[t] / sum);
  }
  return taps;
}

void resized_size(int width, int height, int resize, bool warp, int& out_w, int& out_h) {
  if (warp) {
    out_w = out_h = resize;
  } else if (width <= height) {
    out_w = resize;
    out_h = std::max(1, int(std::lround(double(height) * resize / width)));
  } else {
    out_h = resize;
    out_w = std::max(1, int(std::lround(double(width) * resize / height)));
  }
}

void resize_window(const uint8_t* src, int sw, int sh, int c, int dw, int dh, int x0, int y0,
                   int w, int h, float* out) {
  ResizeTaps tx = resize_taps(sw, dw, x0, w);
  ResizeTaps ty = resize_taps(sh, dh, y0, h);
  if (w == 0 || h == 0) return;
  const int row_lo = ty.first[0];
  const int row_hi = ty.first[h - 1] + ty.size[h - 1];  // exclusive; taps are monotone
  const int rows = row_hi - row_lo;
  // tmp: [rows][w][c], the horizontal pass over the source rows the window needs.
  std::vector<float> tmp(size_t(rows) * w * c);
  for (int r = 0; r < rows; ++r) {
    const uint8_t* line = src + size_t(row_lo + r) * sw * c;
    float* dst = tmp.data() + size_t(r) * w * c;
    for (int x = 0; x < w; ++x) {
      const float* wt = tx.weights.data() + size_t(x) * tx.max_taps;
      const uint8_t* p = line + size_t(tx.first[x]) * c;
      const int n = tx.size[x];
      for (int ch = 0; ch < c; ++ch) {
        float acc = 0;
        for (int t = 0; t < n; ++t) acc += wt[t] * p[t * c + ch];
        dst[x * c + ch] = acc;
      }
    }
  }
  // Vertical pass: whole rows of w * c contiguous floats.
  const size_t row_len = size_t(w) * c;
  for (int y = 0; y < h; ++y) {
    const float* wt = ty.weights.data() + size_t(y) * ty.max_taps;
    const float* base = tmp.data() + size_t(ty.first[y] - row_lo) * row_len;
    float* dst = out + size_t(y) * row_len;
    std::fill(dst, dst + row_len, 0.0f);
    for (int t = 0; t < ty.size[y]; ++t) {
      const float wv = wt[t];
      const float* srow = base + size_t(t) * row_len;
      for (size_t i = 0; i < row_len; ++i) dst[i] += wv * srow[i];
    }
  }
}

}  // namespace wp
