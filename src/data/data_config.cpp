// The "data" object of a config (keys and defaults: include/winoprune/data/dataset.h).
#include <cmath>

#include "winoprune/data/dataset.h"
#include "winoprune/error.h"

namespace wp {

namespace {

// Fashion-MNIST train split, 60000 x 28 x 28 pixels in 0..255: mean 72.94, std 90.02
// (0.2860 and 0.3530 of 255).
const std::vector<float> kFmnistMean = {72.94f}, kFmnistStd = {90.02f};
// The usual ImageNet RGB statistics (0.485, 0.456, 0.406 / 0.229, 0.224, 0.225 of 255); gray:
// the luma-weighted combination (0.299 R + 0.587 G + 0.114 B).
const std::vector<float> kImagenetMean = {123.675f, 116.28f, 103.53f};
const std::vector<float> kImagenetStd = {58.395f, 57.12f, 57.375f};
const std::vector<float> kImagenetGrayMean = {116.45f}, kImagenetGrayStd = {57.4f};

std::vector<float> channel_values(JsonReader& r, const char* key, const std::vector<float>& def,
                                  int channels, bool positive) {
  if (!r.has(key)) {
    (void)r.optional_number(key, 0, 1);  // marks the key as known
    return def;
  }
  const json& v = r.raw(key);
  std::string expect = "expected an array of " + std::to_string(channels) +
                       (positive ? " positive numbers" : " numbers") + " (one per channel)";
  if (!v.is_array() || int(v.size()) != channels) r.fail(key, expect + ", got " + json_brief(v));
  std::vector<float> out;
  for (const json& x : v) {
    if (!x.is_number() || !std::isfinite(x.get<double>()) || (positive && x.get<double>() <= 0))
      r.fail(key, expect + ", got " + json_brief(v));
    out.push_back(x.get<float>());
  }
  return out;
}

void parse_split(JsonReader& r, SplitConfig& s, bool imagefolder, bool is_val, int batch) {
  s.limit = r.integer("limit", 0, 0, int64_t(1) << 40);
  if (is_val) s.batch = int(r.integer("batch", batch, 1, 1 << 20));
  if (imagefolder) {
    s.dir = r.string("dir", is_val ? "val" : "train");
    if (s.dir.empty()) r.fail("dir", "expected a folder name, got \"\"");
    if (is_val) {
      s.layout = r.string("layout", "auto", {"auto", "folders", "list", "kaggle"});
      s.list = r.string("list", "");
      s.csv = r.string("csv", "LOC_val_solution.csv");
      s.synsets = r.string("synsets", "LOC_synset_mapping.txt");
      if (s.layout == "list" && s.list.empty())
        r.fail("list", "is required with layout \"list\" (a Caffe list \"<path> <label>\")");
    }
  }
  r.finish();
}

}  // namespace

DataConfig parse_data_config(JsonReader& r) {
  DataConfig c;
  c.dataset = r.string("dataset", "fashion-mnist", {"fashion-mnist", "imagefolder"});
  const bool folder = c.dataset == "imagefolder";
  if (folder) {
    if (!r.has("root")) r.fail("root", "is required for dataset \"imagefolder\"");
    c.root = r.string("root", "");
  } else {
    c.root = r.string("root", kFashionMnistDefaultRoot);
  }
  if (c.root.empty()) r.fail("root", "expected a folder, got \"\"");
  c.batch = int(r.integer("batch", 128, 1, 1 << 20));
  c.accumulate = int(r.integer("accumulate", 1, 1, 1 << 20));
  if (c.accumulate > c.batch)
    r.fail("accumulate", "expected at most batch (" + std::to_string(c.batch) + ") slices, got " +
                             std::to_string(c.accumulate));
  {
    JsonReader t = r.object("train");
    parse_split(t, c.train, folder, false, c.batch);
  }
  {
    JsonReader v = r.object("val");
    parse_split(v, c.val, folder, true, c.batch);
  }
  if (!folder) c.train.dir = c.val.dir = "";
  {
    JsonReader a = r.object("augment");
    c.augment.mirror = a.boolean("mirror", true);
    c.augment.random_crop = a.boolean("random_crop", true);
    c.augment.pad = int(a.integer("pad", 0, 0, 64));
    a.finish();
  }
  c.on_corrupt = r.string("on_corrupt", "skip", {"skip", "error"});
  c.workers = int(r.integer("workers", 2, 0, 256));
  c.prefetch = int(r.integer("prefetch", 3, 1, 64));
  c.shuffle = r.boolean("shuffle", true);
  c.drop_last = r.boolean("drop_last", true);
  c.allow_fewer_classes = r.boolean("allow_fewer_classes", false);
  if (folder) {
    c.color = r.string("color", "rgb", {"rgb", "bgr", "gray"});
    c.resize = int(r.integer("resize", 256, 1, 8192));
    c.resize_mode = r.string("resize_mode", "shorter", {"shorter", "warp"});
    c.crop = int(r.integer("crop", 227, 1, 8192));
    if (c.crop > c.resize)
      r.fail("crop", "expected at most resize (" + std::to_string(c.resize) + "), got " +
                         std::to_string(c.crop));
  } else {
    c.color = r.string("color", "gray", {"gray"});
    c.crop = 28;
    c.resize = 28;
  }
  const int ch = c.channels();
  std::vector<float> mean_def = !folder ? kFmnistMean : ch == 1 ? kImagenetGrayMean : kImagenetMean;
  std::vector<float> std_def = !folder ? kFmnistStd : ch == 1 ? kImagenetGrayStd : kImagenetStd;
  if (c.color == "bgr") {
    std::swap(mean_def[0], mean_def[2]);
    std::swap(std_def[0], std_def[2]);
  }
  if (folder && r.has("mean") && r.raw("mean").is_string()) {
    c.mean_image = r.raw("mean").get<std::string>();
    if (c.mean_image.empty()) r.fail("mean", "expected a mean image path, got \"\"");
    if (c.augment.pad > 0)
      r.fail("mean", "a mean image cannot be combined with augment.pad " +
                         std::to_string(c.augment.pad) + " (use per-channel values)");
    c.mean.assign(size_t(ch), 0.0f);
  } else {
    c.mean = channel_values(r, "mean", mean_def, ch, false);
  }
  c.std = channel_values(r, "std", std_def, ch, true);
  r.finish();
  return c;
}

json data_config_to_json(const DataConfig& c) {
  const bool folder = c.dataset == "imagefolder";
  auto split = [&](const SplitConfig& s, bool is_val) {
    json j = {{"limit", s.limit}};
    if (is_val) j["batch"] = s.batch;
    if (folder) {
      j["dir"] = s.dir;
      if (is_val) {
        j["layout"] = s.layout;
        j["list"] = s.list;
        j["csv"] = s.csv;
        j["synsets"] = s.synsets;
      }
    }
    return j;
  };
  json j = {{"dataset", c.dataset},
            {"root", c.root},
            {"batch", c.batch},
            {"accumulate", c.accumulate},
            {"train", split(c.train, false)},
            {"val", split(c.val, true)},
            {"augment",
             {{"mirror", c.augment.mirror}, {"random_crop", c.augment.random_crop},
              {"pad", c.augment.pad}}},
            {"on_corrupt", c.on_corrupt},
            {"workers", c.workers},
            {"prefetch", c.prefetch},
            {"shuffle", c.shuffle},
            {"drop_last", c.drop_last},
            {"allow_fewer_classes", c.allow_fewer_classes},
            {"color", c.color}};
  if (c.mean_image.empty())
    j["mean"] = c.mean;
  else
    j["mean"] = c.mean_image;
  j["std"] = c.std;
  if (folder) {
    j["resize"] = c.resize;
    j["resize_mode"] = c.resize_mode;
    j["crop"] = c.crop;
  }
  return j;
}

}  // namespace wp
