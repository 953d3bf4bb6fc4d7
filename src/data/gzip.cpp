// gzip (RFC 1952) with zlib: the header is parsed and checked here (so that errors name the
// field), the deflate stream is inflated by zlib's raw inflater, and the trailer's CRC-32
// (zlib's crc32) and ISIZE are checked against what came out.
//
// Member layout: ID1 ID2 CM FLG MTIME(4) XFL OS, then [FEXTRA: XLEN(2) + XLEN bytes]
// [FNAME: zero-terminated] [FCOMMENT: zero-terminated] [FHCRC: 2 bytes], the deflate stream,
// then CRC32(4) ISIZE(4) (little-endian; ISIZE = uncompressed size mod 2^32).
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>

#include "winoprune/data/idx.h"
#include "winoprune/error.h"

namespace wp {

namespace {

constexpr uint8_t kFlagText = 1, kFlagHeaderCrc = 2, kFlagExtra = 4, kFlagName = 8,
                  kFlagComment = 16, kFlagReserved = 0xE0;

uint32_t read_le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
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
  // zlib's crc32 takes uInt lengths: feed 1 GB at a time.
  uLong c = crc;
  while (size > 0) {
    const uInt n = uInt(std::min<size_t>(size, size_t(1) << 30));
    c = ::crc32(c, data, n);
    data += n;
    size -= n;
  }
  return uint32_t(c);
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
  // Deflate expands at most 1032:1; a larger ISIZE is a corrupt trailer (or a member over 2 GB,
  // which this reader does not take: the largest IDX file is 47 MB).
  size_t compressed = end - pos;
  if (double(isize) > 1032.0 * double(compressed) + 1024 ||
      isize > uint32_t(std::numeric_limits<int>::max()))
    gzip_fail(name, "isize", std::to_string(isize) + " bytes is impossible from " +
                                 std::to_string(compressed) + " compressed bytes");
  std::vector<uint8_t> out(isize);
  // Raw deflate (no zlib header): windowBits -15. The stream must end exactly at the trailer and
  // inflate to exactly ISIZE bytes.
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) throw std::runtime_error(name + ": zlib inflateInit2 failed");
  uint8_t spare = 0;   // room to detect output beyond ISIZE
  z.next_in = const_cast<Bytef*>(data + pos);
  size_t in_left = compressed;
  size_t produced = 0;
  int rc = Z_OK;
  while (rc == Z_OK) {
    const uInt in_chunk = uInt(std::min<size_t>(in_left, size_t(1) << 30));
    z.avail_in = in_chunk;
    const bool full = produced >= out.size();
    z.next_out = full ? &spare : out.data() + produced;
    z.avail_out = full ? 1 : uInt(std::min<size_t>(out.size() - produced, size_t(1) << 30));
    const uInt out_chunk = z.avail_out;
    rc = inflate(&z, Z_NO_FLUSH);
    in_left -= in_chunk - z.avail_in;
    produced += out_chunk - z.avail_out;
    if (produced > out.size()) break;                        // more than ISIZE
  }
  const std::string why = z.msg ? z.msg : "";
  inflateEnd(&z);
  if (produced > out.size())
    gzip_fail(name, "isize", "trailer says " + std::to_string(isize) +
                                 " bytes, the stream inflates to more");
  if (rc != Z_STREAM_END)
    gzip_fail(name, "data", "corrupt or truncated deflate stream (" +
                                (why.empty() ? "ends early" : why) + ")");
  if (in_left != 0)
    gzip_fail(name, "data", std::to_string(in_left) +
                                " bytes between the end of the deflate stream and the trailer");
  if (produced != isize)
    gzip_fail(name, "isize", "trailer says " + std::to_string(isize) + " bytes, inflated " +
                                 std::to_string(produced));
  uint32_t crc = crc32(out.data(), out.size());
  if (crc != want_crc)
    gzip_fail(name, "crc32", "expected " + hex8(want_crc) + ", computed " + hex8(crc));
  return out;
}

std::vector<uint8_t> gzip_compress(const uint8_t* data, size_t size) {
  if (size > size_t(std::numeric_limits<uInt>::max()))
    throw InputError("gzip_compress: input over 4 GB");
  // windowBits 15 + 16: zlib writes the gzip header (no name, mtime 0) and trailer itself.
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("gzip_compress: zlib deflateInit2 failed");
  std::vector<uint8_t> out(deflateBound(&z, uLong(size)) + 32);
  z.next_in = const_cast<Bytef*>(data);
  z.avail_in = uInt(size);
  z.next_out = out.data();
  z.avail_out = uInt(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip_compress: deflate failed");
  return out;
}

}  // namespace wp
