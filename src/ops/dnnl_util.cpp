#include "dnnl_util.h"

#include "winoprune/allocator.h"

namespace wp::ops_detail {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

Buffer scratch(const dnnl::memory::desc& md) {
  std::shared_ptr<void> block = allocate_storage(md.get_size());
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
