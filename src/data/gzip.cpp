// gzip (RFC 1952) around stb_image's raw-deflate inflater, and CRC-32 (ISO 3309, the
// polynomial 0xEDB88320 reflected), which the gzip trailer carries.
//
// Member layout: ID1 ID2 CM FLG MTIME(4) XFL OS, then [FEXTRA: XLEN(2) + XLEN bytes]
// [FNAME: zero-terminated] [FCOMMENT: zero-terminated] [FHCRC: 2 bytes], the deflate stream,
// then CRC32(4) ISIZE(4) (little-endian; ISIZE = uncompressed size mod 2^32).
#include <stb_image.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>

#include "winoprune/data/idx.h"
#include "winoprune/error.h"

// Defined by stb_image_write's implementation (stb_impl.cpp) but not declared by its header.
extern "C" unsigned char* stbi_zlib_compress(unsigned char* data, int data_len, int* out_len,
                                             int quality);

namespace wp {

namespace {

constexpr uint8_t kFlagText = 1, kFlagHeaderCrc = 2, kFlagExtra = 4, kFlagName = 8,
                  kFlagComment = 16, kFlagReserved = 0xE0;

uint32_t read_le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

void put_le32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(uint8_t(v >> (8 * i)));
}

std::string hex8(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

[[noreturn]] void gzip_fail(const std::string& name, const std::string& field,
                            const std::string& message) {
  throw InputError(name + ": gzip " + field + ": " + message);
}

}  // namespace

uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc) {
  static uint32_t table[256];
  static bool ready = [] {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    return true;
  }();
  (void)ready;
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw InputError(path + ": cannot open for reading");
  std::streamoff size = in.tellg();
  if (size < 0) throw InputError(path + ": cannot determine the file size");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    throw InputError(path + ": read error");
  return bytes;
}

std::vector<uint8_t> gunzip(const uint8_t* data, size_t size, const std::string& name) {
  // 10-byte header + 8-byte trailer at least.
  if (size < 18)
    gzip_fail(name, "header", "expected at least 18 bytes, the file has " + std::to_string(size));
  if (data[0] != 0x1f || data[1] != 0x8b)
    gzip_fail(name, "magic", "expected 1f 8b, got " + hex8(uint32_t(data[0]) << 8 | data[1]) +
                                 " (not a gzip file)");
  if (data[2] != 8)
    gzip_fail(name, "method", "expected 8 (deflate), got " + std::to_string(data[2]));
  uint8_t flags = data[3];
  if (flags & kFlagReserved)
    gzip_fail(name, "flags", "reserved bits set (" + hex8(flags) + ")");
  (void)kFlagText;
  size_t pos = 10;
  size_t end = size - 8;  // the trailer
  if (flags & kFlagExtra) {
    if (pos + 2 > end) gzip_fail(name, "extra field", "truncated");
    size_t xlen = size_t(data[pos]) | size_t(data[pos + 1]) << 8;
    pos += 2 + xlen;
    if (pos > end) gzip_fail(name, "extra field", "length " + std::to_string(xlen) +
                                                      " runs past the end of the file");
  }
  for (uint8_t flag : {kFlagName, kFlagComment}) {
    if (!(flags & flag)) continue;
    const void* zero = std::memchr(data + pos, 0, end - pos);
    if (!zero)
      gzip_fail(name, flag == kFlagName ? "file name" : "comment", "not zero-terminated");
    pos = static_cast<const uint8_t*>(zero) - data + 1;
  }
  if (flags & kFlagHeaderCrc) {
    if (pos + 2 > end) gzip_fail(name, "header crc", "truncated");
    uint32_t expect = crc32(data, pos) & 0xFFFF;
    uint32_t got = uint32_t(data[pos]) | uint32_t(data[pos + 1]) << 8;
    if (expect != got)
      gzip_fail(name, "header crc", "expected " + hex8(expect) + ", got " + hex8(got));
    pos += 2;
  }
  uint32_t want_crc = read_le32(data + end);
  uint32_t isize = read_le32(data + end + 4);
  // Deflate expands at most 1032:1; a larger ISIZE is a corrupt trailer (or a member > 4 GB,
  // which stb's int sizes cannot hold anyway).
  size_t compressed = end - pos;
  if (double(isize) > 1032.0 * double(compressed) + 1024 ||
      isize > uint32_t(std::numeric_limits<int>::max()))
    gzip_fail(name, "isize", std::to_string(isize) + " bytes is impossible from " +
                                 std::to_string(compressed) + " compressed bytes");
  if (compressed > size_t(std::numeric_limits<int>::max()))
    gzip_fail(name, "size", "members over 2 GB are not supported");
  std::vector<uint8_t> out(isize);
  // stb needs room for at least one byte; an empty member decodes to 0 bytes.
  std::vector<uint8_t> scratch(out.empty() ? 1 : 0);
  char* dst = reinterpret_cast<char*>(out.empty() ? scratch.data() : out.data());
  // The input handed to stb includes the 8-byte trailer: stb_image 2.27's Huffman decoder fails
  // ("bad huffman code") when fewer than 16 bits remain even if they hold the last codes, and
  // PNG streams always have 4 bytes (Adler-32) after the deflate data. stb stops at the final
  // block's end code, so the trailer is never decoded as data.
  int got = stbi_zlib_decode_noheader_buffer(dst, int(std::max<size_t>(out.size(), 1)),
                                             reinterpret_cast<const char*>(data + pos),
                                             int(compressed + 8));
  if (got < 0)
    gzip_fail(name, "data", "corrupt or truncated deflate stream (" +
                                std::string(stbi_failure_reason() ? stbi_failure_reason() : "?") +
                                ")");
  if (uint32_t(got) != isize)
    gzip_fail(name, "isize", "trailer says " + std::to_string(isize) + " bytes, inflated " +
                                 std::to_string(got));
  uint32_t crc = crc32(out.data(), out.size());
  if (crc != want_crc)
    gzip_fail(name, "crc32", "expected " + hex8(want_crc) + ", computed " + hex8(crc));
  return out;
}

std::vector<uint8_t> gzip_compress(const uint8_t* data, size_t size) {
  if (size > size_t(std::numeric_limits<int>::max()))
    throw InputError("gzip_compress: input over 2 GB");
  if (size == 0) {
    // stb_image_write emits no deflate block at all for empty input; write the empty final
    // block with fixed codes (BFINAL 1, BTYPE 01, end-of-block 0000000): bytes 03 00.
    return {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255, 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0};
  }
  int zlen = 0;
  unsigned char* z =
      stbi_zlib_compress(const_cast<unsigned char*>(data), int(size), &zlen, 8);
  if (!z || zlen < 6) throw std::runtime_error("gzip_compress: deflate failed");
  // zlib stream = 2-byte header, raw deflate, 4-byte Adler-32: keep the raw deflate.
  // Header: magic, deflate, no flags, mtime 0, xfl 0, OS 255 (unknown).
  static const uint8_t header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255};
  std::vector<uint8_t> out(size_t(zlen) + 12);
  std::copy(header, header + 10, out.begin());
  std::copy(z + 2, z + zlen - 4, out.begin() + 10);
  out.resize(size_t(zlen) + 4);  // 10 + (zlen - 6) deflate bytes
  std::free(z);
  put_le32(out, crc32(data, size));
  put_le32(out, uint32_t(size));
  return out;
}

}  // namespace wp
