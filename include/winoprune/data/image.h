#pragma once
// Image decoding (stb_image), resizing with a triangle filter, crop / mirror / normalization into
// float CHW. Pixels are 8-bit HWC (stb's layout) until the final float conversion.
#include <cstdint>
#include <string>
#include <vector>

#include "winoprune/rng.h"

namespace wp {

struct DataConfig;

struct Image8 {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;  // [height][width][channels]
};

// Decodes JPEG / PNG / BMP / ... from memory into `channels` (1 gray, 3 RGB) channels.
// Returns false with `reason` on a corrupt or truncated file (a JPEG whose end-of-image marker
// is missing counts as truncated: stb_image fills missing data with gray and does not fail).
bool decode_image(const uint8_t* data, size_t size, int channels, Image8& out,
                  std::string& reason);
// Reads and decodes a file; false with `reason` when it cannot be read or decoded.
bool read_image_file(const std::string& path, int channels, Image8& out, std::string& reason);
// Writes 8-bit HWC pixels as JPEG (quality 1..100) or PNG (by the extension of path).
// Throws InputError naming the file on failure.
void write_image_file(const std::string& path, const Image8& image, int jpeg_quality = 90);

// Triangle filter taps for resizing a line of `src` pixels to `dst` pixels: output pixel i has
// center (i + 0.5) * src/dst - 0.5 in source coordinates and weights tri((j - center) / s) with
// s = max(1, src/dst) (antialiased when shrinking, bilinear when enlarging), taps outside
// [0, src) dropped and the rest normalized to sum 1. Taps for outputs [begin, begin + count).
struct ResizeTaps {
  std::vector<int> first;       // [count] first source index
  std::vector<int> size;        // [count] number of taps
  std::vector<float> weights;   // [count][max_taps]
  int max_taps = 0;
};
ResizeTaps resize_taps(int src, int dst, int begin, int count);

// Resizes HWC `src` (sw x sh x c) to dw x dh and writes the window [x0, x0 + w) x [y0, y0 + h)
// of the result into `out` (h x w x c floats, 0..255 units). Only the window is computed: a
// 227 crop of a 341x256 resize costs 59% of the full resize.
void resize_window(const uint8_t* src, int sw, int sh, int c, int dw, int dh, int x0, int y0,
                   int w, int h, float* out);

// The size an image is resized to: "shorter" scales the shorter side to `resize` keeping the
// aspect ratio (rounded); "warp" gives resize x resize.
void resized_size(int width, int height, int resize, bool warp, int& out_w, int& out_h);

// Crop placement in a w x h image for a crop x crop window: random (uniform offsets, drawn x then
// y from rng) or centered.
void crop_offset(int w, int h, int crop, bool random, Rng& rng, int& x0, int& y0);

// HWC floats (0..255 units, h x w x c) -> CHW `out` with
//   out[k][y][x] = (in[y][xs][src_channel(k)] - mean_k(y, xs)) / std[k],  xs = mirror ? w-1-x : x
// where src_channel reverses RGB for bgr, and mean_k is mean_image[k][y][xs] (CHW, same h, w,
// output channel order) when given, else mean[k].
void hwc_to_chw_normalized(const float* in, int w, int h, int c, bool mirror, bool bgr,
                           const float* mean, const float* std, const float* mean_image,
                           float* out);

// A decoded image -> one network input (C x crop x crop floats) as the image folder makes it
// (image_folder.cpp): resize (config.resize, resize_mode), crop (random with data.augment.pad
// when augmenting, else centered), mirror (augmenting, drawn from rng), normalize by
// config.mean/std or by `mean_image` ([C][mean_side][mean_side], empty for none).
void image_to_input(const Image8& image, const DataConfig& config, bool augment, Rng& rng,
                    const std::vector<float>& mean_image, int mean_side, float* out);

}  // namespace wp
