#pragma once
// BatchLoader: one epoch of batches, prepared ahead on background threads.
//
// Determinism: the sample order is a pure function of (seed, epoch) (Fisher-Yates driven by
// Rng(mix(seed, epoch))), and each sample's augmentation draws from Rng(mix(seed, epoch,
// index)), so the batches do not depend on the number of workers or on thread timing, and a
// run resumed at (epoch, start_batch) sees exactly the batches an uninterrupted run sees.
//
// Threads and memory: one producer thread fills batch after batch, each with a parallel_for
// over its samples inside a tbb::task_arena of `workers` threads (the cap that keeps the
// pipeline from starving OpenMP compute), and hands it over through a queue of `prefetch`
// slots. At most prefetch + 2 batches exist at a time (queue, the one being filled, the one
// the caller holds).
//
// Corrupt samples (on_corrupt "skip") are left out of their batch, which is then smaller; a
// batch left with no sample is not returned. Errors in the producer are rethrown by next().
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "winoprune/data/dataset.h"
#include "winoprune/tensor.h"

namespace wp {

struct Batch {
  Tensor images;                 // [N, C, H, W]
  std::vector<int32_t> labels;   // [N]
  std::vector<int64_t> indices;  // [N] dataset indices
  int64_t epoch = 0, index = 0;  // index: batch number within the epoch
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

struct LoaderOptions {
  int batch = 128;
  bool shuffle = false;
  bool augment = false;
  bool drop_last = false;    // drop the last partial batch (training)
  uint64_t seed = 1;
  int64_t epoch = 0;
  int64_t start_batch = 0;   // first batch returned (resume)
  int workers = 2;           // 0: batches are loaded by next() in the calling thread
  int prefetch = 3;          // batches ready ahead (>= 1)
  // Data-parallel runs: every global batch (of `batch` samples) is split into `shards`
  // contiguous slices and this loader returns slice `shard` of each, so the union over shards
  // is the single-process batch. A sharded loader returns every batch, even an empty slice (all
  // its samples corrupt), since every rank must take every step.
  int shard = 0, shards = 1;
};

// Training: shuffle, augment, drop_last from the config. Evaluation: in order, no augmentation,
// every sample, val.batch.
LoaderOptions train_loader_options(const DataConfig& config, uint64_t seed, int64_t epoch,
                                   int64_t start_batch = 0);
LoaderOptions eval_loader_options(const DataConfig& config);

// The order of an epoch: identity without shuffle, else a permutation fixed by (seed, epoch).
std::vector<int64_t> epoch_order(int64_t n, bool shuffle, uint64_t seed, int64_t epoch);
// The Rng that augments dataset sample `index` in `epoch`.
Rng sample_rng(uint64_t seed, int64_t epoch, int64_t index);

class BatchLoader {
 public:
  BatchLoader(const Dataset& dataset, const LoaderOptions& options);
  ~BatchLoader();  // stops and joins the producer
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // The next batch of the epoch; false at its end.
  bool next(Batch& batch);
  int64_t batches_per_epoch() const;

 private:
  bool fill(int64_t batch_index, Batch& batch);  // false: every sample skipped
  void produce();

  const Dataset& dataset_;
  LoaderOptions options_;
  std::vector<int64_t> order_;
  int64_t next_batch_;  // used when workers == 0

  std::thread producer_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Batch> ready_;
  bool done_ = false, stop_ = false;
  std::exception_ptr error_;
};

}  // namespace wp
