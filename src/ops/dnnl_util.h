#pragma once
// Private helpers of the ops area: the oneDNN engine and stream, a cache of per-shape plans
// (primitive creation costs 1-50 ms of JIT; executing a cached one costs microseconds), and
// layout conversions between the engine's plain NCHW tensors and a primitive's chosen layout.
#include <dnnl.hpp>
#include <omp.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

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

// A reorder from one layout to another; empty when the layouts are equal and nothing is to be
// accumulated. With accumulate, dst += reorder(src) (oneDNN's sum post-op): how primitives that
// overwrite their outputs ADD into the engine's gradients.
struct Reorder {
  bool needed = false;
  dnnl::reorder prim;
};
Reorder make_reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to,
                     bool accumulate = false);

// `user` in the layout `md`: user itself when no reorder is needed, else a new buffer.
dnnl::memory to_layout(const Reorder& r, dnnl::memory user, const dnnl::memory::desc& md);
// The buffer a primitive should write: `user` when no reorder follows, else a new buffer.
dnnl::memory output_buffer(const Reorder& r, dnnl::memory user, const dnnl::memory::desc& md);
// Moves a primitive's output into `user` (overwrite or accumulate, as the reorder was made).
void from_layout(const Reorder& r, dnnl::memory produced, dnnl::memory user);

// Wraps a float buffer of the engine (plain layout `md`) without copying.
inline dnnl::memory wrap(const dnnl::memory::desc& md, const float* p) {
  return dnnl::memory(md, cpu_engine(), const_cast<float*>(p));
}

// Key fragment for the thread count: plans are built for a fixed OpenMP team size.
inline std::string threads_key() { return "t" + std::to_string(omp_get_max_threads()); }

}  // namespace wp::ops_detail
