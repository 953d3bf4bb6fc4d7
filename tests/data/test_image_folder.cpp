// Image folders: the synthetic ImageNet tree read in every validation layout, corrupt and
// missing files, empty classes, config errors.
#include <filesystem>
#include <map>
#include <set>

#include "data_support.h"
#include "winoprune/data/idx.h"
#include "winoprune/data/image.h"
#include "winoprune/data/tools.h"

using namespace wp;
using namespace wp::test;
namespace fs = std::filesystem;

namespace {

json folder_config(const std::string& root, json extra = json::object()) {
  json j = {{"dataset", "imagefolder"}, {"root", root}, {"resize", 40}, {"crop", 32}};
  for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
  return j;
}

// file name -> label of every validation sample.
std::map<std::string, int32_t> val_labels(const json& cfg, std::string* layout = nullptr) {
  auto ds = open_dataset(parse_data(cfg), Split::val);
  std::map<std::string, int32_t> out;
  for (int64_t i = 0; i < ds->size(); ++i)
    out[fs::path(ds->sample_name(i)).filename().string()] = ds->label(i);
  if (layout) *layout = ds->stats().layout;
  return out;
}

SyntheticTreeOptions small_tree() {
  SyntheticTreeOptions o;
  o.classes = 3;
  o.train_per_class = 4;
  o.val_per_class = 3;
  o.width = 48;
  o.height = 36;
  return o;
}

}  // namespace

TEST_CASE("synthetic tree: every validation layout gives identical labels", "[data][folder]") {
  TempDir dir("tree");
  const std::string root = dir / "t";
  SyntheticTree tree = make_synthetic_imagenet(root, small_tree());
  REQUIRE(tree.wnids.size() == 3);
  REQUIRE_THROWS_AS(make_synthetic_imagenet(root, small_tree()), InputError);  // never overwrite

  std::string layout;
  auto folders = val_labels(folder_config(root), &layout);
  REQUIRE(layout == "folders");
  auto list = val_labels(folder_config(root, {{"val", {{"dir", "val_flat"}, {"list", "val.txt"}}}}),
                         &layout);
  REQUIRE(layout == "list");
  auto kaggle = val_labels(folder_config(root, {{"val", {{"dir", "val_flat"}}}}), &layout);
  REQUIRE(layout == "kaggle");  // auto: flat folder + LOC_val_solution.csv
  auto kaggle2 = val_labels(
      folder_config(root, {{"val", {{"dir", "val_flat"}, {"layout", "kaggle"}}}}), &layout);
  REQUIRE(folders.size() == 9);
  REQUIRE(folders == list);
  REQUIRE(folders == kaggle);
  REQUIRE(folders == kaggle2);
  // Labels follow the class of the image: ids 1..9 interleave classes 0, 1, 2.
  REQUIRE(folders["ILSVRC2012_val_00000005.JPEG"] == 1);

  auto train = open_dataset(parse_data(folder_config(root)), Split::train);
  REQUIRE(train->size() == 12);
  REQUIRE(train->classes() == 3);
  REQUIRE(train->class_names() == tree.wnids);
  REQUIRE(train->image_shape() == Shape{3, 32, 32});
  DatasetStats st = train->stats();
  REQUIRE(st.class_counts == std::vector<int64_t>{4, 4, 4});
  REQUIRE(st.to_json()["images"] == 12);
  std::vector<float> out(3 * 32 * 32);
  Rng rng(1);
  for (int64_t i = 0; i < train->size(); ++i) REQUIRE(train->load(i, true, rng, out.data()));
  // gray: one channel.
  auto gray = open_dataset(parse_data(folder_config(root, {{"color", "gray"}})), Split::val);
  REQUIRE(gray->image_shape() == Shape{1, 32, 32});
  REQUIRE(gray->load(0, false, rng, out.data()));
}

TEST_CASE("Kaggle's unpacked archive layout is recognized", "[data][folder]") {
  TempDir dir("kaggle");
  const std::string tree = dir / "t";
  make_synthetic_imagenet(tree, small_tree());
  // Kaggle: root/LOC_*.csv/txt and root/ILSVRC/Data/CLS-LOC/{train,val (flat)}.
  const fs::path root = dir / "k";
  fs::create_directories(root / "ILSVRC/Data/CLS-LOC");
  fs::rename(fs::path(tree) / "train", root / "ILSVRC/Data/CLS-LOC/train");
  fs::rename(fs::path(tree) / "val_flat", root / "ILSVRC/Data/CLS-LOC/val");
  fs::rename(fs::path(tree) / "LOC_val_solution.csv", root / "LOC_val_solution.csv");
  fs::rename(fs::path(tree) / "LOC_synset_mapping.txt", root / "LOC_synset_mapping.txt");
  std::string layout;
  auto labels = val_labels(folder_config(root.string()), &layout);
  REQUIRE(layout == "kaggle");
  REQUIRE(labels.size() == 9);
  REQUIRE(labels["ILSVRC2012_val_00000006.JPEG"] == 2);
  // The synset mapping must list every training class.
  write_text((root / "LOC_synset_mapping.txt").string(), "n01440764 x\n");
  require_input_error([&] { val_labels(folder_config(root.string())); },
                      {"LOC_synset_mapping.txt", "n01441875"});
}

TEST_CASE("corrupt images are skipped and counted, or an error", "[data][folder]") {
  TempDir dir("corrupt");
  const std::string root = dir / "t";
  make_synthetic_imagenet(root, small_tree());
  const fs::path cls = fs::path(root) / "train" / "n01441875";
  write_text((cls / "garbage.JPEG").string(), "this is not an image");
  std::vector<uint8_t> jpg = read_file_bytes((cls / "n01441875_0.JPEG").string());
  jpg.resize(jpg.size() / 2);
  write_bytes((cls / "truncated.jpg").string(), jpg);
  fs::create_directories(fs::path(root) / "train" / "n01442986x");  // an empty class folder

  std::vector<std::string> warnings;
  auto ds = open_dataset(parse_data(folder_config(root)), Split::train,
                         [&](const std::string& m) { warnings.push_back(m); });
  REQUIRE(ds->classes() == 4);
  REQUIRE(ds->stats().empty_classes == std::vector<std::string>{"n01442986x"});
  REQUIRE(warnings.size() == 1);
  REQUIRE(warnings[0].find("n01442986x") != std::string::npos);
  std::vector<float> out(3 * 32 * 32);
  int skipped = 0;
  for (int epoch = 0; epoch < 2; ++epoch)
    for (int64_t i = 0; i < ds->size(); ++i) {
      Rng rng{uint64_t(i)};
      skipped += !ds->load(i, true, rng, out.data());
    }
  REQUIRE(skipped == 4);  // two files, two epochs
  DatasetStats st = ds->stats();
  REQUIRE(st.corrupt == 2);  // each counted once
  REQUIRE(st.corrupt_files.size() == 2);
  REQUIRE(warnings.size() == 3);  // one warning per file
  bool named = false;
  for (const auto& w : warnings) named = named || w.find("truncated.jpg") != std::string::npos;
  REQUIRE(named);

  auto strict = open_dataset(parse_data(folder_config(root, {{"on_corrupt", "error"}})),
                             Split::train, [](const std::string&) {});
  int64_t bad = -1;
  for (int64_t i = 0; i < strict->size(); ++i)
    if (strict->sample_name(i).find("garbage") != std::string::npos) bad = i;
  REQUIRE(bad >= 0);
  Rng rng(1);
  require_input_error([&] { strict->load(bad, false, rng, out.data()); },
                      {"garbage.JPEG", "on_corrupt"});
}

TEST_CASE("missing folders and label files are errors naming them", "[data][folder]") {
  TempDir dir("missing");
  const std::string root = dir / "t";
  make_synthetic_imagenet(root, small_tree());
  require_input_error([&] { open_dataset(parse_data(folder_config(dir / "nope")), Split::train); },
                      {"nope", "data root"});
  require_input_error(
      [&] { open_dataset(parse_data(folder_config(root, {{"train", {{"dir", "tr"}}}})), Split::train); },
      {"/tr", "training folder"});
  require_input_error(
      [&] { val_labels(folder_config(root, {{"val", {{"dir", "vv"}}}})); }, {"/vv", "validation folder"});
  require_input_error(
      [&] { val_labels(folder_config(root, {{"val", {{"dir", "val_flat"}, {"list", "x.txt"}}}})); },
      {"x.txt", "not found"});
  require_input_error(
      [&] {
        val_labels(folder_config(root, {{"val", {{"dir", "val_flat"}, {"layout", "kaggle"},
                                                 {"csv", "nothere.csv"}}}}));
      },
      {"nothere.csv", "not found"});
  write_text(dir / "t/bad.txt", "ILSVRC2012_val_00000001.JPEG 0\nILSVRC2012_val_00000002.JPEG 7\n");
  require_input_error(
      [&] { val_labels(folder_config(root, {{"val", {{"dir", "val_flat"}, {"list", "bad.txt"}}}})); },
      {"bad.txt:2", "label"});
  write_text(dir / "t/bad.csv", "ImageId,PredictionString\nILSVRC2012_val_00000001,n99 1 2 3 4\n");
  require_input_error(
      [&] { val_labels(folder_config(root, {{"val", {{"dir", "val_flat"}, {"csv", "bad.csv"}}}})); },
      {"bad.csv:2", "n99"});
  fs::create_directories(fs::path(root) / "val" / "n12345678");
  require_input_error([&] { val_labels(folder_config(root)); }, {"n12345678", "training classes"});
}

TEST_CASE("data config: defaults, resolved JSON, errors naming the JSON path", "[data][config]") {
  DataConfig f = parse_data(json::object());
  REQUIRE(f.dataset == "fashion-mnist");
  REQUIRE(f.root == kFashionMnistDefaultRoot);
  REQUIRE(f.batch == 128);
  REQUIRE(f.channels() == 1);
  REQUIRE(f.mean == std::vector<float>{72.94f});
  DataConfig g = parse_data(folder_config("/x", {{"color", "bgr"}}));
  REQUIRE(g.mean == std::vector<float>{103.53f, 116.28f, 123.675f});
  REQUIRE(g.val.batch == 128);
  // The resolved config parses back to the same values.
  json resolved = data_config_to_json(g);
  DataConfig g2 = parse_data(resolved);
  REQUIRE(data_config_to_json(g2) == resolved);
  REQUIRE(data_config_to_json(parse_data(data_config_to_json(f))) == data_config_to_json(f));

  require_input_error([] { parse_data({{"batch", 0}}); }, {"data.batch"});
  require_input_error([] { parse_data({{"batch", 8}, {"accumulate", 9}}); },
                      {"data.accumulate", "at most batch (8)"});
  require_input_error([] { parse_data({{"accumulate", 0}}); }, {"data.accumulate"});
  REQUIRE(parse_data({{"batch", 8}, {"accumulate", 4}}).accumulate == 4);
  REQUIRE(data_config_to_json(parse_data({{"accumulate", 2}}))["accumulate"] == 2);
  require_input_error([] { parse_data({{"bogus", 1}}); }, {"data.bogus", "unknown key"});
  require_input_error([] { parse_data({{"crop", 24}}); }, {"data.crop", "unknown key"});
  require_input_error([] { parse_data({{"dataset", "imagefolder"}}); }, {"data.root", "required"});
  require_input_error([] { parse_data(folder_config("/x", {{"crop", 300}})); },
                      {"data.crop", "at most resize"});
  require_input_error([] { parse_data(folder_config("/x", {{"mean", {1, 2}}})); },
                      {"data.mean", "3"});
  require_input_error([] { parse_data(folder_config("/x", {{"std", {1, 0, 1}}})); },
                      {"data.std", "positive"});
  require_input_error([] { parse_data({{"augment", {{"pad", 65}}}}); }, {"data.augment.pad"});
  // Image folders take a pad too (black borders around the resized image, see below).
  REQUIRE(parse_data(folder_config("/x", {{"augment", {{"pad", 2}}}})).augment.pad == 2);
  require_input_error([] { parse_data({{"on_corrupt", "ignore"}}); }, {"data.on_corrupt"});
  require_input_error([] { parse_data(folder_config("/x", {{"val", {{"layout", "list"}}}})); },
                      {"data.val.list", "required"});
  require_input_error([] { parse_data({{"val", {{"layout", "folders"}}}}); },
                      {"data.val.layout", "unknown key"});
}

TEST_CASE("a mean image is subtracted at the crop position", "[data][folder]") {
  TempDir dir("mean");
  const std::string root = dir / "t";
  SyntheticTreeOptions o = small_tree();
  o.vary_size = false;
  make_synthetic_imagenet(root, o);
  Image8 mean;
  mean.width = mean.height = 40;
  mean.channels = 3;
  mean.pixels.resize(40 * 40 * 3);
  for (size_t i = 0; i < mean.pixels.size(); ++i) mean.pixels[i] = uint8_t(i % 251);
  write_image_file(dir / "mean.png", mean);
  json base = folder_config(root, {{"resize_mode", "warp"}, {"std", {1, 1, 1}}, {"mean", {0, 0, 0}}});
  json with_mean = base;
  with_mean["mean"] = dir / "mean.png";
  auto plain = open_dataset(parse_data(base), Split::train);
  auto sub = open_dataset(parse_data(with_mean), Split::train);
  std::vector<float> a(3 * 32 * 32), b(a.size());
  Rng r1(5), r2(5);
  REQUIRE(plain->load(0, true, r1, a.data()));
  REQUIRE(sub->load(0, true, r2, b.data()));
  // Same rng: same crop (x0, y0) and mirror; recover them from the difference.
  bool found = false;
  for (int y0 = 0; y0 <= 8 && !found; ++y0)
    for (int x0 = 0; x0 <= 8 && !found; ++x0)
      for (int m = 0; m < 2 && !found; ++m) {
        bool ok = true;
        for (int k = 0; k < 3 && ok; ++k)
          for (int y = 0; y < 32 && ok; ++y)
            for (int x = 0; x < 32 && ok; ++x) {
              int xs = m ? 31 - x : x;
              float mv = mean.pixels[(size_t(y0 + y) * 40 + x0 + xs) * 3 + k];
              ok = std::fabs(a[(k * 32 + y) * 32 + x] - b[(k * 32 + y) * 32 + x] - mv) < 1e-3f;
            }
        found = ok;
      }
  REQUIRE(found);
  json bad = with_mean;
  bad["resize_mode"] = "shorter";
  require_input_error([&] { open_dataset(parse_data(bad), Split::train); }, {"mean.png", "32x32"});
}

TEST_CASE("arrange_imagenet_val.py builds class folders of links from the csv or a list",
          "[data][scripts]") {
  if (std::system("python3 -c 'import sys' > /dev/null 2>&1") != 0) {
    WARN("SKIPPED: python3 not available");
    return;
  }
  TempDir dir("arrange");
  const std::string root = dir / "t";
  make_synthetic_imagenet(root, small_tree());
  const std::string script =
      std::string(WINOPRUNE_SOURCE_DIR) + "/data_scripts/arrange_imagenet_val.py";
  auto run = [&](const std::string& args) {
    return std::system(("python3 " + script + " " + args + " > /dev/null 2>&1").c_str());
  };
  const std::string flat = root + "/val_flat";
  REQUIRE(run("--val-dir " + flat + " --csv " + root + "/LOC_val_solution.csv --out " + root +
              "/by_csv") == 0);
  REQUIRE(run("--val-dir " + flat + " --list " + root + "/val.txt --train-dir " + root +
              "/train --out " + root + "/by_list") == 0);
  REQUIRE(run("--val-dir " + flat + " --list " + root + "/val.txt --synsets " + root +
              "/LOC_synset_mapping.txt --out " + root + "/by_synsets --copy") == 0);
  // Refuses to overwrite; bad input is exit status 2.
  REQUIRE(run("--val-dir " + flat + " --csv " + root + "/LOC_val_solution.csv --out " + root +
              "/by_csv") != 0);
  REQUIRE(run("--val-dir " + flat + " --list " + root + "/val.txt --out " + root + "/x") != 0);
  REQUIRE_FALSE(fs::exists(root + "/x"));
  // The originals stay; the links point at them.
  REQUIRE(fs::is_regular_file(flat + "/ILSVRC2012_val_00000001.JPEG"));
  REQUIRE(fs::is_symlink(root + "/by_csv/n01440764/ILSVRC2012_val_00000001.JPEG"));
  auto reference = val_labels(folder_config(root));
  for (const char* out : {"by_csv", "by_list", "by_synsets"})
    REQUIRE(val_labels(folder_config(root, {{"val", {{"dir", out}}}})) == reference);
}

TEST_CASE("Fashion-MNIST exported as PNG folders reads back the same samples", "[data][scripts]") {
  if (!fs::exists(std::string(kFashionMnistDefaultRoot) + "/t10k-images-idx3-ubyte.gz")) {
    WARN("SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    return;
  }
  TempDir dir("fmexport");
  FashionMnistExportOptions o;
  o.limit = 30;
  REQUIRE(export_fashion_mnist_folder(dir / "f", o) == 60);
  REQUIRE_THROWS_AS(export_fashion_mnist_folder(dir / "f", o), InputError);
  json norm = {{"mean", {72.94}}, {"std", {90.02}}};
  DataConfig fm_cfg = parse_data(norm);
  json folder = folder_config(dir / "f", {{"color", "gray"}, {"resize", 28}, {"crop", 28}});
  folder["mean"] = norm["mean"];
  folder["std"] = norm["std"];
  auto fm = open_dataset(fm_cfg, Split::val);
  auto fd = open_dataset(parse_data(folder), Split::val);
  REQUIRE(fd->size() == 30);
  REQUIRE(fd->classes() == 10);
  REQUIRE(fd->class_names()[9] == "9_ankle-boot");
  std::vector<float> a(784), b(784);
  Rng rng(1);
  for (int64_t i = 0; i < fd->size(); ++i) {
    // val_00012.png is t10k sample 12.
    std::string name = fs::path(fd->sample_name(i)).stem().string();
    int64_t index = std::stoll(name.substr(4));
    REQUIRE(fd->label(i) == fm->label(index));
    REQUIRE(fd->load(i, false, rng, a.data()));
    REQUIRE(fm->load(index, false, rng, b.data()));
    REQUIRE(a == b);
  }
}

TEST_CASE("augment.pad: black borders around the resized image before the random crop",
          "[data][folder]") {
  // A 12x12 gray image, resize 12 (warp: the identity) and crop 12 with pad 3: every training
  // sample is the image shifted by (dx, dy) in [-3, 3]^2 with black (0) where it left the frame,
  // as torchvision's RandomCrop(12, padding=3); evaluation gives the image itself.
  TempDir dir("pad");
  const fs::path root = dir / "t";
  fs::create_directories(root / "train" / "a");
  Image8 im;
  im.width = im.height = 12;
  im.channels = 1;
  im.pixels.resize(144);
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = uint8_t(1 + (i * 37) % 250);
  write_image_file(root / "train" / "a" / "x.png", im);
  json cfg = {{"dataset", "imagefolder"}, {"root", root.string()}, {"resize", 12},
              {"resize_mode", "warp"}, {"crop", 12}, {"color", "gray"}, {"mean", {0}},
              {"std", {1}}, {"augment", {{"mirror", false}, {"random_crop", true}, {"pad", 3}}}};
  auto ds = open_dataset(parse_data(cfg), Split::train);
  std::vector<float> out(144);
  Rng rng(1);
  REQUIRE(ds->load(0, false, rng, out.data()));
  for (int i = 0; i < 144; ++i) REQUIRE(out[size_t(i)] == float(im.pixels[size_t(i)]));
  std::set<std::pair<int, int>> shifts;
  for (int draw = 0; draw < 200; ++draw) {
    REQUIRE(ds->load(0, true, rng, out.data()));
    int found = 0;
    for (int dy = -3; dy <= 3; ++dy)
      for (int dx = -3; dx <= 3; ++dx) {
        bool ok = true;
        for (int y = 0; y < 12 && ok; ++y)
          for (int x = 0; x < 12 && ok; ++x) {
            const int sx = x + dx, sy = y + dy;
            const float want = sx < 0 || sy < 0 || sx >= 12 || sy >= 12
                                   ? 0.0f
                                   : float(im.pixels[size_t(sy) * 12 + sx]);
            ok = out[size_t(y) * 12 + x] == want;
          }
        if (ok) {
          ++found;
          shifts.insert({dx, dy});
        }
      }
    REQUIRE(found == 1);
  }
  REQUIRE(shifts.size() == 49);   // all 7 x 7 offsets occur in 200 draws
  json bad = cfg;
  bad["mean"] = dir / "mean.png";
  require_input_error([&] { parse_data(bad); }, {"mean", "augment.pad"});
}
