// Crop placement and the final HWC -> CHW conversion with mirror, channel order and
// normalization.
#include "winoprune/data/image.h"
#include "winoprune/error.h"

namespace wp {

void crop_offset(int w, int h, int crop, bool random, Rng& rng, int& x0, int& y0) {
  if (w < crop || h < crop)
    throw InputError("crop " + std::to_string(crop) + " larger than the image (" +
                     std::to_string(w) + "x" + std::to_string(h) + ")");
  if (random) {
    x0 = int(rng.below(uint32_t(w - crop + 1)));
    y0 = int(rng.below(uint32_t(h - crop + 1)));
  } else {
    x0 = (w - crop) / 2;
    y0 = (h - crop) / 2;
  }
}

void hwc_to_chw_normalized(const float* in, int w, int h, int c, bool mirror, bool bgr,
                           const float* mean, const float* std, const float* mean_image,
                           float* out) {
  const size_t plane = size_t(w) * h;
  for (int k = 0; k < c; ++k) {
    const int src_channel = (bgr && c == 3) ? 2 - k : k;
    const float inv_std = 1.0f / std[k];
    const float* mean_plane = mean_image ? mean_image + k * plane : nullptr;
    for (int y = 0; y < h; ++y) {
      const float* row = in + size_t(y) * w * c + src_channel;
      float* dst = out + k * plane + size_t(y) * w;
      for (int x = 0; x < w; ++x) {
        const int xs = mirror ? w - 1 - x : x;
        const float m = mean_plane ? mean_plane[size_t(y) * w + xs] : mean[k];
        dst[x] = (row[size_t(xs) * c] - m) * inv_std;
      }
    }
  }
}

}  // namespace wp
