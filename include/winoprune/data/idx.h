#pragma once
// gzip (RFC 1952) and IDX files, the format of (Fashion-)MNIST.
// IDX: a big-endian uint32 magic 0x000008DD (0x08: unsigned bytes, DD: number of dimensions), one
// big-endian uint32 per dimension, then the bytes: images 0x00000803 [count][rows][cols], labels
// 0x00000801 [count].
#include <cstdint>
#include <string>
#include <vector>

namespace wp {

// Reads a whole file; InputError naming it when it cannot be read.
std::vector<uint8_t> read_file_bytes(const std::string& path);

// Inflates a gzip member with zlib (raw inflate). Validates the header (magic 1f 8b, method 8 = deflate,
// reserved flags 0, optional FEXTRA / FNAME / FCOMMENT / FHCRC fields inside the file), the
// trailer's CRC-32 and ISIZE. Errors are InputError "<name>: gzip <field>: ...".
std::vector<uint8_t> gunzip(const uint8_t* data, size_t size, const std::string& name);
// The reverse, via zlib's deflate (for tests and tools): FNAME-less, mtime 0.
std::vector<uint8_t> gzip_compress(const uint8_t* data, size_t size);
uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc = 0);

struct IdxImages {
  int64_t count = 0;
  int rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // [count][rows][cols]
};
struct IdxLabels {
  int64_t count = 0;
  std::vector<uint8_t> labels;  // [count]
};

// Parse decompressed IDX bytes; `name` (the file) prefixes errors, which name the field:
// "<name>: magic: expected 0x00000803 ..., got ...", "<name>: file size: ...".
IdxImages parse_idx_images(const std::vector<uint8_t>& bytes, const std::string& name);
IdxLabels parse_idx_labels(const std::vector<uint8_t>& bytes, const std::string& name);
// Reads path (gunzipped when it ends in .gz) and parses it.
IdxImages read_idx_images(const std::string& path);
IdxLabels read_idx_labels(const std::string& path);
// Serializes (for tests and tools).
std::vector<uint8_t> idx_images_bytes(const IdxImages& images);
std::vector<uint8_t> idx_labels_bytes(const IdxLabels& labels);

// The Fashion-MNIST file of a split in `root`: "<root>/<prefix>-images-idx3-ubyte.gz", prefix
// train or t10k; the uncompressed name is accepted too. A missing file is an InputError naming
// it and the Debian package dataset-fashion-mnist.
std::string fashion_mnist_file(const std::string& root, bool train, bool images);
extern const char* const kFashionMnistClassNames[10];

}  // namespace wp
