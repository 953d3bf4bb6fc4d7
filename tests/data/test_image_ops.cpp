// Resize filter, crop placement, mirror and normalization on tiny images.
#include <cmath>

#include "data_support.h"
#include "winoprune/data/idx.h"
#include "winoprune/data/image.h"

using namespace wp;
using namespace wp::test;

namespace {

// The filter's definition evaluated directly in 2-D, in double: every source pixel weighted by
// tri(dx / sx) * tri(dy / sy), normalized over the pixels inside the image. The specification
// the separable, windowed resize_window must match.
double tri(double x) { return std::max(0.0, 1.0 - std::fabs(x)); }

std::vector<double> resize_reference(const std::vector<uint8_t>& src, int sw, int sh, int c,
                                     int dw, int dh) {
  std::vector<double> out(size_t(dw) * dh * c);
  const double scx = double(sw) / dw, scy = double(sh) / dh;
  const double sx = std::max(1.0, scx), sy = std::max(1.0, scy);
  for (int y = 0; y < dh; ++y)
    for (int x = 0; x < dw; ++x) {
      const double cx = (x + 0.5) * scx - 0.5, cy = (y + 0.5) * scy - 0.5;
      for (int ch = 0; ch < c; ++ch) {
        double acc = 0, wsum = 0;
        for (int j = 0; j < sh; ++j)
          for (int i = 0; i < sw; ++i) {
            double w = tri((i - cx) / sx) * tri((j - cy) / sy);
            acc += w * src[(size_t(j) * sw + i) * c + ch];
            wsum += w;
          }
        out[(size_t(y) * dw + x) * c + ch] = acc / wsum;
      }
    }
  return out;
}

std::vector<uint8_t> random_image(int w, int h, int c, uint64_t seed) {
  Rng rng(seed, 9);
  std::vector<uint8_t> v(size_t(w) * h * c);
  for (auto& b : v) b = uint8_t(rng.below(256));
  return v;
}

}  // namespace

TEST_CASE("resize of a constant image is constant", "[data][resize]") {
  for (auto [sw, sh, dw, dh] : {std::array<int, 4>{50, 37, 34, 25}, {7, 5, 16, 11},
                               {100, 80, 13, 9}, {9, 9, 9, 9}}) {
    std::vector<uint8_t> src(size_t(sw) * sh * 3, 200);
    std::vector<float> out(size_t(dw) * dh * 3);
    resize_window(src.data(), sw, sh, 3, dw, dh, 0, 0, dw, dh, out.data());
    for (float v : out) REQUIRE(v == Approx(200.0f).margin(1e-3));
  }
}

TEST_CASE("resize of a gradient stays a gradient", "[data][resize]") {
  // p(x) = 2x + 10 along x. Shrinking by 1.5 (antialiased) and enlarging by 2 (bilinear):
  // away from the borders the output follows the line 2 * center(x) + 10 to within 0.4 levels
  // (a sampled triangle's centroid is off its center by at most ~0.1 source pixels).
  for (auto [sw, dw] : {std::array<int, 2>{90, 60}, {40, 80}, {64, 64}}) {
    const int h = 4;
    std::vector<uint8_t> src(size_t(sw) * h);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < sw; ++x) src[size_t(y) * sw + x] = uint8_t(2 * x + 10);
    std::vector<float> out(size_t(dw) * h);
    resize_window(src.data(), sw, h, 1, dw, h, 0, 0, dw, h, out.data());
    const double scale = double(sw) / dw;
    for (int x = 0; x < dw; ++x) {
      const double center = (x + 0.5) * scale - 0.5;
      if (center < 2 * scale || center > sw - 1 - 2 * scale) continue;
      for (int y = 0; y < h; ++y) REQUIRE(std::fabs(out[size_t(y) * dw + x] - (2 * center + 10)) < 0.4);
      if (x > 0) REQUIRE(out[x] > out[x - 1]);
    }
  }
}

TEST_CASE("separable windowed resize matches the 2-D filter definition", "[data][resize]") {
  struct Case { int sw, sh, c, dw, dh; };
  for (Case k : {Case{23, 17, 3, 11, 9}, Case{13, 10, 1, 29, 21}, Case{31, 7, 3, 31, 7},
                 Case{37, 29, 3, 12, 29}, Case{5, 3, 3, 1, 1}}) {
    auto src = random_image(k.sw, k.sh, k.c, uint64_t(k.sw * 100 + k.dw));
    auto ref = resize_reference(src, k.sw, k.sh, k.c, k.dw, k.dh);
    std::vector<float> full(ref.size());
    resize_window(src.data(), k.sw, k.sh, k.c, k.dw, k.dh, 0, 0, k.dw, k.dh, full.data());
    INFO(k.sw << "x" << k.sh << " -> " << k.dw << "x" << k.dh);
    REQUIRE(relative_error(full.data(), ref.data(), ref.size(), 1e-5, "resize") < 1e-5);
    // A window equals the same part of the full resize.
    const int x0 = k.dw / 3, y0 = k.dh / 4, w = k.dw - x0 - k.dw / 5, h = k.dh - y0;
    std::vector<float> win(size_t(w) * h * k.c);
    resize_window(src.data(), k.sw, k.sh, k.c, k.dw, k.dh, x0, y0, w, h, win.data());
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w * k.c; ++x)
        REQUIRE(win[size_t(y) * w * k.c + x] ==
                Approx(full[(size_t(y0 + y) * k.dw + x0) * k.c + x]).margin(1e-4));
  }
}

TEST_CASE("resized sizes keep the aspect ratio or warp", "[data][resize]") {
  int w = 0, h = 0;
  resized_size(500, 375, 256, false, w, h);
  REQUIRE((w == 341 && h == 256));
  resized_size(375, 500, 256, false, w, h);
  REQUIRE((w == 256 && h == 341));
  resized_size(500, 375, 256, true, w, h);
  REQUIRE((w == 256 && h == 256));
}

TEST_CASE("crop placement: center and uniform random offsets", "[data][augment]") {
  Rng rng(3);
  int x0 = 0, y0 = 0;
  crop_offset(10, 7, 4, false, rng, x0, y0);
  REQUIRE((x0 == 3 && y0 == 1));
  std::vector<int> seen_x(7, 0), seen_y(4, 0);
  for (int i = 0; i < 2000; ++i) {
    crop_offset(10, 7, 4, true, rng, x0, y0);
    REQUIRE((x0 >= 0 && x0 <= 6 && y0 >= 0 && y0 <= 3));
    seen_x[size_t(x0)]++;
    seen_y[size_t(y0)]++;
  }
  for (int s : seen_x) REQUIRE(s > 200);  // 2000/7 = 286 expected
  for (int s : seen_y) REQUIRE(s > 400);  // 500 expected
  REQUIRE_THROWS_AS(crop_offset(3, 7, 4, false, rng, x0, y0), InputError);
}

TEST_CASE("HWC to CHW with mirror, BGR, mean and std on a tiny image", "[data][augment]") {
  // 3x2 RGB image, pixel (y, x) channel c = 100*c + 10*y + x.
  const int w = 3, h = 2, c = 3;
  std::vector<float> in(size_t(w) * h * c);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k) in[(size_t(y) * w + x) * c + k] = float(100 * k + 10 * y + x);
  const float mean[3] = {1, 2, 3}, std[3] = {1, 2, 4};
  std::vector<float> out(in.size());
  hwc_to_chw_normalized(in.data(), w, h, c, false, false, mean, std, nullptr, out.data());
  REQUIRE(out[0 * 6 + 1 * 3 + 2] == (12.0f - 1) / 1);        // R, y 1, x 2
  REQUIRE(out[2 * 6 + 0 * 3 + 1] == (201.0f - 3) / 4);       // B, y 0, x 1
  hwc_to_chw_normalized(in.data(), w, h, c, true, true, mean, std, nullptr, out.data());
  REQUIRE(out[0 * 6 + 1 * 3 + 2] == (210.0f - 1) / 1);       // out ch 0 = B, x 2 <- x 0
  REQUIRE(out[2 * 6 + 0 * 3 + 0] == (2.0f - 3) / 4);         // out ch 2 = R, x 0 <- x 2
  // A mean image is indexed at the source (unmirrored) position, as Caffe does.
  std::vector<float> mimg(size_t(w) * h * c);
  for (size_t i = 0; i < mimg.size(); ++i) mimg[i] = float(i);
  hwc_to_chw_normalized(in.data(), w, h, c, true, false, mean, std, mimg.data(), out.data());
  REQUIRE(out[1 * 6 + 1 * 3 + 0] == (112.0f - mimg[1 * 6 + 1 * 3 + 2]) / 2);
}

TEST_CASE("JPEG and PNG round trip, corrupt and truncated files are refused", "[data][image]") {
  TempDir dir("img");
  Image8 im;
  im.width = 20;
  im.height = 10;
  im.channels = 3;
  im.pixels = random_image(20, 10, 3, 4);
  write_image_file(dir / "a.png", im);
  Image8 back;
  std::string why;
  REQUIRE(read_image_file(dir / "a.png", 3, back, why));
  REQUIRE(back.pixels == im.pixels);
  REQUIRE(read_image_file(dir / "a.png", 1, back, why));
  REQUIRE(back.channels == 1);
  write_image_file(dir / "a.jpg", im, 95);
  REQUIRE(read_image_file(dir / "a.jpg", 3, back, why));
  REQUIRE((back.width == 20 && back.height == 10));

  std::vector<uint8_t> jpg = read_file_bytes(dir / "a.jpg");
  std::vector<uint8_t> cut(jpg.begin(), jpg.begin() + jpg.size() * 2 / 3);
  REQUIRE_FALSE(decode_image(cut.data(), cut.size(), 3, back, why));
  REQUIRE(why.find("truncated") != std::string::npos);
  std::vector<uint8_t> junk(300, 0x42);
  REQUIRE_FALSE(decode_image(junk.data(), junk.size(), 3, back, why));
  REQUIRE_FALSE(read_image_file(dir / "missing.jpg", 3, back, why));
  REQUIRE_THROWS_AS(write_image_file(dir / "a.gif", im), InputError);
}

TEST_CASE("decode_image refuses the formats and headers that corrupt stb_image", "[data][image]") {
  Image8 out;
  std::string why;
  auto refused = [&](const std::vector<uint8_t>& bytes) {
    why.clear();
    const bool ok = decode_image(bytes.data(), bytes.size(), 3, out, why);
    INFO(why);
    CHECK_FALSE(ok);
    CHECK_FALSE(why.empty());
    return why;
  };
  // A 16-bit PNM (fuzzing: a heap overflow in the 16-to-8-bit conversion): not a format we read.
  const std::string pnm = "P5 1 1 65535\n\x01\x02";
  refused(std::vector<uint8_t>(pnm.begin(), pnm.end()));
  // A GIF header declaring a 23040 x 6400 screen (fuzzing: gigabytes allocated).
  std::vector<uint8_t> gif = {'G', 'I', 'F', '8', '9', 'a', 0x00, 0x5a, 0x00, 0x19, 0, 0, 0};
  gif.resize(25, 0);
  refused(gif);
  // A 54-byte BMP header claiming 16777216 x 42 pixels: refused before any allocation.
  std::vector<uint8_t> bmp(54, 0);
  bmp[0] = 'B', bmp[1] = 'M';
  bmp[2] = 54;                       // file size (small)
  bmp[10] = 54;                      // pixel data offset
  bmp[14] = 40;                      // BITMAPINFOHEADER
  bmp[18] = 0x00, bmp[19] = 0x00, bmp[20] = 0x00, bmp[21] = 0x01;   // width 2^24
  bmp[22] = 42;                      // height 42
  bmp[26] = 1;                       // planes
  bmp[28] = 24;                      // bits per pixel
  refused(bmp);
  // JPEG marker segments that Debian's stb_image trusts. A DHT table whose 16 code counts sum
  // to 512 (fuzzing, 25 bytes: stbi__build_huffman writes past its 257-entry table; UBSan:
  // "index 257 out of bounds for type 'stbi_uc [257]'").
  std::vector<uint8_t> dht = {0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x13, 0x00};
  dht.insert(dht.end(), 16, 32);
  dht.insert(dht.end(), {0xFF, 0xD9});
  REQUIRE(dht.size() == 25);
  CHECK_THAT(refused(dht), Catch::Contains("DHT code counts sum to 512 > 256"));
  // stb_image takes FF fill bytes before SOI (FF FF D8) as a JPEG too (fuzzing: a DHT overflow
  // behind two leading FF bytes).
  std::vector<uint8_t> filled = dht;
  filled.insert(filled.begin(), {0xFF, 0xFF});
  CHECK_THAT(refused(filled), Catch::Contains("DHT code counts sum to 512 > 256"));
  // A PNG whose IDAT declares 2^31 - 1 bytes in a 57-byte file (fuzzing: stb_image allocated
  // 2 GB for it before reading).
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n',
                              0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0,
                              0x3A, 0x7E, 0x9B, 0x55,
                              0x7F, 0xFF, 0xFF, 0xFF, 'I', 'D', 'A', 'T', 1, 2, 3, 4};
  CHECK_THAT(refused(png), Catch::Contains("runs past the end of the file"));
  // A frame header with 9 components, and one whose length runs past the file.
  std::vector<uint8_t> sof = {0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x02, 0x00, 0x02, 0x09};
  sof.insert(sof.end(), 9, 0);
  sof.insert(sof.end(), {0xFF, 0xD9});
  CHECK_THAT(refused(sof), Catch::Contains("SOF with 9 components"));
  std::vector<uint8_t> longseg = {0xFF, 0xD8, 0xFF, 0xE0, 0x40, 0x00, 0x00, 0xFF, 0xD9};
  CHECK_THAT(refused(longseg), Catch::Contains("segment length"));
}

TEST_CASE("the JPEG segment check passes every file stb_image_write makes, baseline and with "
          "padding between segments", "[data][image]") {
  TempDir dir("jpeg-ok");
  Image8 out;
  std::string why;
  for (int side : {1, 7, 33, 250}) {
    for (int channels : {1, 3}) {
      Image8 im;
      im.width = side;
      im.height = side / 2 + 1;
      im.channels = channels;
      im.pixels = random_image(im.width, im.height, channels, uint64_t(side));
      write_image_file(dir / "a.jpg", im, 90);
      std::vector<uint8_t> jpg = read_file_bytes(dir / "a.jpg");
      INFO(side << " " << channels);
      REQUIRE(decode_image(jpg.data(), jpg.size(), channels, out, why));
      REQUIRE(out.width == im.width);
      // Stray bytes after a segment and fill bytes before the next marker (00 00 FF FF FF xx)
      // are tolerated by stb_image; the check skips them too.
      const size_t first_end = 4 + (size_t(jpg[4]) << 8 | jpg[5]);   // SOI, then one segment
      std::vector<uint8_t> padded(jpg.begin(), jpg.begin() + long(first_end));
      padded.insert(padded.end(), {0x00, 0x00, 0xFF, 0xFF});
      padded.insert(padded.end(), jpg.begin() + long(first_end), jpg.end());
      REQUIRE(decode_image(padded.data(), padded.size(), channels, out, why));
    }
  }
}
