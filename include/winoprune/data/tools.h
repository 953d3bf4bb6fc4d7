#pragma once
// Dataset preparation used by data_scripts/ (through the winoprune-data executable), the loader
// benchmark and the tests. Every function refuses to write into an existing non-empty folder
// (InputError naming it) and never touches its inputs.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace wp {

// A small ImageNet-layout tree of synthetic JPEGs whose content depends on the class (a hue and
// a stripe frequency per class, plus noise), so a network can learn it:
//   root/train/<wnid>/<wnid>_<i>.JPEG
//   root/val/<wnid>/ILSVRC2012_val_<k>.JPEG         (val as class folders)
//   root/val_flat/ILSVRC2012_val_<k>.JPEG           (flat, for the two layouts below)
//   root/val.txt                 Caffe list "<file> <label>", paths relative to val_flat
//   root/LOC_val_solution.csv    Kaggle labels, ImageId -> "<wnid> x0 y0 x1 y1"
//   root/LOC_synset_mapping.txt  "<wnid> <description>"
// Image sizes vary around width x height (+-25%, so aspect ratios differ). wnids are
// n0000000<k>-style strings, sorted in class order.
struct SyntheticTreeOptions {
  int classes = 4;
  int train_per_class = 6;
  int val_per_class = 3;
  int width = 64, height = 48;
  int jpeg_quality = 90;
  uint64_t seed = 1;
  bool vary_size = true;
};
struct SyntheticTree {
  std::vector<std::string> wnids;
  int64_t train_images = 0, val_images = 0;
};
SyntheticTree make_synthetic_imagenet(const std::string& root, const SyntheticTreeOptions& options);

// Fashion-MNIST (IDX files in `source`) as an image folder: out/{train,val}/<k>_<name>/
// <split>_<index>.<format>, one gray image per sample (val = the t10k split). The class folder
// names sort in label order. limit > 0 keeps the first `limit` images of each split.
struct FashionMnistExportOptions {
  std::string source;           // empty: /usr/share/datasets/fashion-mnist
  std::string format = "png";   // png (lossless) | jpg
  int jpeg_quality = 95;
  int64_t limit = 0;
};
// Returns the number of images written; progress(done, total) is called now and then.
int64_t export_fashion_mnist_folder(
    const std::string& out_root, const FashionMnistExportOptions& options,
    const std::function<void(int64_t, int64_t)>& progress = {});

// Throws InputError when `path` exists and is not an empty folder; creates it (and parents).
void create_new_folder(const std::string& path);

}  // namespace wp
