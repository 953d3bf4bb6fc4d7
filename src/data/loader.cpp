// BatchLoader (contract in include/winoprune/data/loader.h).
#include <tbb/blocked_range.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstring>

#include "winoprune/data/loader.h"
#include "winoprune/error.h"

namespace wp {

namespace {
// Stream tags so the shuffle and the augmentation streams never coincide.
constexpr uint64_t kShuffleTag = 0x5348554646ull, kAugmentTag = 0x4155474dull;
}  // namespace

std::vector<int64_t> epoch_order(int64_t n, bool shuffle, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(size_t(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
  if (shuffle && n > 1) {
    if (n > int64_t(UINT32_MAX)) throw InputError("epoch_order: more than 2^32 samples");
    Rng rng(mix(seed, uint64_t(epoch), kShuffleTag), kShuffleTag);
    for (int64_t i = n - 1; i > 0; --i)  // Fisher-Yates
      std::swap(order[size_t(i)], order[rng.below(uint32_t(i + 1))]);
  }
  return order;
}

Rng sample_rng(uint64_t seed, int64_t epoch, int64_t index) {
  return Rng(mix(seed, uint64_t(epoch), uint64_t(index), kAugmentTag), kAugmentTag);
}

LoaderOptions train_loader_options(const DataConfig& config, uint64_t seed, int64_t epoch,
                                   int64_t start_batch) {
  LoaderOptions o;
  o.batch = config.batch;
  o.shuffle = config.shuffle;
  o.augment = true;
  o.drop_last = config.drop_last;
  o.seed = seed;
  o.epoch = epoch;
  o.start_batch = start_batch;
  o.workers = config.workers;
  o.prefetch = config.prefetch;
  return o;
}

LoaderOptions eval_loader_options(const DataConfig& config) {
  LoaderOptions o;
  o.batch = config.val.batch > 0 ? config.val.batch : config.batch;
  o.workers = config.workers;
  o.prefetch = config.prefetch;
  return o;
}

BatchLoader::BatchLoader(const Dataset& dataset, const LoaderOptions& options)
    : dataset_(dataset), options_(options), next_batch_(options.start_batch) {
  if (options_.batch < 1) throw InputError("BatchLoader: batch must be >= 1");
  if (options_.prefetch < 1) options_.prefetch = 1;
  if (options_.start_batch < 0 || options_.start_batch > batches_per_epoch())
    throw InputError("BatchLoader: start batch " + std::to_string(options_.start_batch) +
                     " outside the epoch's " + std::to_string(batches_per_epoch()) + " batches");
  order_ = epoch_order(dataset_.size(), options_.shuffle, options_.seed, options_.epoch);
  if (options_.workers > 0) producer_ = std::thread([this] { produce(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (producer_.joinable()) producer_.join();
}

int64_t BatchLoader::batches_per_epoch() const {
  const int64_t n = dataset_.size(), b = options_.batch;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

bool BatchLoader::fill(int64_t batch_index, Batch& batch) {
  const int64_t n = dataset_.size();
  const int64_t global_begin = batch_index * options_.batch;
  const int64_t global_count = std::min<int64_t>(options_.batch, n - global_begin);
  // This shard's contiguous slice of the global batch (the whole batch when shards == 1).
  const int64_t begin = global_begin + global_count * options_.shard / options_.shards;
  const int64_t count =
      global_begin + global_count * (options_.shard + 1) / options_.shards - begin;
  const Shape shape = dataset_.image_shape();
  const int64_t sample = shape_numel(shape);
  Tensor images = Tensor::empty({count, shape[0], shape[1], shape[2]});
  std::vector<char> ok(size_t(count), 0);
  auto load_range = [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const int64_t index = order_[size_t(begin + i)];
      Rng rng = sample_rng(options_.seed, options_.epoch, index);
      ok[size_t(i)] = dataset_.load(index, options_.augment, rng, images.data() + i * sample);
    }
  };
  if (options_.workers > 0) {
    // Called inside the producer's task arena: its threads share the samples.
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, count, 1),
                      [&](const tbb::blocked_range<int64_t>& r) { load_range(r.begin(), r.end()); });
  } else {
    load_range(0, count);
  }
  // Keep the loaded samples, in order.
  batch.labels.clear();
  batch.indices.clear();
  int64_t kept = 0;
  for (int64_t i = 0; i < count; ++i) {
    if (!ok[size_t(i)]) continue;
    if (kept != i)
      std::memcpy(images.data() + kept * sample, images.data() + i * sample,
                  size_t(sample) * sizeof(float));
    const int64_t index = order_[size_t(begin + i)];
    batch.labels.push_back(dataset_.label(index));
    batch.indices.push_back(index);
    ++kept;
  }
  batch.images = kept == count ? images : images.slice(0, kept);
  batch.epoch = options_.epoch;
  batch.index = batch_index;
  // Sharded, an empty slice is still a step: every shard must see every batch.
  return kept > 0 || options_.shards > 1;
}

void BatchLoader::produce() {
  try {
    // More threads than cores would only be refused by TBB (with a warning on stderr).
    tbb::task_arena arena(std::min(options_.workers, tbb::info::default_concurrency()));
    const int64_t total = batches_per_epoch();
    for (int64_t b = options_.start_batch; b < total; ++b) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return stop_ || int(ready_.size()) < options_.prefetch; });
        if (stop_) break;
      }
      Batch batch;
      bool any = false;
      arena.execute([&] { any = fill(b, batch); });
      if (!any) continue;
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.push_back(std::move(batch));
      cv_.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = std::current_exception();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  done_ = true;
  cv_.notify_all();
}

bool BatchLoader::next(Batch& batch) {
  if (options_.workers == 0) {
    for (const int64_t total = batches_per_epoch(); next_batch_ < total;)
      if (fill(next_batch_++, batch)) return true;
    return false;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return !ready_.empty() || done_; });
  if (!ready_.empty()) {
    batch = std::move(ready_.front());
    ready_.pop_front();
    cv_.notify_all();
    return true;
  }
  if (error_) {
    std::exception_ptr e = error_;
    error_ = nullptr;
    std::rethrow_exception(e);
  }
  return false;
}

}  // namespace wp
