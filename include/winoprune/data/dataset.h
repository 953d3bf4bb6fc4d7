#pragma once
// Datasets: Fashion-MNIST (IDX .gz files) and ImageNet-style image folders, each sample read
// into a float CHW buffer (normalized, optionally augmented).
//
// Config: the "data" object of an experiment (docs/contracts.md, config skeleton). Keys and defaults:
//   dataset     "fashion-mnist" | "imagefolder"                       ("fashion-mnist")
//   root        folder of the data; fashion-mnist: /usr/share/datasets/fashion-mnist;
//               imagefolder: required
//   batch       training batch size                                     (128)
//   train       { dir: "train" (imagefolder), limit: 0 }   limit N > 0 keeps N evenly spaced
//               samples (quick runs); 0 keeps all
//   val         { batch: data.batch, limit: 0, and for imagefolder:
//                 layout "auto" | "folders" | "list" | "kaggle"           ("auto")
//                 dir "val", list (Caffe list "<path> <label>"), csv "LOC_val_solution.csv",
//                 synsets "LOC_synset_mapping.txt" }
//   augment     { mirror: true, random_crop: true, pad: 0 (black borders of `pad` pixels around
//                 the image (imagefolder: the resized image) before the random crop, as
//                 torchvision's RandomCrop(padding)) }   used by the training split only
//   on_corrupt  "skip" | "error"                                         ("skip")
//   workers     loader threads, a tbb::task_arena cap; 0 = load in the caller (2)
//   prefetch    batches prepared ahead of the one in use                 (3)
//   shuffle     true;  drop_last  true (training only; evaluation keeps the last partial batch)
//   allow_fewer_classes  false (a split with fewer classes than model.classes is an error)
//   mean, std   per-channel, in 0..255 pixel units, listed in the output channel order;
//               out = (pixel - mean) / std. imagefolder's mean may instead be the path of a
//               mean image (JPEG, PNG or BMP; crop x crop, or resize x resize with
//               resize_mode "warp"). Defaults: fashion-mnist [72.94] / [90.02] (the train
//               split's statistics); imagefolder the usual ImageNet RGB statistics
//               [123.675, 116.28, 103.53] / [58.395, 57.12, 57.375] (reordered for "bgr").
//   imagefolder only:
//   resize      256; resize_mode "shorter" (shorter side to `resize`, aspect kept) | "warp"
//               (resize x resize, as Caffe); triangle (antialiased bilinear) filter
//   crop        227 (random for training when augment.random_crop, center otherwise)
//   color       "rgb" | "bgr" | "gray"                                   ("rgb")
// Unknown keys and bad values are InputError naming the JSON path.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "winoprune/io/json_reader.h"
#include "winoprune/rng.h"
#include "winoprune/tensor.h"

namespace wp {

constexpr const char* kFashionMnistDefaultRoot = "/usr/share/datasets/fashion-mnist";

struct AugmentConfig {
  bool mirror = true;
  bool random_crop = true;
  int pad = 0;
};

struct SplitConfig {
  std::string dir;         // imagefolder: folder relative to root (or absolute)
  int64_t limit = 0;       // 0 = all samples
  int batch = 0;           // val only: evaluation batch (0 = DataConfig::batch)
  // val only (imagefolder):
  std::string layout = "auto";                     // auto | folders | list | kaggle
  std::string list;                                // Caffe list file (relative to root)
  std::string csv = "LOC_val_solution.csv";        // Kaggle (relative to root)
  std::string synsets = "LOC_synset_mapping.txt";  // Kaggle (relative to root)
};

struct DataConfig {
  std::string dataset = "fashion-mnist";
  std::string root;
  int batch = 128;
  // Each training step's batch (this rank's share of it) in this many slices, run forward and
  // backward one after the other with their gradients summed by their share of the batch: the
  // same step holding one slice's activations at a time (Caffe's iter_size; alexnet-small at
  // batch 256: peak RSS 327 -> 259 MB with 4 slices, the same wall time).
  int accumulate = 1;
  SplitConfig train, val;
  AugmentConfig augment;
  std::string on_corrupt = "skip";
  int workers = 2;
  int prefetch = 3;
  bool shuffle = true;
  bool drop_last = true;
  bool allow_fewer_classes = false;   // a split with fewer classes than model.classes is an error
                                      // unless true (e.g. a subset of ImageNet's 1000)
  std::vector<float> mean, std;  // one value per output channel
  std::string mean_image;        // imagefolder: path of a mean image (replaces `mean`)
  int resize = 256;
  std::string resize_mode = "shorter";
  int crop = 227;
  std::string color = "rgb";     // fashion-mnist: "gray"

  int channels() const { return color == "gray" ? 1 : 3; }
};

// Parses the "data" object (reader positioned on it; calls reader.finish()).
DataConfig parse_data_config(JsonReader& reader);
// The resolved config (every default filled in), for RUN_DIR/config.json.
json data_config_to_json(const DataConfig& config);

enum class Split { train, val };
const char* split_name(Split split);

// What the run reports per split.
struct DatasetStats {
  std::string dataset, split, root;
  std::string layout;                       // "idx", "folders", "list" or "kaggle"
  int64_t images = 0;
  int classes = 0;
  std::vector<int64_t> class_counts;        // images per class (after limit)
  std::vector<std::string> empty_classes;   // class folders without images
  int64_t corrupt = 0;                      // distinct samples skipped as corrupt
  std::vector<std::string> corrupt_files;   // their names (first 1000)
  json to_json() const;
};

// Receives warnings (corrupt image skipped, empty class folder). Default: stderr.
using WarningSink = std::function<void(const std::string&)>;

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual int classes() const = 0;
  virtual Shape image_shape() const = 0;  // [C, H, W] of a loaded sample
  virtual const std::vector<std::string>& class_names() const = 0;
  virtual int32_t label(int64_t index) const = 0;
  virtual std::string sample_name(int64_t index) const = 0;  // file path or "train[123]"
  // Writes sample `index` (image_shape() floats, CHW) into out. augment: random crop / mirror
  // drawn from rng (and only from rng, so the result is a function of its state). Returns false
  // when the sample is corrupt and skipped (on_corrupt "skip"); throws InputError with
  // on_corrupt "error". Thread-safe.
  virtual bool load(int64_t index, bool augment, Rng& rng, float* out) const = 0;
  DatasetStats stats() const;

 protected:
  Dataset(const DataConfig& config, Split split, WarningSink sink);
  // Records a corrupt sample once (count, name, one warning), or throws with on_corrupt error.
  void corrupt_sample(int64_t index, const std::string& name, const std::string& reason) const;
  void warn(const std::string& message) const;
  DatasetStats base_stats_;  // filled by the derived constructor (all but the corrupt fields)

 private:
  bool corrupt_is_error_;
  WarningSink sink_;
  mutable std::mutex mutex_;
  mutable std::set<int64_t> corrupt_indices_;
  mutable std::vector<std::string> corrupt_names_;
};

// Opens a split. Fashion-MNIST's val split is its t10k test split. Missing files and folders are
// InputError naming them (for Fashion-MNIST, also the Debian package that provides them).
std::unique_ptr<Dataset> open_dataset(const DataConfig& config, Split split,
                                      WarningSink sink = {});

// Image files given one by one (predict): decoded, resized, cropped and normalized as the
// evaluation of an image folder with `config` does (JPEG, PNG, BMP); every label 0.
std::unique_ptr<Dataset> open_image_files(const DataConfig& config,
                                          const std::vector<std::string>& files,
                                          std::vector<std::string> class_names);

// Evenly spaced subset of [0, n) with `limit` elements (all when limit <= 0 or >= n):
// index i -> floor(i * n / limit), so a sorted folder keeps every class.
std::vector<int64_t> limit_indices(int64_t n, int64_t limit);

}  // namespace wp
