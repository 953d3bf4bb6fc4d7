// gzip header/trailer validation and IDX parsing (small files written here, and the real
// Fashion-MNIST files when installed).
#include <filesystem>

#include "data_support.h"
#include "winoprune/data/idx.h"

using namespace wp;
using namespace wp::test;

namespace {

std::vector<uint8_t> sample_bytes(size_t n, uint64_t seed) {
  Rng rng(seed, 3);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = uint8_t(rng.below(7) * 37);  // compressible, not constant
  return v;
}

IdxImages small_images(int count, int rows, int cols) {
  IdxImages im;
  im.count = count;
  im.rows = rows;
  im.cols = cols;
  im.pixels = sample_bytes(size_t(count) * rows * cols, 11);
  return im;
}

}  // namespace

TEST_CASE("crc32 matches the standard check value", "[data][gzip]") {
  const char* s = "123456789";
  REQUIRE(crc32(reinterpret_cast<const uint8_t*>(s), 9) == 0xCBF43926u);
  REQUIRE(crc32(nullptr, 0) == 0u);
}

TEST_CASE("gzip round trip through zlib's deflate and inflate", "[data][gzip]") {
  for (size_t n : {size_t(0), size_t(1), size_t(1000), size_t(300000)}) {
    std::vector<uint8_t> raw = sample_bytes(n, n + 1);
    std::vector<uint8_t> gz = gzip_compress(raw.data(), raw.size());
    REQUIRE(gunzip(gz.data(), gz.size(), "x.gz") == raw);
  }
}

TEST_CASE("gzip optional header fields are skipped and checked", "[data][gzip]") {
  std::vector<uint8_t> raw = sample_bytes(5000, 2);
  std::vector<uint8_t> plain = gzip_compress(raw.data(), raw.size());
  std::vector<uint8_t> body(plain.begin() + 10, plain.end());
  // FEXTRA (4 bytes) + FNAME + FCOMMENT + FHCRC.
  std::vector<uint8_t> gz = {0x1f, 0x8b, 8, 4 | 8 | 16 | 2, 0, 0, 0, 0, 0, 3};
  gz.insert(gz.end(), {4, 0, 'a', 'b', 'c', 'd'});
  for (char c : std::string("file.idx")) gz.push_back(uint8_t(c));
  gz.push_back(0);
  for (char c : std::string("a comment")) gz.push_back(uint8_t(c));
  gz.push_back(0);
  uint32_t hcrc = crc32(gz.data(), gz.size()) & 0xFFFF;
  gz.push_back(uint8_t(hcrc));
  gz.push_back(uint8_t(hcrc >> 8));
  gz.insert(gz.end(), body.begin(), body.end());
  REQUIRE(gunzip(gz.data(), gz.size(), "f.gz") == raw);

  std::vector<uint8_t> bad = gz;
  bad[16] ^= 1;  // a byte of FNAME: covered by the header CRC
  require_input_error([&] { gunzip(bad.data(), bad.size(), "f.gz"); }, {"f.gz", "header crc"});
}

TEST_CASE("gzip errors name the file and the field", "[data][gzip]") {
  std::vector<uint8_t> raw = sample_bytes(20000, 5);
  std::vector<uint8_t> gz = gzip_compress(raw.data(), raw.size());
  auto expect = [&](std::vector<uint8_t> b, const char* field) {
    require_input_error([&] { gunzip(b.data(), b.size(), "t.gz"); }, {"t.gz", field});
  };
  auto with = [&](size_t i, uint8_t v) {
    auto b = gz;
    b[i] = v;
    return b;
  };
  expect(with(0, 0x1e), "magic");
  expect(with(2, 7), "method");
  expect(with(3, 0x20), "flags");
  expect(std::vector<uint8_t>(gz.begin(), gz.begin() + 12), "header");
  auto truncated = std::vector<uint8_t>(gz.begin(), gz.begin() + gz.size() / 2);
  CHECK_THROWS_AS(gunzip(truncated.data(), truncated.size(), "t.gz"), InputError);
  expect(with(gz.size() - 8, uint8_t(gz[gz.size() - 8] ^ 0xFF)), "crc32");
  expect(with(gz.size() - 4, uint8_t(gz[gz.size() - 4] + 1)), "isize");
  expect(with(gz.size() - 1, 0x7F), "isize");  // absurd size: refused before allocating
  // ISIZE one byte short: the stream inflates past it (refused without writing past the buffer).
  {
    auto b = gz;
    uint32_t isize = uint32_t(b[b.size() - 4]) | uint32_t(b[b.size() - 3]) << 8 |
                     uint32_t(b[b.size() - 2]) << 16 | uint32_t(b[b.size() - 1]) << 24;
    --isize;
    for (int i = 0; i < 4; ++i) b[b.size() - 4 + size_t(i)] = uint8_t(isize >> (8 * i));
    expect(b, "isize");
  }
  // Bytes between the end of the deflate stream and the trailer.
  {
    auto b = gz;
    b.insert(b.end() - 8, {1, 2, 3});
    expect(b, "data");
  }
  auto name_unterminated = gz;
  name_unterminated[3] = 8;  // FNAME with no zero byte before the trailer
  for (size_t i = 10; i < name_unterminated.size() - 8; ++i)
    if (name_unterminated[i] == 0) name_unterminated[i] = 1;
  expect(name_unterminated, "file name");
}

TEST_CASE("IDX files parse and every header field is validated", "[data][idx]") {
  TempDir dir("idx");
  IdxImages im = small_images(5, 3, 4);
  IdxLabels lb;
  lb.count = 5;
  lb.labels = {0, 1, 2, 9, 4};
  std::vector<uint8_t> ib = idx_images_bytes(im), lbb = idx_labels_bytes(lb);
  write_bytes(dir / "im.gz", gzip_compress(ib.data(), ib.size()));
  write_bytes(dir / "lb", lbb);  // uncompressed files are read too
  IdxImages im2 = read_idx_images(dir / "im.gz");
  REQUIRE(im2.count == 5);
  REQUIRE(im2.rows == 3);
  REQUIRE(im2.cols == 4);
  REQUIRE(im2.pixels == im.pixels);
  REQUIRE(read_idx_labels(dir / "lb").labels == lb.labels);

  auto expect_images = [&](std::vector<uint8_t> b, const char* field) {
    require_input_error([&] { parse_idx_images(b, "img.idx"); }, {"img.idx", field});
  };
  auto bad = ib;
  bad[3] = 0x01;
  expect_images(bad, "magic");
  bad = ib;
  bad[7] = 6;  // count 6: the payload is one image short
  expect_images(bad, "file size");
  expect_images(std::vector<uint8_t>(ib.begin(), ib.end() - 1), "file size");
  expect_images(std::vector<uint8_t>(ib.begin(), ib.begin() + 10), "header");
  auto longer = ib;
  longer.push_back(0);
  expect_images(longer, "trailing");
  bad = ib;
  bad[11] = 0;  // rows 0
  expect_images(bad, "rows");
  bad = ib;
  bad[15] = 0;
  expect_images(bad, "columns");
  require_input_error([&] { parse_idx_labels(ib, "lab.idx"); }, {"lab.idx", "magic", "0x00000801"});
  bad = lbb;
  bad[7] = 4;
  require_input_error([&] { parse_idx_labels(bad, "lab.idx"); }, {"lab.idx", "file size"});
}

TEST_CASE("Fashion-MNIST dataset from IDX files in a folder", "[data][fmnist]") {
  TempDir dir("fm");
  IdxImages im = small_images(7, 28, 28);
  IdxLabels lb;
  lb.count = 7;
  lb.labels = {0, 1, 2, 3, 4, 5, 9};
  for (const char* split : {"train", "t10k"}) {
    auto ib = idx_images_bytes(im), lbb = idx_labels_bytes(lb);
    write_bytes(dir / (std::string(split) + "-images-idx3-ubyte.gz"),
                gzip_compress(ib.data(), ib.size()));
    write_bytes(dir / (std::string(split) + "-labels-idx1-ubyte.gz"),
                gzip_compress(lbb.data(), lbb.size()));
  }
  DataConfig cfg = parse_data({{"root", dir.path()}, {"mean", {10.0}}, {"std", {2.0}}});
  auto ds = open_dataset(cfg, Split::val);
  REQUIRE(ds->size() == 7);
  REQUIRE(ds->classes() == 10);
  REQUIRE(ds->image_shape() == Shape{1, 28, 28});
  REQUIRE(ds->label(6) == 9);
  REQUIRE(ds->class_names()[9] == "Ankle boot");
  std::vector<float> out(784);
  Rng rng(1);
  REQUIRE(ds->load(3, false, rng, out.data()));
  for (int i = 0; i < 784; ++i) REQUIRE(out[i] == (im.pixels[3 * 784 + i] - 10.0f) / 2.0f);
  DatasetStats st = ds->stats();
  REQUIRE(st.images == 7);
  REQUIRE(st.class_counts[9] == 1);

  // A label file that disagrees on the count names the file and the field.
  IdxLabels lb6 = lb;
  lb6.count = 6;
  lb6.labels.pop_back();
  write_bytes(dir / "t10k-labels-idx1-ubyte.gz", [&] {
    auto b = idx_labels_bytes(lb6);
    return gzip_compress(b.data(), b.size());
  }());
  require_input_error([&] { open_dataset(cfg, Split::val); },
                      {"t10k-labels-idx1-ubyte.gz", "count"});
  // Missing files name the file and the Debian package.
  std::filesystem::remove(dir / "train-images-idx3-ubyte.gz");
  require_input_error([&] { open_dataset(cfg, Split::train); },
                      {"train-images-idx3-ubyte.gz", "dataset-fashion-mnist"});
}

TEST_CASE("the installed Fashion-MNIST files parse", "[data][fmnist]") {
  if (!std::filesystem::exists(std::string(kFashionMnistDefaultRoot) +
                               "/t10k-images-idx3-ubyte.gz")) {
    WARN("SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  DataConfig cfg = parse_data(json::object());
  auto val = open_dataset(cfg, Split::val);
  REQUIRE(val->size() == 10000);
  DatasetStats st = val->stats();
  for (int64_t c : st.class_counts) REQUIRE(c == 1000);
  auto train = open_dataset(cfg, Split::train);
  REQUIRE(train->size() == 60000);
  // Sample normalization statistics close to the configured mean/std (72.94 / 90.02).
  double sum = 0, sq = 0;
  std::vector<float> out(784);
  Rng rng(1);
  const int n = 2000;
  for (int i = 0; i < n; ++i) {
    REQUIRE(train->load(i * 30, false, rng, out.data()));
    for (float v : out) {
      sum += v;
      sq += double(v) * v;
    }
  }
  const double mean = sum / (784.0 * n), var = sq / (784.0 * n) - mean * mean;
  CHECK(std::fabs(mean) < 0.03);
  CHECK(std::fabs(std::sqrt(var) - 1.0) < 0.03);
}
