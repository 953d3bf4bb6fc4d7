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

// Where a JPEG's SOI marker ends (0 if the data does not start with one). stb_image reads a
// marker as FF, any number of FF fill bytes, then the code, so FF FF D8 is an SOI to it too
// (fuzzing found a file of that shape slipping past a check that wanted FF D8 at offset 0).
size_t jpeg_soi_end(const uint8_t* data, size_t size) {
  if (size < 2 || data[0] != 0xFF) return 0;
  size_t i = 1;
  while (i < size && data[i] == 0xFF) ++i;
  return i < size && data[i] == 0xD8 ? i + 1 : 0;
}

// A JPEG ends with the EOI marker FF D9, possibly followed by padding or trailers. The
// entropy-coded data cannot contain FF D9 (0xFF bytes are stuffed as FF 00), so a file with no
// FF D9 after its SOI was cut short.
bool has_end_marker(const uint8_t* data, size_t size) {
  for (size_t i = size; i-- > 3;)
    if (data[i] == 0xD9 && data[i - 1] == 0xFF) return true;
  return false;
}

// The marker segments of a JPEG, checked before stb_image sees them. Debian's stb_image (2.27)
// trusts two header fields that a corrupt file controls:
//   - DHT: the 16 code counts of a Huffman table may sum past 256, and stbi__build_huffman then
//     writes past its 257-entry size table (a 25-byte file overflows the heap);
//   - SOF: the frame's component count and sizes are read before they are range-checked.
// So every segment is walked (lengths within the file), each DHT table's counts must sum to at
// most 256 with its values inside the segment, and each SOF must have a non-zero size and 1..4
// components that fit its length. Entropy-coded data after an SOS is skipped to the next marker
// (progressive files define tables between scans). The walk is a few microseconds per file:
// only headers are parsed, and entropy data is skipped with memchr.
bool jpeg_segments_ok(const uint8_t* data, size_t size, size_t start, std::string& reason) {
  auto fail = [&](const std::string& why) {
    reason = "corrupt JPEG (" + why + ")";
    return false;
  };
  size_t i = start;   // after SOI
  while (i + 1 < size) {
    if (data[i] != 0xFF) {   // padding between segments: stb_image scans past it, so do we
      const void* ff = std::memchr(data + i, 0xFF, size - i);
      if (!ff) break;
      i = size_t(static_cast<const uint8_t*>(ff) - data);
      continue;
    }
    uint8_t m = data[i + 1];
    if (m == 0xFF) {   // fill byte
      ++i;
      continue;
    }
    i += 2;
    if (m == 0xD9) return true;                         // EOI
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) continue;  // TEM, RSTn, SOI: no length
    if (i + 2 > size) return fail("segment length past the end");
    const size_t len = size_t(data[i]) << 8 | data[i + 1];
    if (len < 2 || i + len > size) return fail("segment length " + std::to_string(len));
    const uint8_t* seg = data + i + 2;
    const size_t n = len - 2;
    if (m == 0xC4) {   // DHT: one or more tables
      size_t p = 0;
      while (p < n) {
        if (p + 17 > n) return fail("DHT table header cut short");
        size_t total = 0;
        for (int k = 1; k <= 16; ++k) total += seg[p + size_t(k)];
        if (total > 256) return fail("DHT code counts sum to " + std::to_string(total) + " > 256");
        p += 17 + total;
        if (p > n) return fail("DHT values past the segment");
      }
    } else if ((m >= 0xC0 && m <= 0xCF) && m != 0xC4 && m != 0xC8 && m != 0xCC) {   // SOFn
      if (n < 6) return fail("SOF segment too short");
      const int height = seg[1] << 8 | seg[2], width = seg[3] << 8 | seg[4], comps = seg[5];
      if (width == 0) return fail("SOF width 0");
      if (height == 0) return fail("SOF height 0 (DNL is not supported)");
      if (comps < 1 || comps > 4) return fail("SOF with " + std::to_string(comps) + " components");
      if (n != 6 + size_t(comps) * 3) return fail("SOF length does not match its components");
    }
    i += len;
    if (m == 0xDA) {   // SOS: entropy-coded data up to the next marker other than FF00 / RSTn
      while (true) {
        const void* ff = std::memchr(data + i, 0xFF, size - i);
        if (!ff) return fail("no end-of-image marker");
        i = size_t(static_cast<const uint8_t*>(ff) - data);
        if (i + 1 >= size) return fail("no end-of-image marker");
        uint8_t next = data[i + 1];
        if (next == 0x00 || (next >= 0xD0 && next <= 0xD7) || next == 0xFF) {
          i += 1;
          if (next != 0xFF) i += 1;
          continue;
        }
        break;
      }
    }
  }
  return fail("no end-of-image marker");
}

// PNG chunks, checked before stb_image sees them: stb grows its IDAT buffer to a chunk's
// declared length before reading it, so a 100-byte file declaring a 2 GB IDAT made it allocate
// 2 GB (fuzzing, libFuzzer's out-of-memory). Every chunk up to IEND must lie inside the file.
bool png_chunks_ok(const uint8_t* data, size_t size, std::string& reason) {
  size_t i = 8;   // after the signature
  while (i + 8 <= size) {
    const uint64_t length = uint64_t(data[i]) << 24 | uint64_t(data[i + 1]) << 16 |
                            uint64_t(data[i + 2]) << 8 | data[i + 3];
    const bool iend = std::memcmp(data + i + 4, "IEND", 4) == 0;
    if (i + 12 + length > size) {
      reason = "corrupt PNG (chunk of " + std::to_string(length) + " bytes at byte " +
               std::to_string(i) + " runs past the end of the file)";
      return false;
    }
    if (iend) return true;
    i += 12 + size_t(length);
  }
  return true;   // no IEND: stb_image decides (it refuses what it cannot read)
}

bool is_png(const uint8_t* data, size_t size) {
  static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  return size >= 8 && std::memcmp(data, signature, 8) == 0;
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
  if (const size_t soi_end = jpeg_soi_end(data, size)) {
    if (!has_end_marker(data, size)) {
      reason = "truncated JPEG (no end-of-image marker)";
      return false;
    }
    if (!jpeg_segments_ok(data, size, soi_end, reason)) return false;
  }
  if (is_png(data, size) && !png_chunks_ok(data, size, reason)) return false;
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
