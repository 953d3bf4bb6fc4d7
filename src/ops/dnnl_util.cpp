#include "dnnl_util.h"

namespace wp::ops_detail {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
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

dnnl::memory to_layout(const Reorder& r, dnnl::memory user, const dnnl::memory::desc& md) {
  if (!r.needed) return user;
  dnnl::memory m(md, cpu_engine());
  r.prim.execute(cpu_stream(), user, m);
  return m;
}

dnnl::memory output_buffer(const Reorder& r, dnnl::memory user, const dnnl::memory::desc& md) {
  return r.needed ? dnnl::memory(md, cpu_engine()) : user;
}

void from_layout(const Reorder& r, dnnl::memory produced, dnnl::memory user) {
  if (r.needed) r.prim.execute(cpu_stream(), produced, user);
}

}  // namespace wp::ops_detail
