// Fuzz harness: Fashion-MNIST's files as the dataset reads them: gzip (header fields, deflate
// stream, CRC-32 and size trailer), then IDX images and labels. The first byte chooses whether
// the rest is gunzipped first (odd) or parsed as raw IDX (even), so both layers get inputs of
// their own shape.
#include "harness.h"
#include "winoprune/data/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool gzipped = data[0] & 1;
  return wp::fuzz::run_one([&] {
    std::vector<uint8_t> bytes = gzipped ? wp::gunzip(data + 1, size - 1, "fuzz.gz")
                                         : std::vector<uint8_t>(data + 1, data + size);
    try {
      (void)wp::parse_idx_images(bytes, "fuzz-images-idx3-ubyte");
    } catch (const wp::InputError&) {
    }
    (void)wp::parse_idx_labels(bytes, "fuzz-labels-idx1-ubyte");
  });
}
