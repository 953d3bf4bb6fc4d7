// Dataset preparation: synthetic ImageNet-layout trees and Fashion-MNIST as an image folder.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "winoprune/data/dataset.h"
#include "winoprune/data/idx.h"
#include "winoprune/data/image.h"
#include "winoprune/data/tools.h"
#include "winoprune/error.h"
#include "winoprune/rng.h"

namespace wp {

namespace fs = std::filesystem;

void create_new_folder(const std::string& path) {
  std::error_code ec;
  if (fs::exists(path, ec)) {
    if (!fs::is_directory(path, ec))
      throw InputError(path + ": exists and is not a folder; refusing to overwrite it");
    if (!fs::is_empty(path, ec))
      throw InputError(path + ": folder exists and is not empty; refusing to overwrite it");
  }
  fs::create_directories(path, ec);
  if (ec) throw InputError(path + ": cannot create the folder (" + ec.message() + ")");
}

namespace {

void make_dir(const fs::path& p) {
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) throw InputError(p.string() + ": cannot create the folder (" + ec.message() + ")");
}

std::ofstream open_out(const fs::path& p) {
  std::ofstream out(p);
  if (!out) throw InputError(p.string() + ": cannot open for writing");
  return out;
}

// One synthetic image of class k of K: a class hue modulated by stripes whose frequency and
// angle depend on the class, a random phase, and +-20 levels of noise.
Image8 synthetic_image(int k, int K, int w, int h, Rng& rng) {
  Image8 im;
  im.width = w;
  im.height = h;
  im.channels = 3;
  im.pixels.resize(size_t(w) * h * 3);
  const float hue = float(k) / float(K) * 6.0f;
  float base[3];
  for (int c = 0; c < 3; ++c) {  // a hue wheel: R at 0, G at 2, B at 4
    float d = std::fabs(std::fmod(hue - 2.0f * c + 9.0f, 6.0f) - 3.0f);
    base[c] = std::clamp(d - 1.0f, 0.0f, 1.0f);
  }
  const float freq = float(2 + k % 5) * 6.2831853f / float(std::max(w, h));
  const float angle = 3.14159265f * float(k) / float(K);
  const float cs = std::cos(angle), sn = std::sin(angle);
  const float phase = rng.uniform(0.0f, 6.2831853f);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float stripe = 0.5f + 0.5f * std::sin(freq * (x * cs + y * sn) + phase);
      for (int c = 0; c < 3; ++c) {
        float v = 255.0f * (0.15f + 0.7f * base[c] * stripe) + rng.uniform(-20.0f, 20.0f);
        im.pixels[(size_t(y) * w + x) * 3 + c] = uint8_t(std::clamp(v, 0.0f, 255.0f) + 0.5f);
      }
    }
  return im;
}

std::string val_id(int64_t k) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "ILSVRC2012_val_%08lld", static_cast<long long>(k));
  return buf;
}

}  // namespace

SyntheticTree make_synthetic_imagenet(const std::string& root_path,
                                      const SyntheticTreeOptions& o) {
  if (o.classes < 1 || o.train_per_class < 0 || o.val_per_class < 0 || o.width < 1 ||
      o.height < 1)
    throw InputError("synthetic tree: classes, sizes must be >= 1 and counts >= 0");
  create_new_folder(root_path);
  const fs::path root(root_path);
  Rng rng(o.seed, 17);
  SyntheticTree tree;
  for (int k = 0; k < o.classes; ++k) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "n%08d", 1440764 + 1111 * k);
    tree.wnids.push_back(buf);
  }
  auto size_of = [&](int& w, int& h) {
    w = o.width;
    h = o.height;
    if (o.vary_size) {
      w = std::max(1, int(std::lround(o.width * rng.uniform(0.75f, 1.25f))));
      h = std::max(1, int(std::lround(o.height * rng.uniform(0.75f, 1.25f))));
    }
  };
  int w = 0, h = 0;
  for (int k = 0; k < o.classes; ++k) {
    fs::path dir = root / "train" / tree.wnids[size_t(k)];
    make_dir(dir);
    for (int i = 0; i < o.train_per_class; ++i) {
      size_of(w, h);
      write_image_file((dir / (tree.wnids[size_t(k)] + "_" + std::to_string(i) + ".JPEG")).string(),
                       synthetic_image(k, o.classes, w, h, rng), o.jpeg_quality);
      ++tree.train_images;
    }
  }
  // Validation: ids 1..N with classes interleaved, as in ILSVRC2012.
  const int64_t nval = int64_t(o.classes) * o.val_per_class;
  std::vector<int> label(static_cast<size_t>(nval));
  for (int64_t i = 0; i < nval; ++i) label[size_t(i)] = int(i % o.classes);
  make_dir(root / "val_flat");
  for (int k = 0; k < o.classes; ++k) make_dir(root / "val" / tree.wnids[size_t(k)]);
  std::ofstream list = open_out(root / "val.txt");
  for (int64_t i = 0; i < nval; ++i) {
    const int k = label[size_t(i)];
    const std::string id = val_id(i + 1);
    size_of(w, h);
    Image8 im = synthetic_image(k, o.classes, w, h, rng);
    write_image_file((root / "val_flat" / (id + ".JPEG")).string(), im, o.jpeg_quality);
    write_image_file((root / "val" / tree.wnids[size_t(k)] / (id + ".JPEG")).string(), im,
                     o.jpeg_quality);
    list << id << ".JPEG " << k << "\n";
    ++tree.val_images;
  }
  // Kaggle's csv lists the images in no particular order: write it shuffled.
  std::vector<int64_t> rows(static_cast<size_t>(nval));
  for (int64_t i = 0; i < nval; ++i) rows[size_t(i)] = i;
  for (int64_t i = nval - 1; i > 0; --i)
    std::swap(rows[size_t(i)], rows[rng.below(uint32_t(i + 1))]);
  std::ofstream csv = open_out(root / "LOC_val_solution.csv");
  csv << "ImageId,PredictionString\n";
  for (int64_t i : rows) {
    const std::string& wnid = tree.wnids[size_t(label[size_t(i)])];
    csv << val_id(i + 1) << "," << wnid << " 1 2 30 40 " << wnid << " 5 6 20 21 \n";
  }
  std::ofstream synsets = open_out(root / "LOC_synset_mapping.txt");
  for (int k = 0; k < o.classes; ++k)
    synsets << tree.wnids[size_t(k)] << " synthetic class " << k << "\n";
  return tree;
}

int64_t export_fashion_mnist_folder(const std::string& out_root,
                                    const FashionMnistExportOptions& o,
                                    const std::function<void(int64_t, int64_t)>& progress) {
  if (o.format != "png" && o.format != "jpg")
    throw InputError("format: expected \"png\" or \"jpg\", got \"" + o.format + "\"");
  const std::string source = o.source.empty() ? kFashionMnistDefaultRoot : o.source;
  // Read everything first, so a missing or bad input leaves no output folder behind.
  IdxImages images[2];
  IdxLabels labels[2];
  for (int s = 0; s < 2; ++s) {
    images[s] = read_idx_images(fashion_mnist_file(source, s == 0, true));
    labels[s] = read_idx_labels(fashion_mnist_file(source, s == 0, false));
    if (labels[s].count != images[s].count)
      throw InputError(source + ": image and label counts differ");
  }
  std::vector<std::string> class_dirs;
  for (int k = 0; k < 10; ++k) {
    std::string name = std::to_string(k) + "_";
    for (const char* p = kFashionMnistClassNames[k]; *p; ++p)
      name += std::isalnum(static_cast<unsigned char>(*p))
                  ? char(std::tolower(static_cast<unsigned char>(*p)))
                  : '-';
    class_dirs.push_back(name);
  }
  create_new_folder(out_root);
  const fs::path root(out_root);
  int64_t total = 0, done = 0;
  for (int s = 0; s < 2; ++s)
    total += o.limit > 0 ? std::min(o.limit, images[s].count) : images[s].count;
  for (int s = 0; s < 2; ++s) {
    const std::string split = s == 0 ? "train" : "val";
    for (const std::string& c : class_dirs) make_dir(root / split / c);
    const int64_t n = o.limit > 0 ? std::min(o.limit, images[s].count) : images[s].count;
    const size_t pixels = size_t(images[s].rows) * images[s].cols;
    for (int64_t i = 0; i < n; ++i) {
      Image8 im;
      im.width = images[s].cols;
      im.height = images[s].rows;
      im.channels = 1;
      im.pixels.assign(images[s].pixels.begin() + i * pixels,
                       images[s].pixels.begin() + (i + 1) * pixels);
      const int label = labels[s].labels[size_t(i)];
      if (label >= 10) throw InputError(source + ": label " + std::to_string(i) + " >= 10");
      char name[64];
      std::snprintf(name, sizeof name, "%s_%05lld.%s", split.c_str(),
                    static_cast<long long>(i), o.format.c_str());
      write_image_file((root / split / class_dirs[size_t(label)] / name).string(), im,
                       o.jpeg_quality);
      ++done;
      if (progress && (done % 5000 == 0 || done == total)) progress(done, total);
    }
  }
  return total;
}

}  // namespace wp
