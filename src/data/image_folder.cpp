// ImageNet-style image folders: root/train/<class>/*.{JPEG,jpg,jpeg,png}; validation as
// val/<class>/..., a Caffe list ("<path> <label>", labels in sorted-class order, paths relative
// to the val folder), or Kaggle's flat val folder with LOC_val_solution.csv ("ImageId,
// PredictionString", the first token of PredictionString is the wnid). The class index is the
// position in the sorted list of training class folders. Kaggle's unpacked archive (root with
// LOC_*.csv/txt and ILSVRC/Data/CLS-LOC/{train,val}) is recognized as is.
//
// A sample: decode (stb_image) -> resize (triangle filter; only the crop window is computed) ->
// crop (random or center) -> mirror -> (x - mean) / std, CHW, in RGB, BGR or gray.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "datasets_internal.h"
#include "winoprune/data/image.h"
#include "winoprune/error.h"

namespace wp {

namespace fs = std::filesystem;

namespace {

// The sample list, compact: ImageNet's 1.28M training paths as std::strings (heap blocks of
// ~64 bytes plus 32-byte headers) would take ~130 MB; as folder index + name in one character
// buffer they take ~40 MB.
class SampleTable {
 public:
  uint32_t add_dir(const std::string& dir) {
    dirs_.push_back(dir);
    return uint32_t(dirs_.size() - 1);
  }
  void add(uint32_t dir, const std::string& name, int32_t label) {
    begin_.push_back(names_.size());
    names_ += name;
    dir_.push_back(dir);
    label_.push_back(label);
  }
  size_t size() const { return label_.size(); }
  int32_t label(size_t i) const { return label_[i]; }
  std::string path(size_t i) const {
    size_t end = i + 1 < begin_.size() ? begin_[i + 1] : names_.size();
    return dirs_[dir_[i]] + "/" + names_.substr(begin_[i], end - begin_[i]);
  }
  // The samples at `keep`, in that order.
  SampleTable select(const std::vector<int64_t>& keep) const {
    SampleTable t;
    t.dirs_ = dirs_;
    for (int64_t k : keep) {
      size_t i = size_t(k);
      size_t end = i + 1 < begin_.size() ? begin_[i + 1] : names_.size();
      t.add(dir_[i], names_.substr(begin_[i], end - begin_[i]), label_[i]);
    }
    return t;
  }

 private:
  std::vector<std::string> dirs_;
  std::string names_;
  std::vector<size_t> begin_;
  std::vector<uint32_t> dir_;
  std::vector<int32_t> label_;
};

bool is_image_name(const std::string& name) {
  if (name.empty() || name[0] == '.') return false;
  size_t dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  for (char& ch : ext) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return ext == "jpeg" || ext == "jpg" || ext == "png";
}

// Sorted names of the entries of `dir` that are folders (want_dirs) or image files.
std::vector<std::string> list_dir(const fs::path& dir, bool want_dirs) {
  std::vector<std::string> names;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) throw InputError(dir.string() + ": cannot list the folder (" + ec.message() + ")");
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) throw InputError(dir.string() + ": error while listing (" + ec.message() + ")");
    std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code e2;
    bool is_dir = fs::is_directory(it->path(), e2);  // follows symlinks
    if (want_dirs ? is_dir : (!is_dir && is_image_name(name))) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

void require_dir(const fs::path& dir, const std::string& what) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw InputError(dir.string() + ": " + what + " not found");
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::ifstream open_text(const fs::path& path, const std::string& what) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw InputError(path.string() + ": " + what + " not found");
  std::ifstream in(path);
  if (!in) throw InputError(path.string() + ": cannot open " + what);
  return in;
}

class ImageFolder final : public Dataset {
 public:
  ImageFolder(const DataConfig& config, Split split, WarningSink sink)
      : Dataset(config, split, std::move(sink)), config_(config) {
    const fs::path root(config.root);
    require_dir(root, "data root (data.root)");
    // Kaggle's archive keeps the images two levels down; the label files stay in root.
    fs::path image_base = root;
    std::error_code ec;
    if (!fs::exists(root / config.train.dir, ec) &&
        fs::is_directory(root / "ILSVRC" / "Data" / "CLS-LOC" / config.train.dir, ec))
      image_base = root / "ILSVRC" / "Data" / "CLS-LOC";
    const fs::path train_dir = image_base / config.train.dir;
    require_dir(train_dir, "training folder (data.train.dir; expected <root>/" +
                               config.train.dir + "/<class>/*.JPEG)");
    names_ = list_dir(train_dir, true);
    if (names_.empty())
      throw InputError(train_dir.string() + ": no class folders (expected " +
                       train_dir.string() + "/<class>/*.JPEG)");
    for (size_t i = 0; i < names_.size(); ++i) class_index_[names_[i]] = int32_t(i);

    SampleTable all;
    if (split == Split::train) {
      base_stats_.layout = "folders";
      read_class_folders(train_dir, all, true);
    } else {
      read_val(root, image_base / config.val.dir, all);
    }
    std::vector<int64_t> keep =
        limit_indices(int64_t(all.size()), split == Split::train ? config.train.limit
                                                                 : config.val.limit);
    samples_ = all.select(keep);
    base_stats_.images = size();
    base_stats_.classes = classes();
    base_stats_.class_counts.assign(names_.size(), 0);
    for (size_t i = 0; i < samples_.size(); ++i)
      base_stats_.class_counts[size_t(samples_.label(i))]++;
    if (samples_.size() == 0)
      throw InputError(config.root + ": no images in the " + std::string(split_name(split)) +
                       " split");
    if (!config.mean_image.empty()) read_mean_image();
  }

  // Given image files (predict): no folders to scan, every label 0, the model's class names.
  ImageFolder(const DataConfig& config, const std::vector<std::string>& files,
              std::vector<std::string> class_names)
      : Dataset(config, Split::val, {}), config_(config) {
    names_ = std::move(class_names);
    for (const std::string& f : files) {
      const fs::path p(f);
      const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
      samples_.add(samples_.add_dir(dir), p.filename().string(), 0);
    }
    base_stats_.layout = "files";
    base_stats_.images = size();
    base_stats_.classes = classes();
    if (!config.mean_image.empty()) read_mean_image();
  }

  int64_t size() const override { return int64_t(samples_.size()); }
  int classes() const override { return int(names_.size()); }
  Shape image_shape() const override { return {config_.channels(), config_.crop, config_.crop}; }
  const std::vector<std::string>& class_names() const override { return names_; }
  int32_t label(int64_t index) const override { return samples_.label(size_t(index)); }
  std::string sample_name(int64_t index) const override { return samples_.path(size_t(index)); }

  bool load(int64_t index, bool augment, Rng& rng, float* out) const override {
    const std::string path = samples_.path(size_t(index));
    Image8 image;
    std::string reason;
    if (!read_image_file(path, config_.channels(), image, reason)) {
      corrupt_sample(index, path, reason);
      return false;
    }
    image_to_input(image, config_, augment, rng, mean_image_, mean_side_, out);
    return true;
  }

 private:
  // LOC_synset_mapping.txt ("<wnid> <description>" per line) is optional; when present, every
  // training class must be listed in it, which catches a root pointing at the wrong tree.
  void check_synsets(const fs::path& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return;
    std::ifstream in(path);
    std::set<std::string> wnids;
    std::string line;
    while (std::getline(in, line)) {
      line = trim(line);
      wnids.insert(line.substr(0, line.find(' ')));
    }
    for (const std::string& name : names_)
      if (!wnids.count(name))
        throw InputError(path.string() + ": training class \"" + name + "\" is not listed");
  }

  void read_class_folders(const fs::path& dir, SampleTable& out, bool all_classes) {
    std::vector<std::string> classes = all_classes ? names_ : list_dir(dir, true);
    for (const std::string& name : classes) {
      auto it = class_index_.find(name);
      if (it == class_index_.end())
        throw InputError((dir / name).string() + ": class folder not among the " +
                         std::to_string(names_.size()) + " training classes");
      fs::path class_dir = dir / name;
      std::vector<std::string> files = list_dir(class_dir, false);
      if (files.empty()) {
        base_stats_.empty_classes.push_back(name);
        warn(class_dir.string() + ": empty class folder (no .JPEG/.jpg/.jpeg/.png files)");
      }
      const uint32_t d = out.add_dir(class_dir.string());
      for (const std::string& f : files) out.add(d, f, it->second);
    }
  }

  void read_val(const fs::path& root, const fs::path& val_dir, SampleTable& out) {
    require_dir(val_dir, "validation folder (data.val.dir)");
    std::string layout = config_.val.layout;
    if (layout == "auto") {
      std::error_code ec;
      if (!config_.val.list.empty())
        layout = "list";
      else if (!list_dir(val_dir, true).empty())
        layout = "folders";
      else if (fs::is_regular_file(root / config_.val.csv, ec))
        layout = "kaggle";
      else
        throw InputError(val_dir.string() +
                         ": cannot tell the validation layout: no class folders in it, no "
                         "data.val.list, and no " + (root / config_.val.csv).string());
    }
    base_stats_.layout = layout;
    if (layout == "folders") {
      read_class_folders(val_dir, out, false);
    } else if (layout == "list") {
      read_caffe_list(root / config_.val.list, val_dir, out);
    } else {
      check_synsets(root / config_.val.synsets);
      read_kaggle_csv(root / config_.val.csv, val_dir, out);
    }
  }

  // "<relative path> <label>" per line; the label is the last token (paths may hold spaces).
  void read_caffe_list(const fs::path& list, const fs::path& val_dir, SampleTable& out) {
    std::ifstream in = open_text(list, "validation list (data.val.list)");
    const uint32_t dir = out.add_dir(val_dir.string());
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
      line = trim(line);
      if (line.empty()) continue;
      std::string where = list.string() + ":" + std::to_string(number);
      size_t sp = line.find_last_of(" \t");
      if (sp == std::string::npos)
        throw InputError(where + ": expected \"<path> <label>\", got \"" + line + "\"");
      std::string path = trim(line.substr(0, sp)), label_text = line.substr(sp + 1);
      char* end = nullptr;
      long label = std::strtol(label_text.c_str(), &end, 10);
      if (*end != '\0' || label_text.empty() || label < 0 || label >= long(names_.size()))
        throw InputError(where + ": label: expected an integer in [0, " +
                         std::to_string(names_.size() - 1) + "] (sorted training classes), got \"" +
                         label_text + "\"");
      out.add(dir, path, int32_t(label));
    }
  }

  // "ImageId,PredictionString" then "<id>,<wnid> x0 y0 x1 y1 [<wnid> ...]"; image <id>.JPEG.
  void read_kaggle_csv(const fs::path& csv, const fs::path& val_dir, SampleTable& out) {
    std::ifstream in = open_text(csv, "Kaggle validation labels (data.val.csv)");
    std::string line;
    std::vector<std::pair<std::string, int32_t>> rows;
    for (int64_t number = 1; std::getline(in, line); ++number) {
      line = trim(line);
      std::string where = csv.string() + ":" + std::to_string(number);
      if (number == 1) {
        if (line.rfind("ImageId", 0) != 0)
          throw InputError(where + ": expected the header \"ImageId,PredictionString\", got \"" +
                           line.substr(0, 60) + "\"");
        continue;
      }
      if (line.empty()) continue;
      size_t comma = line.find(',');
      if (comma == std::string::npos || comma == 0)
        throw InputError(where + ": expected \"<ImageId>,<wnid> ...\", got \"" +
                         line.substr(0, 60) + "\"");
      std::istringstream pred(line.substr(comma + 1));
      std::string wnid;
      pred >> wnid;
      auto it = class_index_.find(wnid);
      if (it == class_index_.end())
        throw InputError(where + ": wnid \"" + wnid + "\" not among the " +
                         std::to_string(names_.size()) + " training classes");
      rows.emplace_back(line.substr(0, comma), it->second);
    }
    std::sort(rows.begin(), rows.end());  // the csv is unordered; ImageId order is stable
    const uint32_t dir = out.add_dir(val_dir.string());
    for (auto& r : rows) out.add(dir, r.first + ".JPEG", r.second);
  }

  void read_mean_image() {
    const int ch = config_.channels();
    Image8 image;
    std::string reason;
    if (!read_image_file(config_.mean_image, ch, image, reason))
      throw InputError(config_.mean_image + ": mean image (data.mean): " + reason);
    const bool fits_crop = image.width == config_.crop && image.height == config_.crop;
    const bool fits_warp = config_.resize_mode == "warp" && image.width == config_.resize &&
                           image.height == config_.resize;
    if (image.width != image.height || (!fits_crop && !fits_warp))
      throw InputError(config_.mean_image + ": mean image (data.mean): expected " +
                       std::to_string(config_.crop) + "x" + std::to_string(config_.crop) +
                       (config_.resize_mode == "warp"
                            ? " or " + std::to_string(config_.resize) + "x" +
                                  std::to_string(config_.resize)
                            : std::string()) +
                       ", got " + std::to_string(image.width) + "x" +
                       std::to_string(image.height));
    mean_side_ = image.width;
    const size_t plane = size_t(mean_side_) * mean_side_;
    mean_image_.resize(plane * ch);
    const bool bgr = config_.color == "bgr";
    for (int k = 0; k < ch; ++k) {
      const int src = bgr ? 2 - k : k;
      for (size_t i = 0; i < plane; ++i) mean_image_[k * plane + i] = image.pixels[i * ch + src];
    }
  }

  DataConfig config_;
  std::vector<std::string> names_;
  std::map<std::string, int32_t> class_index_;
  SampleTable samples_;
  std::vector<float> mean_image_;  // [C][side][side], output channel order
  int mean_side_ = 0;
};

}  // namespace

// Resize, crop (random with padding when augmenting, else centered), mirror and normalize:
// everything the image folder does to a decoded image (shared with the fuzz harness of image
// decoding, so it runs exactly this code).
void image_to_input(const Image8& image, const DataConfig& config, bool augment, Rng& rng,
                    const std::vector<float>& mean_image_full, int mean_side, float* out) {
  const int ch = config.channels(), crop = config.crop;
  int rw = 0, rh = 0, x0 = 0, y0 = 0;
  resized_size(image.width, image.height, config.resize, config.resize_mode == "warp", rw, rh);
  const bool random_crop = augment && config.augment.random_crop;
  // Padding (training crops only) enlarges the resized image by black borders; a centered
  // crop is the same with or without them, so evaluation ignores it.
  const int pad = random_crop ? config.augment.pad : 0;
  crop_offset(rw + 2 * pad, rh + 2 * pad, crop, random_crop, rng, x0, y0);
  x0 -= pad;
  y0 -= pad;
  const bool mirror = augment && config.augment.mirror && rng.below(2) == 1;
  thread_local std::vector<float> window, mean_window, part;
  window.resize(size_t(crop) * crop * ch);
  if (x0 >= 0 && y0 >= 0 && x0 + crop <= rw && y0 + crop <= rh) {
    resize_window(image.pixels.data(), image.width, image.height, ch, rw, rh, x0, y0, crop,
                  crop, window.data());
  } else {  // the window overlaps the border: black, then the part inside the image
    std::fill(window.begin(), window.end(), 0.0f);
    const int ix0 = std::max(x0, 0), iy0 = std::max(y0, 0);
    const int ix1 = std::min(x0 + crop, rw), iy1 = std::min(y0 + crop, rh);
    if (ix1 > ix0 && iy1 > iy0) {
      const int pw = ix1 - ix0, ph = iy1 - iy0;
      part.resize(size_t(pw) * ph * ch);
      resize_window(image.pixels.data(), image.width, image.height, ch, rw, rh, ix0, iy0, pw,
                    ph, part.data());
      for (int y = 0; y < ph; ++y)
        std::copy_n(part.data() + size_t(y) * pw * ch, size_t(pw) * ch,
                    window.data() + (size_t(iy0 - y0 + y) * crop + (ix0 - x0)) * ch);
    }
  }
  const float* mean_image = nullptr;
  if (!mean_image_full.empty()) {
    if (mean_side == crop) {
      mean_image = mean_image_full.data();
    } else {  // resize x resize (warp): the window at the crop's offset, as Caffe does
      mean_window.resize(size_t(crop) * crop * ch);
      for (int k = 0; k < ch; ++k)
        for (int y = 0; y < crop; ++y)
          std::copy_n(mean_image_full.data() + (size_t(k) * mean_side + y0 + y) * mean_side + x0,
                      crop, mean_window.data() + (size_t(k) * crop + y) * crop);
      mean_image = mean_window.data();
    }
  }
  hwc_to_chw_normalized(window.data(), crop, crop, ch, mirror, config.color == "bgr",
                        config.mean.data(), config.std.data(), mean_image, out);
}

std::unique_ptr<Dataset> open_image_folder(const DataConfig& config, Split split,
                                           WarningSink sink) {
  return std::make_unique<ImageFolder>(config, split, std::move(sink));
}

std::unique_ptr<Dataset> open_image_files(const DataConfig& config,
                                          const std::vector<std::string>& files,
                                          std::vector<std::string> class_names) {
  return std::make_unique<ImageFolder>(config, files, std::move(class_names));
}

}  // namespace wp
