#include "scratch.h"

#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

namespace wp::winograd_detail {

namespace {

struct Block {
  float* data;
  size_t capacity;
};

// The blocks not leased. The pool frees them at exit: they are the process's to keep while it
// runs, but a leak checker (tools/check.sh --sanitize) rightly reports blocks that nothing
// points to once the vector is gone.
struct Pool {
  std::vector<Block> blocks;
  ~Pool() {
    for (const Block& b : blocks) std::free(b.data);
  }
};

std::mutex g_mutex;
Pool g_pool;
std::vector<Block>& g_free = g_pool.blocks;

}  // namespace

ScratchLease::ScratchLease(size_t floats) {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_free.reserve(16);  // so the destructor's push_back does not allocate
    // The smallest free block that fits; otherwise drop the largest free block that does not
    // (it would only grow the pool) and allocate.
    size_t best = g_free.size();
    for (size_t i = 0; i < g_free.size(); ++i)
      if (g_free[i].capacity >= floats &&
          (best == g_free.size() || g_free[i].capacity < g_free[best].capacity))
        best = i;
    if (best < g_free.size()) {
      data_ = g_free[best].data;
      capacity_ = g_free[best].capacity;
      g_free.erase(g_free.begin() + long(best));
      return;
    }
    if (!g_free.empty()) {
      size_t largest = 0;
      for (size_t i = 1; i < g_free.size(); ++i)
        if (g_free[i].capacity > g_free[largest].capacity) largest = i;
      std::free(g_free[largest].data);
      g_free.erase(g_free.begin() + long(largest));
    }
  }
  const size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
  data_ = static_cast<float*>(std::aligned_alloc(64, bytes > 0 ? bytes : 64));
  if (!data_) throw std::bad_alloc();
  capacity_ = bytes / sizeof(float);
}

ScratchLease::~ScratchLease() {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_free.push_back(Block{data_, capacity_});
}

}  // namespace wp::winograd_detail
