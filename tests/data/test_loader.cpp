// BatchLoader: determinism across worker counts, resume, drop_last, corrupt samples, errors;
// Fashion-MNIST augmentation.
#include <cstring>
#include <filesystem>

#include "data_support.h"
#include "winoprune/data/idx.h"
#include "winoprune/data/loader.h"
#include "winoprune/data/tools.h"

using namespace wp;
using namespace wp::test;

namespace {

// Sample i: [C=2, 3, 1] = {i, label, rng draw, ...}: records what the loader asked for.
class FakeDataset final : public Dataset {
 public:
  FakeDataset(int64_t n, std::vector<int64_t> corrupt = {}, bool strict = false)
      : Dataset(config(strict), Split::train, [](const std::string&) {}),
        n_(n), corrupt_(std::move(corrupt)) {
    names_ = {"a", "b", "c"};
  }
  int64_t size() const override { return n_; }
  int classes() const override { return 3; }
  Shape image_shape() const override { return {2, 3, 1}; }
  const std::vector<std::string>& class_names() const override { return names_; }
  int32_t label(int64_t i) const override { return int32_t(i % 3); }
  std::string sample_name(int64_t i) const override { return "s" + std::to_string(i); }
  bool load(int64_t i, bool augment, Rng& rng, float* out) const override {
    for (int64_t c : corrupt_)
      if (c == i) {
        corrupt_sample(i, sample_name(i), "bad");
        return false;
      }
    out[0] = float(i);
    out[1] = float(label(i));
    for (int k = 2; k < 6; ++k) out[k] = augment ? rng.uniform() : 0.0f;
    return true;
  }

 private:
  static DataConfig config(bool strict) {
    DataConfig c;
    c.on_corrupt = strict ? "error" : "skip";
    return c;
  }
  int64_t n_;
  std::vector<int64_t> corrupt_;
  std::vector<std::string> names_;
};

std::vector<Batch> all_batches(const Dataset& ds, const LoaderOptions& o) {
  BatchLoader loader(ds, o);
  std::vector<Batch> out;
  Batch b;
  while (loader.next(b)) out.push_back(b);
  return out;
}

void require_same(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].index == b[i].index);
    REQUIRE(a[i].epoch == b[i].epoch);
    REQUIRE(a[i].labels == b[i].labels);
    REQUIRE(a[i].indices == b[i].indices);
    REQUIRE(a[i].images.shape() == b[i].images.shape());
    REQUIRE(std::memcmp(a[i].images.data(), b[i].images.data(),
                        size_t(a[i].images.numel()) * sizeof(float)) == 0);
  }
}

}  // namespace

TEST_CASE("epoch order is a permutation fixed by (seed, epoch)", "[data][loader]") {
  auto a = epoch_order(1000, true, 7, 3);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) REQUIRE(sorted[size_t(i)] == i);
  REQUIRE(a == epoch_order(1000, true, 7, 3));
  REQUIRE(a != epoch_order(1000, true, 7, 4));
  REQUIRE(a != epoch_order(1000, true, 8, 3));
  REQUIRE(epoch_order(5, false, 7, 3) == std::vector<int64_t>{0, 1, 2, 3, 4});
}

TEST_CASE("same seed gives the same batches for any worker count and prefetch",
          "[data][loader]") {
  FakeDataset ds(103);
  LoaderOptions o;
  o.batch = 10;
  o.shuffle = true;
  o.augment = true;
  o.seed = 42;
  o.epoch = 2;
  o.workers = 0;
  auto ref = all_batches(ds, o);
  REQUIRE(ref.size() == 11);  // 10 full + 3 left
  REQUIRE(ref.back().size() == 3);
  for (int workers : {1, 2, 3})
    for (int prefetch : {1, 4}) {
      o.workers = workers;
      o.prefetch = prefetch;
      INFO("workers " << workers << " prefetch " << prefetch);
      require_same(all_batches(ds, o), ref);
    }
  // Each sample's augmentation stream depends on (seed, epoch, index) only.
  const Batch& b = ref[4];
  Rng rng = sample_rng(42, 2, b.indices[1]);
  REQUIRE(b.images[1 * 6 + 2] == rng.uniform());
  REQUIRE(b.images[1 * 6 + 0] == float(b.indices[1]));
  REQUIRE(b.labels[1] == int32_t(b.indices[1] % 3));
}

TEST_CASE("a loader resumed at batch k continues the uninterrupted sequence", "[data][loader]") {
  FakeDataset ds(64);
  LoaderOptions o;
  o.batch = 6;
  o.shuffle = true;
  o.augment = true;
  o.drop_last = true;
  o.seed = 9;
  o.epoch = 1;
  auto full = all_batches(ds, o);
  REQUIRE(full.size() == 10);  // 64 / 6, last partial dropped
  for (int64_t k : {0, 1, 7, 10}) {
    o.start_batch = k;
    auto rest = all_batches(ds, o);
    require_same(rest, std::vector<Batch>(full.begin() + k, full.end()));
  }
  o.start_batch = 11;
  REQUIRE_THROWS_AS(BatchLoader(ds, o), InputError);
}

TEST_CASE("evaluation order keeps every sample, in order", "[data][loader]") {
  FakeDataset ds(25);
  DataConfig cfg;
  cfg.batch = 8;
  cfg.val.batch = 10;
  LoaderOptions o = eval_loader_options(cfg);
  auto batches = all_batches(ds, o);
  REQUIRE(batches.size() == 3);
  int64_t next = 0;
  for (const Batch& b : batches)
    for (int64_t i : b.indices) REQUIRE(i == next++);
  REQUIRE(next == 25);
  REQUIRE(batches[0].images[2] == 0.0f);  // no augmentation
  LoaderOptions t = train_loader_options(cfg, 1, 0);
  REQUIRE((t.shuffle && t.augment && t.drop_last && t.batch == 8));
  REQUIRE(BatchLoader(ds, t).batches_per_epoch() == 3);
}

TEST_CASE("corrupt samples leave their batch, on_corrupt error reaches next()",
          "[data][loader]") {
  FakeDataset ds(20, {3, 4, 5, 6, 17});
  LoaderOptions o;
  o.batch = 4;
  o.workers = 2;
  auto batches = all_batches(ds, o);
  // Batch 1 (samples 4..7) keeps only 7; batch 0 loses 3.
  REQUIRE(batches.size() == 5);
  REQUIRE(batches[0].indices == std::vector<int64_t>{0, 1, 2});
  REQUIRE(batches[1].indices == std::vector<int64_t>{7});
  REQUIRE(batches[1].images.shape() == Shape{1, 2, 3, 1});
  REQUIRE(batches[1].images[0] == 7.0f);
  REQUIRE(ds.stats().corrupt == 5);
  // A batch made only of corrupt samples is not returned.
  FakeDataset holes(8, {4, 5, 6, 7});
  REQUIRE(all_batches(holes, o).size() == 1);

  FakeDataset strict(20, {9}, true);
  for (int workers : {0, 2}) {
    o.workers = workers;
    BatchLoader loader(strict, o);
    Batch b;
    REQUIRE(loader.next(b));
    REQUIRE(loader.next(b));
    require_input_error([&] { loader.next(b); }, {"s9", "on_corrupt"});
  }
}

TEST_CASE("a loader destroyed mid-epoch stops its threads", "[data][loader]") {
  FakeDataset ds(10000);
  LoaderOptions o;
  o.batch = 7;
  o.workers = 2;
  o.prefetch = 2;
  for (int i = 0; i < 3; ++i) {
    BatchLoader loader(ds, o);
    Batch b;
    REQUIRE(loader.next(b));
  }
}

TEST_CASE("image folder batches do not depend on the worker count", "[data][loader]") {
  TempDir dir("loadtree");
  SyntheticTreeOptions t;
  t.classes = 3;
  t.train_per_class = 5;
  t.val_per_class = 1;
  make_synthetic_imagenet(dir / "t", t);
  DataConfig cfg = parse_data({{"dataset", "imagefolder"}, {"root", dir / "t"}, {"resize", 36},
                               {"crop", 30}, {"batch", 4}});
  auto ds = open_dataset(cfg, Split::train);
  LoaderOptions o = train_loader_options(cfg, 5, 3);
  o.workers = 0;
  auto ref = all_batches(*ds, o);
  REQUIRE(ref.size() == 3);
  o.workers = 2;
  require_same(all_batches(*ds, o), ref);
}

TEST_CASE("Fashion-MNIST augmentation: zero-padded random crop and mirror", "[data][fmnist]") {
  TempDir dir("fmaug");
  IdxImages im;
  im.count = 2;
  im.rows = im.cols = 28;
  im.pixels.resize(2 * 784);
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = uint8_t(1 + i % 250);
  IdxLabels lb;
  lb.count = 2;
  lb.labels = {3, 4};
  for (const char* s : {"train", "t10k"}) {
    write_bytes(dir / (std::string(s) + "-images-idx3-ubyte"), idx_images_bytes(im));
    write_bytes(dir / (std::string(s) + "-labels-idx1-ubyte"), idx_labels_bytes(lb));
  }
  DataConfig cfg = parse_data({{"root", dir.path()}, {"mean", {0}}, {"std", {1}},
                               {"augment", {{"pad", 2}, {"mirror", true}}}});
  auto ds = open_dataset(cfg, Split::train);
  std::vector<float> out(784);
  int shifted = 0, mirrored = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    Rng rng(seed), replay(seed);
    REQUIRE(ds->load(1, true, rng, out.data()));
    const int dx = int(replay.below(5)) - 2, dy = int(replay.below(5)) - 2;
    const bool mirror = replay.below(2) == 1;
    shifted += dx != 0 || dy != 0;
    mirrored += mirror;
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) {
        const int sy = y + dy, sx = (mirror ? 27 - x : x) + dx;
        const float want =
            (sy < 0 || sy > 27 || sx < 0 || sx > 27) ? 0.0f : im.pixels[784 + sy * 28 + sx];
        REQUIRE(out[size_t(y * 28 + x)] == want);
      }
  }
  REQUIRE(shifted > 20);
  REQUIRE((mirrored > 5 && mirrored < 35));
  // Without augmentation: the image itself.
  Rng rng(1);
  REQUIRE(ds->load(0, false, rng, out.data()));
  for (int i = 0; i < 784; ++i) REQUIRE(out[size_t(i)] == im.pixels[size_t(i)]);
}
