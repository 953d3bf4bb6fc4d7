#pragma once
// Private helpers of the ops area: the oneDNN engine and stream, a cache of per-shape plans
// (creating a primitive JIT-compiles its kernel; executing a cached one costs microseconds),
// recycled scratch buffers, and layout conversions between the engine's plain NCHW tensors and
// a primitive's chosen layout.
#include <dnnl.hpp>
#include <omp.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "winoprune/ops/ops.h"

namespace wp::ops_detail {

dnnl::engine& cpu_engine();
// One stream per calling thread (an OpenMP-runtime stream executes in the caller's thread).
dnnl::stream& cpu_stream();

// The plan for `key`, filled by init(plan) on first use and kept for the life of the process
// (one per layer shape and thread count: a few dozen at most). Plans never move, so references
// stay valid; init() runs under the lock.
template <typename Plan, typename Init>
Plan& cached_plan(const std::string& key, Init init) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<Plan>> plans;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = plans.find(key);
  if (it == plans.end()) {
    auto plan = std::make_unique<Plan>();
    init(*plan);
    it = plans.emplace(key, std::move(plan)).first;
  }
  return *it->second;
}

// A buffer in some layout: either a view of the caller's tensor (keep empty) or scratch that is
// freed when the last copy of `keep` goes away.
struct Buffer {
  dnnl::memory mem;
  std::shared_ptr<void> keep;
};

// Scratch memory of layout `md`, from the storage segments tensors use (allocator.h), so a
// freed activation can serve as scratch and the other way round. Why not fresh memory: a freshly
// mapped buffer costs a page fault per 4 KB on first touch; without recycling, one AlexNet
// training step at batch 64 took 476,705 faults (1.95 GB) and 2.75 s of CPU on one thread,
// against 2.01 s with none (/tmp measurement, glibc malloc maps blocks above 32 MB afresh on
// every allocation).
Buffer scratch(const dnnl::memory::desc& md);

// Wraps a float buffer of the engine (plain layout `md`) without copying.
inline Buffer wrap(const dnnl::memory::desc& md, const float* p) {
  return {dnnl::memory(md, cpu_engine(), const_cast<float*>(p)), nullptr};
}

// A reorder from one layout to another; empty when the layouts are equal and nothing is to be
// accumulated. With accumulate, dst += reorder(src) (oneDNN's sum post-op): how primitives that
// overwrite their outputs ADD into the engine's gradients.
struct Reorder {
  bool needed = false;
  dnnl::reorder prim;
};
Reorder make_reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to,
                     bool accumulate = false);

// `user` in the layout `md`: user itself when no reorder is needed, else converted scratch.
Buffer to_layout(const Reorder& r, const Buffer& user, const dnnl::memory::desc& md);
// The buffer a primitive should write: `user` when no reorder follows, else scratch.
Buffer output_buffer(const Reorder& r, const Buffer& user, const dnnl::memory::desc& md);
// Moves a primitive's output into `user` (overwrite or accumulate, as the reorder was made).
void from_layout(const Reorder& r, const Buffer& produced, const Buffer& user);

// conv2d.cpp's plan of one convolution shape (its primitives, built once).
struct ConvPlan;
// *y = max(0, conv2d(x, w, b)) in the layout the convolution chooses (scratch of its dst desc),
// for ops that chain more primitives on it before converting to NCHW (conv2d_relu_lrn_pool.cpp);
// returns the plan, and in plan_key its cache key (the layout is a function of it). Throws
// InputError on bad shapes, as conv2d does.
ConvPlan& conv2d_relu_forward_own_layout(const Tensor& x, const Tensor& w, const Tensor* b,
                                         const Conv2dParams& p, Buffer* y,
                                         std::string* plan_key);
// The convolution's backward (without the ReLU) for dy in the forward's own dst layout: adds
// into dx, dw, db (each may be null), as conv2d's backward does.
void conv2d_backward_own_layout(ConvPlan& P, const Buffer& dy, float* dx, float* dw, float* db,
                                const float* x, const float* w);

// Key fragment for the thread count: plans are built for a fixed OpenMP team size.
inline std::string threads_key() { return "t" + std::to_string(omp_get_max_threads()); }

}  // namespace wp::ops_detail
