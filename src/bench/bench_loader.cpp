// `winoprune bench --suite loader`: images per second through the data pipeline (read, decode,
// resize, random crop 227, mirror, normalize, batch) on 1 and 2 loader threads.
//   imagefolder-500x375: synthetic ImageNet-sized JPEGs (500x375, quality 90, about the mean
//     ImageNet image; their noise makes them somewhat larger than photos of that size), resize
//     shorter side to 256, batch 32 (or --batch).
//   fashion-mnist: the installed IDX files (when present), pad-2 crop + mirror, batch 128.
// Each row times whole passes of a BatchLoader over the set (median of repeats).
#include <filesystem>
#include <unistd.h>

#include "winoprune/bench/suites.h"
#include "winoprune/data/dataset.h"
#include "winoprune/data/loader.h"
#include "winoprune/data/tools.h"

namespace wp {

namespace {

double pass_images_per_s(const Dataset& ds, LoaderOptions o, int warmup, int repeats,
                         int64_t& images) {
  int64_t epoch = 0;
  images = 0;
  Timing t = time_median(
      [&] {
        o.epoch = epoch++;
        BatchLoader loader(ds, o);
        Batch b;
        int64_t n = 0;
        while (loader.next(b)) n += b.size();
        images = n;
      },
      warmup, repeats);
  return double(images) / (t.median_ms / 1000.0);
}

}  // namespace

json bench_loader(const BenchOptions& options, std::ostream& out) {
  namespace fs = std::filesystem;
  json result = bench_envelope("loader");
  const std::vector<int> threads = options.quick ? std::vector<int>{2} : std::vector<int>{1, 2};
  const int warmup = options.quick ? 0 : 1;
  const int repeats = options.quick ? 1 : std::max(1, options.repeats);
  TablePrinter table(out, {"dataset", "threads", "batch", "images", "img/s"}, {20, 8, 6, 8, 10});
  auto add_row = [&](const std::string& name, int th, int batch, int64_t images, double ips) {
    table.row({name, std::to_string(th), std::to_string(batch), std::to_string(images),
               fmt_fixed(ips, 1)});
    result["results"].push_back(
        {{"dataset", name}, {"threads", th}, {"images_per_s", ips}, {"batch", batch},
         {"images", images}});
  };

  // ImageNet-sized JPEGs in a temporary tree, removed afterwards.
  const fs::path tmp = fs::temp_directory_path() /
                       ("winoprune-bench-loader-" + std::to_string(::getpid()));
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } cleanup{tmp};
  SyntheticTreeOptions so;
  so.classes = 4;
  so.train_per_class = options.quick ? 4 : 24;
  so.val_per_class = 0;
  so.width = 500;
  so.height = 375;
  so.vary_size = false;
  make_synthetic_imagenet(tmp.string(), so);
  const int folder_batch = options.batches.empty() ? 32 : options.batches[0];
  json jcfg = {{"dataset", "imagefolder"}, {"root", tmp.string()}, {"batch", folder_batch},
               {"crop", 227},              {"resize", 256},       {"drop_last", false}};
  JsonReader reader(jcfg, "data");
  DataConfig cfg = parse_data_config(reader);
  std::unique_ptr<Dataset> folder = open_dataset(cfg, Split::train);
  for (int th : threads) {
    LoaderOptions o = train_loader_options(cfg, 1, 0);
    o.workers = th;
    int64_t images = 0;
    double ips = pass_images_per_s(*folder, o, warmup, repeats, images);
    add_row("imagefolder-500x375", th, o.batch, images, ips);
  }

  std::error_code ec;
  if (fs::exists(std::string(kFashionMnistDefaultRoot) + "/train-images-idx3-ubyte.gz", ec)) {
    json fcfg = {{"augment", {{"pad", 2}}}, {"train", {{"limit", options.quick ? 5000 : 0}}}};
    JsonReader fr(fcfg, "data");
    DataConfig fm = parse_data_config(fr);
    std::unique_ptr<Dataset> ds = open_dataset(fm, Split::train);
    for (int th : threads) {
      LoaderOptions o = train_loader_options(fm, 1, 0);
      o.workers = th;
      int64_t images = 0;
      double ips = pass_images_per_s(*ds, o, warmup, repeats, images);
      add_row("fashion-mnist", th, o.batch, images, ips);
    }
  }
  return result;
}

}  // namespace wp
