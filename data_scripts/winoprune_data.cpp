// winoprune-data: dataset preparation helpers behind data_scripts/ (they need JPEG/PNG writing,
// which stb_image_write gives C++ and python3's standard library does not).
//   winoprune-data synthetic OUT_DIR [options]        a small ImageNet-layout tree
//   winoprune-data fmnist-to-folder OUT_DIR [options] Fashion-MNIST as an image folder
// Both refuse an existing non-empty OUT_DIR. Exit 0 on success, 2 on bad usage or input, 1 on
// other failures.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include <unistd.h>

#include "winoprune/data/dataset.h"
#include "winoprune/data/tools.h"
#include "winoprune/error.h"

namespace {

const char* kUsage =
    "usage: winoprune-data COMMAND OUT_DIR [options]\n"
    "\n"
    "commands:\n"
    "  synthetic         write a small synthetic ImageNet-layout tree:\n"
    "                      OUT_DIR/train/<wnid>/*.JPEG, OUT_DIR/val/<wnid>/*.JPEG,\n"
    "                      OUT_DIR/val_flat/*.JPEG with OUT_DIR/val.txt (Caffe list),\n"
    "                      OUT_DIR/LOC_val_solution.csv and OUT_DIR/LOC_synset_mapping.txt\n"
    "                    options: --classes K (4) --train-per-class N (6) --val-per-class M (3)\n"
    "                             --width W (64) --height H (48) (sizes vary +-25% unless\n"
    "                             --fixed-size) --quality Q (90) --seed S (1)\n"
    "  fmnist-to-folder  write Fashion-MNIST as OUT_DIR/{train,val}/<k>_<class>/*.png|jpg\n"
    "                    (val = the t10k test split; one gray image per sample)\n"
    "                    options: --source DIR (/usr/share/datasets/fashion-mnist)\n"
    "                             --format png|jpg (png) --quality Q (95, jpg only)\n"
    "                             --limit N (0 = all; else the first N of each split)\n"
    "\n"
    "OUT_DIR must not exist or be an empty folder: nothing is ever overwritten.\n";

struct Args {
  std::vector<std::string> rest;
  size_t pos = 0;
  bool more() const { return pos < rest.size(); }
  std::string value(const std::string& flag) {
    if (pos >= rest.size()) throw wp::InputError(flag + ": expected a value");
    return rest[pos++];
  }
  long long integer(const std::string& flag, long long lo, long long hi) {
    std::string v = value(flag);
    char* end = nullptr;
    long long x = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end || x < lo || x > hi)
      throw wp::InputError(flag + ": expected an integer in [" + std::to_string(lo) + ", " +
                           std::to_string(hi) + "], got \"" + v + "\"");
    return x;
  }
};

int run_synthetic(const std::string& out, Args& a) {
  wp::SyntheticTreeOptions o;
  while (a.more()) {
    std::string f = a.rest[a.pos++];
    if (f == "--classes") o.classes = int(a.integer(f, 1, 100000));
    else if (f == "--train-per-class") o.train_per_class = int(a.integer(f, 0, 1000000));
    else if (f == "--val-per-class") o.val_per_class = int(a.integer(f, 0, 1000000));
    else if (f == "--width") o.width = int(a.integer(f, 1, 16384));
    else if (f == "--height") o.height = int(a.integer(f, 1, 16384));
    else if (f == "--quality") o.jpeg_quality = int(a.integer(f, 1, 100));
    else if (f == "--seed") o.seed = uint64_t(a.integer(f, 0, (1LL << 62)));
    else if (f == "--fixed-size") o.vary_size = false;
    else throw wp::InputError("synthetic: unknown option \"" + f + "\" (see --help)");
  }
  wp::SyntheticTree t = wp::make_synthetic_imagenet(out, o);
  std::cout << out << ": " << t.wnids.size() << " classes, " << t.train_images
            << " train images, " << t.val_images << " val images (3 validation layouts)\n";
  return 0;
}

int run_fmnist(const std::string& out, Args& a) {
  wp::FashionMnistExportOptions o;
  while (a.more()) {
    std::string f = a.rest[a.pos++];
    if (f == "--source") o.source = a.value(f);
    else if (f == "--format") o.format = a.value(f);
    else if (f == "--quality") o.jpeg_quality = int(a.integer(f, 1, 100));
    else if (f == "--limit") o.limit = a.integer(f, 0, 1LL << 40);
    else throw wp::InputError("fmnist-to-folder: unknown option \"" + f + "\" (see --help)");
  }
  // A live counter on a terminal, one line per 5000 images when stderr is a file or a pipe.
  const bool live = isatty(fileno(stderr));
  int64_t n = wp::export_fashion_mnist_folder(out, o, [live](int64_t done, int64_t total) {
    std::cerr << (live ? "\r" : "") << done << " / " << total << " images"
              << (done == total || !live ? "\n" : "") << std::flush;
  });
  std::cout << out << ": " << n << " images written\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const std::string& s : args)
    if (s == "--help" || s == "-h") {
      std::cout << kUsage;
      return 0;
    }
  if (args.size() < 2) {
    std::cerr << kUsage;
    return 2;
  }
  try {
    Args a{std::vector<std::string>(args.begin() + 2, args.end())};
    if (args[0] == "synthetic") return run_synthetic(args[1], a);
    if (args[0] == "fmnist-to-folder") return run_fmnist(args[1], a);
    std::cerr << "winoprune-data: unknown command \"" << args[0] << "\"\n" << kUsage;
    return 2;
  } catch (const wp::InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
