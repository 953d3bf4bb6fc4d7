// The Dataset base: corrupt-sample bookkeeping, warnings, stats; open_dataset dispatches.
#include <iostream>

#include "datasets_internal.h"
#include "winoprune/data/dataset.h"
#include "winoprune/error.h"

namespace wp {

namespace {
constexpr size_t kMaxCorruptNames = 1000;  // ImageNet has a handful; keep the report bounded
}

const char* split_name(Split split) { return split == Split::train ? "train" : "val"; }

json DatasetStats::to_json() const {
  return json{{"dataset", dataset},         {"split", split},
              {"root", root},               {"layout", layout},
              {"images", images},
              {"classes", classes},         {"class_counts", class_counts},
              {"empty_classes", empty_classes}, {"corrupt", corrupt},
              {"corrupt_files", corrupt_files}};
}

Dataset::Dataset(const DataConfig& config, Split split, WarningSink sink)
    : corrupt_is_error_(config.on_corrupt == "error"), sink_(std::move(sink)) {
  base_stats_.dataset = config.dataset;
  base_stats_.split = split_name(split);
  base_stats_.root = config.root;
  if (!sink_) sink_ = [](const std::string& m) { std::cerr << "warning: " << m << std::endl; };
}

void Dataset::warn(const std::string& message) const { sink_(message); }

void Dataset::corrupt_sample(int64_t index, const std::string& name,
                             const std::string& reason) const {
  if (corrupt_is_error_)
    throw InputError(name + ": " + reason + " (data.on_corrupt is \"error\"; \"skip\" skips it)");
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!corrupt_indices_.insert(index).second) return;  // warned about in an earlier epoch
    if (corrupt_names_.size() < kMaxCorruptNames) corrupt_names_.push_back(name);
  }
  warn(name + ": " + reason + "; skipped");
}

DatasetStats Dataset::stats() const {
  DatasetStats s = base_stats_;
  std::lock_guard<std::mutex> lock(mutex_);
  s.corrupt = int64_t(corrupt_indices_.size());
  s.corrupt_files = corrupt_names_;
  return s;
}

std::vector<int64_t> limit_indices(int64_t n, int64_t limit) {
  std::vector<int64_t> out;
  if (limit <= 0 || limit >= n) {
    out.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) out[size_t(i)] = i;
    return out;
  }
  out.resize(size_t(limit));
  for (int64_t i = 0; i < limit; ++i) out[size_t(i)] = i * n / limit;
  return out;
}

std::unique_ptr<Dataset> open_dataset(const DataConfig& config, Split split, WarningSink sink) {
  if (config.dataset == "fashion-mnist") return open_fashion_mnist(config, split, std::move(sink));
  if (config.dataset == "imagefolder") return open_image_folder(config, split, std::move(sink));
  throw InputError("data.dataset: expected \"fashion-mnist\" or \"imagefolder\", got \"" +
                   config.dataset + "\"");
}

}  // namespace wp
