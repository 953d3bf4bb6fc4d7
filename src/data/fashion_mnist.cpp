// Fashion-MNIST: 28x28 gray images in IDX files, held in memory as bytes (47 MB for train).
// Training augmentation: zero padding by `pad` then a random 28x28 crop, and a mirror.
#include "datasets_internal.h"
#include "winoprune/data/idx.h"
#include "winoprune/error.h"

namespace wp {

namespace {

constexpr int kSide = 28;

class FashionMnist final : public Dataset {
 public:
  FashionMnist(const DataConfig& config, Split split, WarningSink sink)
      : Dataset(config, split, std::move(sink)), augment_(config.augment) {
    const bool train = split == Split::train;
    std::string images_path = fashion_mnist_file(config.root, train, true);
    std::string labels_path = fashion_mnist_file(config.root, train, false);
    images_ = read_idx_images(images_path);
    labels_ = read_idx_labels(labels_path);
    if (images_.rows != kSide)
      throw InputError(images_path + ": rows: expected 28, got " + std::to_string(images_.rows));
    if (images_.cols != kSide)
      throw InputError(images_path + ": columns: expected 28, got " +
                       std::to_string(images_.cols));
    if (labels_.count != images_.count)
      throw InputError(labels_path + ": count: expected " + std::to_string(images_.count) +
                       " (the count of " + images_path + "), got " +
                       std::to_string(labels_.count));
    for (int64_t i = 0; i < labels_.count; ++i)
      if (labels_.labels[size_t(i)] >= 10)
        throw InputError(labels_path + ": label " + std::to_string(i) + ": expected 0..9, got " +
                         std::to_string(labels_.labels[size_t(i)]));
    subset_ = limit_indices(images_.count, train ? config.train.limit : config.val.limit);
    mean_ = config.mean.at(0);
    inv_std_ = 1.0f / config.std.at(0);
    for (int i = 0; i < 10; ++i) names_.push_back(kFashionMnistClassNames[i]);
    base_stats_.layout = "idx";
    base_stats_.images = size();
    base_stats_.classes = 10;
    base_stats_.class_counts.assign(10, 0);
    for (int64_t idx : subset_) base_stats_.class_counts[labels_.labels[size_t(idx)]]++;
  }

  int64_t size() const override { return int64_t(subset_.size()); }
  int classes() const override { return 10; }
  Shape image_shape() const override { return {1, kSide, kSide}; }
  const std::vector<std::string>& class_names() const override { return names_; }
  int32_t label(int64_t index) const override { return labels_.labels[size_t(subset_[index])]; }
  std::string sample_name(int64_t index) const override {
    return base_stats_.split + "[" + std::to_string(subset_[index]) + "]";
  }

  bool load(int64_t index, bool augment, Rng& rng, float* out) const override {
    const uint8_t* src = images_.pixels.data() + size_t(subset_[index]) * kSide * kSide;
    const int pad = augment_.pad;
    // The window's top-left corner in source coordinates: [-pad, pad].
    int dx = 0, dy = 0;
    if (augment && augment_.random_crop && pad > 0) {
      dx = int(rng.below(uint32_t(2 * pad + 1))) - pad;
      dy = int(rng.below(uint32_t(2 * pad + 1))) - pad;
    }
    const bool mirror = augment && augment_.mirror && rng.below(2) == 1;
    const float zero = (0.0f - mean_) * inv_std_;  // padding is black, like the background
    for (int y = 0; y < kSide; ++y) {
      const int sy = y + dy;
      for (int x = 0; x < kSide; ++x) {
        const int sx = (mirror ? kSide - 1 - x : x) + dx;
        const bool inside = sy >= 0 && sy < kSide && sx >= 0 && sx < kSide;
        out[y * kSide + x] = inside ? (src[sy * kSide + sx] - mean_) * inv_std_ : zero;
      }
    }
    return true;
  }

 private:
  AugmentConfig augment_;
  IdxImages images_;
  IdxLabels labels_;
  std::vector<int64_t> subset_;
  std::vector<std::string> names_;
  float mean_ = 0, inv_std_ = 1;
};

}  // namespace

std::unique_ptr<Dataset> open_fashion_mnist(const DataConfig& config, Split split,
                                            WarningSink sink) {
  return std::make_unique<FashionMnist>(config, split, std::move(sink));
}

}  // namespace wp
