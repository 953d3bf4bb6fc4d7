// PackedLinear (include/winoprune/ops/packed_linear.h): oneDNN's inner product with weights
// reordered once into its preferred layout, one primitive per batch size.
#include "winoprune/ops/packed_linear.h"

#include <map>
#include <mutex>

#include "dnnl_util.h"
#include "winoprune/error.h"

namespace wp {

using namespace ops_detail;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

struct PackedLinear::Impl {
  int64_t I = 0, O = 0;
  bool has_bias = false;
  dnnl::memory weights;              // the packed copy, in the primitive's layout
  Tensor bias;                       // [O], a copy
  mutable std::mutex mutex;
  mutable std::map<int64_t, dnnl::inner_product_forward> by_rows;

  dnnl::inner_product_forward::primitive_desc desc(int64_t N,
                                                   const dnnl::memory::desc& wd) const {
    const dnnl::memory::desc src({N, I}, dt::f32, tag::nc), dst({N, O}, dt::f32, tag::nc);
    const dnnl::memory::desc bd({O}, dt::f32, tag::x);
    auto d = has_bias ? dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference,
                                                          src, wd, bd, dst)
                      : dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference,
                                                          src, wd, dst);
    return dnnl::inner_product_forward::primitive_desc(d, cpu_engine());
  }
};

PackedLinear::PackedLinear(const Tensor& w, const Tensor& b) : impl_(std::make_unique<Impl>()) {
  if (w.ndim() != 2 || (b.defined() && (b.ndim() != 1 || b.dim(0) != w.dim(0))))
    throw InputError("packed linear: weight " + shape_str(w.shape()) +
                     (b.defined() ? ", bias " + shape_str(b.shape()) : std::string()) +
                     ": expected weight [out, in] and bias [out]");
  Impl& p = *impl_;
  p.O = w.dim(0);
  p.I = w.dim(1);
  p.has_bias = b.defined();
  if (p.has_bias) p.bias = b.clone();
  // The layout is chosen once (it does not depend on the batch size); later primitives take it.
  const auto pd = p.desc(1, dnnl::memory::desc({p.O, p.I}, dt::f32, tag::any));
  p.weights = dnnl::memory(pd.weights_desc(), cpu_engine());
  dnnl::memory plain({{p.O, p.I}, dt::f32, tag::oi}, cpu_engine(), const_cast<float*>(w.data()));
  dnnl::reorder(plain, p.weights).execute(cpu_stream(), plain, p.weights);
  cpu_stream().wait();
}

PackedLinear::~PackedLinear() = default;

Tensor PackedLinear::forward(const Tensor& x) const {
  const Impl& p = *impl_;
  if (x.ndim() != 2 || x.dim(1) != p.I || x.dim(0) < 1)
    throw InputError("packed linear: input " + shape_str(x.shape()) + ": expected [N >= 1, " +
                     std::to_string(p.I) + "]");
  const int64_t N = x.dim(0);
  dnnl::inner_product_forward prim;
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    auto it = p.by_rows.find(N);
    if (it == p.by_rows.end())
      it = p.by_rows.emplace(N, dnnl::inner_product_forward(p.desc(N, p.weights.get_desc())))
               .first;
    prim = it->second;
  }
  Tensor y = Tensor::empty({N, p.O});
  dnnl::memory xm({{N, p.I}, dt::f32, tag::nc}, cpu_engine(), const_cast<float*>(x.data()));
  dnnl::memory ym({{N, p.O}, dt::f32, tag::nc}, cpu_engine(), y.data());
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, p.weights}, {DNNL_ARG_DST, ym}};
  if (p.has_bias)
    args.emplace(DNNL_ARG_BIAS, dnnl::memory({{p.O}, dt::f32, tag::x}, cpu_engine(),
                                             const_cast<float*>(p.bias.data())));
  prim.execute(cpu_stream(), args);
  cpu_stream().wait();
  return y;
}

}  // namespace wp
