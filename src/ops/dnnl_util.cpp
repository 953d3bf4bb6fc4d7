#include "dnnl_util.h"

#include <cstdlib>
#include <new>

namespace wp::ops_detail {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

namespace {

// Freed scratch blocks by size. Leaked at exit on purpose (no destructor-order hazards with
// buffers still held by static plans or graphs).
struct ScratchPool {
  std::mutex mutex;
  std::multimap<size_t, void*> free_blocks;
};
ScratchPool& pool() {
  static ScratchPool* p = new ScratchPool;
  return *p;
}

std::shared_ptr<void> take_block(size_t bytes) {
  bytes = (bytes + 63) / 64 * 64;
  ScratchPool& P = pool();
  void* block = nullptr;
  size_t size = bytes;
  {
    std::lock_guard<std::mutex> lock(P.mutex);
    auto it = P.free_blocks.lower_bound(bytes);
    if (it != P.free_blocks.end() && it->first <= 2 * bytes) {
      size = it->first;
      block = it->second;
      P.free_blocks.erase(it);
    }
  }
  if (!block) block = std::aligned_alloc(64, size);
  if (!block) throw std::bad_alloc();
  return std::shared_ptr<void>(block, [size](void* b) {
    ScratchPool& P = pool();
    std::lock_guard<std::mutex> lock(P.mutex);
    P.free_blocks.emplace(size, b);
  });
}

}  // namespace

Buffer scratch(const dnnl::memory::desc& md) {
  std::shared_ptr<void> block = take_block(md.get_size());
  return {dnnl::memory(md, cpu_engine(), block.get()), block};
}

Reorder make_reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to,
                     bool accumulate) {
  Reorder r;
  if (from == to && !accumulate) return r;
  dnnl::primitive_attr attr;
  if (accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  r.needed = true;
  r.prim = dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), from, cpu_engine(), to, attr));
  return r;
}

Buffer to_layout(const Reorder& r, const Buffer& user, const dnnl::memory::desc& md) {
  if (!r.needed) return user;
  Buffer b = scratch(md);
  r.prim.execute(cpu_stream(), const_cast<dnnl::memory&>(user.mem), b.mem);
  return b;
}

Buffer output_buffer(const Reorder& r, const Buffer& user, const dnnl::memory::desc& md) {
  return r.needed ? scratch(md) : user;
}

void from_layout(const Reorder& r, const Buffer& produced, const Buffer& user) {
  if (r.needed)
    r.prim.execute(cpu_stream(), const_cast<dnnl::memory&>(produced.mem),
                   const_cast<dnnl::memory&>(user.mem));
}

}  // namespace wp::ops_detail
