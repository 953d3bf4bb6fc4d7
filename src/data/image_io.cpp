// Image decoding and writing through stb_image / stb_image_write.
#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>

#include "winoprune/data/image.h"
#include "winoprune/error.h"

namespace wp {

namespace {

bool is_jpeg(const uint8_t* data, size_t size) {
  return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

// A JPEG ends with the EOI marker FF D9, possibly followed by padding or trailers. The
// entropy-coded data cannot contain FF D9 (0xFF bytes are stuffed as FF 00), so a file with no
// FF D9 after its SOI was cut short.
bool has_end_marker(const uint8_t* data, size_t size) {
  for (size_t i = size; i-- > 3;)
    if (data[i] == 0xD9 && data[i - 1] == 0xFF) return true;
  return false;
}

std::string lower_extension(const std::string& path) {
  size_t dot = path.rfind('.');
  if (dot == std::string::npos) return "";
  std::string ext = path.substr(dot + 1);
  for (char& ch : ext) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return ext;
}

}  // namespace

bool decode_image(const uint8_t* data, size_t size, int channels, Image8& out,
                  std::string& reason) {
  if (size == 0) {
    reason = "empty file";
    return false;
  }
  if (size > size_t(1) << 30) {
    reason = "file over 1 GB";
    return false;
  }
  if (is_jpeg(data, size) && !has_end_marker(data, size)) {
    reason = "truncated JPEG (no end-of-image marker)";
    return false;
  }
  int w = 0, h = 0, n = 0;
  // The header's size before any decode: 64 megapixels (8192 x 8192) at most, 4x ImageNet's
  // largest image; a corrupt header claiming more is a corrupt sample, not an allocation.
  constexpr int64_t kMaxPixels = int64_t(1) << 26;
  if (!stbi_info_from_memory(data, int(size), &w, &h, &n)) {
    const char* why = stbi_failure_reason();
    reason = std::string("cannot decode (") + (why ? why : "unknown error") + ")";
    return false;
  }
  if (w <= 0 || h <= 0 || int64_t(w) * h > kMaxPixels) {
    reason = "image header claims " + std::to_string(w) + "x" + std::to_string(h) +
             " pixels, over the cap of " + std::to_string(kMaxPixels) + " (corrupt?)";
    return false;
  }
  uint8_t* pixels = stbi_load_from_memory(data, int(size), &w, &h, &n, channels);
  if (!pixels) {
    const char* why = stbi_failure_reason();
    reason = std::string("cannot decode (") + (why ? why : "unknown error") + ")";
    return false;
  }
  out.width = w;
  out.height = h;
  out.channels = channels;
  out.pixels.assign(pixels, pixels + size_t(w) * h * channels);
  stbi_image_free(pixels);
  return true;
}

bool read_image_file(const std::string& path, int channels, Image8& out, std::string& reason) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    reason = "cannot open for reading";
    return false;
  }
  std::streamoff size = in.tellg();
  if (size < 0) {
    reason = "cannot determine the file size";
    return false;
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    reason = "read error";
    return false;
  }
  return decode_image(bytes.data(), bytes.size(), channels, out, reason);
}

void write_image_file(const std::string& path, const Image8& image, int jpeg_quality) {
  std::string ext = lower_extension(path);
  int ok = 0;
  if (ext == "jpg" || ext == "jpeg") {
    ok = stbi_write_jpg(path.c_str(), image.width, image.height, image.channels,
                        image.pixels.data(), std::clamp(jpeg_quality, 1, 100));
  } else if (ext == "png") {
    ok = stbi_write_png(path.c_str(), image.width, image.height, image.channels,
                        image.pixels.data(), image.width * image.channels);
  } else {
    throw InputError(path + ": expected a .jpg, .jpeg or .png file name");
  }
  if (!ok) throw InputError(path + ": cannot write the image");
}

}  // namespace wp
