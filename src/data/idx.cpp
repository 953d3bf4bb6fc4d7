// IDX files (LeCun's MNIST format, also Fashion-MNIST's): big-endian header, then raw bytes.
#include <cstdio>
#include <filesystem>

#include "winoprune/data/dataset.h"
#include "winoprune/data/idx.h"
#include "winoprune/error.h"

namespace wp {

const char* const kFashionMnistClassNames[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                                 "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                                 "Bag",         "Ankle boot"};

namespace {

constexpr uint32_t kMagicImages = 0x00000803;  // unsigned byte, 3 dimensions
constexpr uint32_t kMagicLabels = 0x00000801;  // unsigned byte, 1 dimension

uint32_t read_be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(uint8_t(v >> (8 * i)));
}

std::string hex8(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

[[noreturn]] void idx_fail(const std::string& name, const std::string& field,
                           const std::string& message) {
  throw InputError(name + ": " + field + ": " + message);
}

// Checks size >= header, the magic, and returns the dimensions.
std::vector<uint32_t> idx_header(const std::vector<uint8_t>& bytes, const std::string& name,
                                 uint32_t magic, const char* what) {
  size_t ndim = magic & 0xFF;
  size_t header = 4 + 4 * ndim;
  if (bytes.size() < 4)
    idx_fail(name, "magic", "file too short (" + std::to_string(bytes.size()) + " bytes)");
  uint32_t got = read_be32(bytes.data());
  if (got != magic)
    idx_fail(name, "magic", "expected " + hex8(magic) + " (IDX " + what + "), got " + hex8(got));
  if (bytes.size() < header)
    idx_fail(name, "header", "expected " + std::to_string(header) + " bytes, the file has " +
                                 std::to_string(bytes.size()));
  std::vector<uint32_t> dims(ndim);
  for (size_t i = 0; i < ndim; ++i) dims[i] = read_be32(bytes.data() + 4 + 4 * i);
  return dims;
}

void check_size(const std::vector<uint8_t>& bytes, const std::string& name, size_t header,
                uint64_t payload, const std::string& dims_text) {
  uint64_t want = header + payload;
  if (bytes.size() != want)
    idx_fail(name, "file size",
             "expected " + std::to_string(want) + " bytes (" + std::to_string(header) +
                 "-byte header + " + dims_text + "), got " + std::to_string(bytes.size()) +
                 (bytes.size() < want ? " (truncated)" : " (trailing bytes)"));
}

std::vector<uint8_t> read_maybe_gz(const std::string& path) {
  std::vector<uint8_t> bytes = read_file_bytes(path);
  if (path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0)
    return gunzip(bytes.data(), bytes.size(), path);
  return bytes;
}

}  // namespace

IdxImages parse_idx_images(const std::vector<uint8_t>& bytes, const std::string& name) {
  std::vector<uint32_t> dims = idx_header(bytes, name, kMagicImages, "images, unsigned byte");
  if (dims[1] == 0) idx_fail(name, "rows", "expected > 0, got 0");
  if (dims[2] == 0) idx_fail(name, "columns", "expected > 0, got 0");
  if (dims[1] > 65536) idx_fail(name, "rows", "expected <= 65536, got " + std::to_string(dims[1]));
  if (dims[2] > 65536)
    idx_fail(name, "columns", "expected <= 65536, got " + std::to_string(dims[2]));
  uint64_t payload = uint64_t(dims[0]) * dims[1] * dims[2];
  check_size(bytes, name, 16, payload,
             "count " + std::to_string(dims[0]) + " x rows " + std::to_string(dims[1]) +
                 " x columns " + std::to_string(dims[2]));
  IdxImages out;
  out.count = dims[0];
  out.rows = int(dims[1]);
  out.cols = int(dims[2]);
  out.pixels.assign(bytes.begin() + 16, bytes.end());
  return out;
}

IdxLabels parse_idx_labels(const std::vector<uint8_t>& bytes, const std::string& name) {
  std::vector<uint32_t> dims = idx_header(bytes, name, kMagicLabels, "labels, unsigned byte");
  check_size(bytes, name, 8, dims[0], "count " + std::to_string(dims[0]));
  IdxLabels out;
  out.count = dims[0];
  out.labels.assign(bytes.begin() + 8, bytes.end());
  return out;
}

IdxImages read_idx_images(const std::string& path) {
  return parse_idx_images(read_maybe_gz(path), path);
}

IdxLabels read_idx_labels(const std::string& path) {
  return parse_idx_labels(read_maybe_gz(path), path);
}

std::vector<uint8_t> idx_images_bytes(const IdxImages& images) {
  std::vector<uint8_t> out;
  put_be32(out, kMagicImages);
  put_be32(out, uint32_t(images.count));
  put_be32(out, uint32_t(images.rows));
  put_be32(out, uint32_t(images.cols));
  out.insert(out.end(), images.pixels.begin(), images.pixels.end());
  return out;
}

std::vector<uint8_t> idx_labels_bytes(const IdxLabels& labels) {
  std::vector<uint8_t> out;
  put_be32(out, kMagicLabels);
  put_be32(out, uint32_t(labels.count));
  out.insert(out.end(), labels.labels.begin(), labels.labels.end());
  return out;
}

std::string fashion_mnist_file(const std::string& root, bool train, bool images) {
  namespace fs = std::filesystem;
  std::string base = std::string(train ? "train" : "t10k") +
                     (images ? "-images-idx3-ubyte" : "-labels-idx1-ubyte");
  fs::path gz = fs::path(root) / (base + ".gz");
  fs::path raw = fs::path(root) / base;
  std::error_code ec;
  if (fs::is_regular_file(gz, ec)) return gz.string();
  if (fs::is_regular_file(raw, ec)) return raw.string();
  throw InputError(gz.string() + ": Fashion-MNIST file not found (the Debian package "
                   "dataset-fashion-mnist provides it in " +
                   std::string(kFashionMnistDefaultRoot) +
                   ": apt-get install dataset-fashion-mnist)");
}

}  // namespace wp
